/**
 * A KVM accelerator through the Foreign Function &amp; Memory API: {@link org.vireo.kvm.Kvm} (the system device),
 * {@link org.vireo.kvm.KvmVm} (memory slots, in-kernel irqchip and PIT, interrupt lines, ioeventfd, irqfd) and
 * {@link org.vireo.kvm.KvmVcpu} (registers, CPUID, and the run loop onto the port and MMIO buses), plus
 * {@link org.vireo.kvm.KvmStatus} saying whether this host can use KVM.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package org.vireo.kvm;
