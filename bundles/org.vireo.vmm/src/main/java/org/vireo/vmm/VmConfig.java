package org.vireo.vmm;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/** A virtual machine, one per factory configuration of {@code org.vireo.vmm.vm}. */
@ObjectClassDefinition(pid = "org.vireo.vmm.vm", name = "Vireo virtual machine",
        description = "An x86 PC that boots Linux; devices join it through their machine.name")
@interface VmConfig {
    @AttributeDefinition(name = "Machine name", description = "Unique; device configurations name it in machine.name")
    String machine_name();

    @AttributeDefinition(name = "Kernel", description = "bzImage or PVH vmlinux; default: the guest kit's bzImage", required = false)
    String kernel() default "";

    @AttributeDefinition(name = "Initrd", description = "initramfs; default: the guest kit's if present; \"none\" for none", required = false)
    String initrd() default "";

    @AttributeDefinition(name = "Kernel command line")
    String cmdline() default VmSpec.DEFAULT_CMDLINE;

    @AttributeDefinition(name = "Memory (MiB)", min = "16", max = "3072")
    int memory_mib() default VmSpec.DEFAULT_MEMORY_MIB;

    @AttributeDefinition(name = "vCPUs", description = "Only 1 is supported", min = "1", max = "1")
    int vcpus() default 1;

    @AttributeDefinition(name = "Accelerator", options = {
            @org.osgi.service.metatype.annotations.Option(value = "emu", label = "Vireo's CPU emulator"),
            @org.osgi.service.metatype.annotations.Option(value = "kvm", label = "KVM")})
    String accelerator() default "emu";

    @AttributeDefinition(name = "Hot-plug slot", description = "Add a PCIe root port with one hot-plug slot: a virtio-pci "
            + "device configured for this VM while it runs is plugged there, and Linux's pciehp makes the guest see it")
    boolean hotplug_slot() default false;

    @AttributeDefinition(name = "ACPI", description = "Give the guest ACPI tables (power-off through ACPI S5); false: no "
            + "tables, and acpi=off is added to the command line unless it sets acpi=")
    boolean acpi() default VmOptions.DEFAULT_ACPI;
}
