package org.vireo.kvm;

import org.vireo.kvm.internal.KvmAbi;

/** The KVM capabilities (KVM_CHECK_EXTENSION numbers) this accelerator asks about. */
public enum KvmCapability {
    IRQCHIP(KvmAbi.CAP_IRQCHIP),
    USER_MEMORY(KvmAbi.CAP_USER_MEMORY),
    SET_TSS_ADDR(KvmAbi.CAP_SET_TSS_ADDR),
    EXT_CPUID(KvmAbi.CAP_EXT_CPUID),
    NR_VCPUS(KvmAbi.CAP_NR_VCPUS),
    NR_MEMSLOTS(KvmAbi.CAP_NR_MEMSLOTS),
    IRQFD(KvmAbi.CAP_IRQFD),
    PIT2(KvmAbi.CAP_PIT2),
    IOEVENTFD(KvmAbi.CAP_IOEVENTFD),
    SET_IDENTITY_MAP_ADDR(KvmAbi.CAP_SET_IDENTITY_MAP_ADDR),
    SIGNAL_MSI(KvmAbi.CAP_SIGNAL_MSI),
    IMMEDIATE_EXIT(KvmAbi.CAP_IMMEDIATE_EXIT);

    private final int number;

    KvmCapability(int number) { this.number = number; }

    /** The KVM_CAP_* number. */
    public int number() { return number; }
}
