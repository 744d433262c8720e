package org.vireo.kvm.internal;

import static org.junit.Assert.assertEquals;

import org.junit.Test;

/**
 * The computed ioctl numbers and struct layouts against linux/kvm.h (x86-64), as printed by a C program compiled
 * against the header: a layout with a wrong size changes the ioctl number and would be refused by the kernel.
 */
public class KvmAbiTest {
    @Test
    public void ioctlNumbersMatchTheHeader() {
        assertEquals(0xAE00L, KvmAbi.KVM_GET_API_VERSION);
        assertEquals(0xAE01L, KvmAbi.KVM_CREATE_VM);
        assertEquals(0xAE03L, KvmAbi.KVM_CHECK_EXTENSION);
        assertEquals(0xAE04L, KvmAbi.KVM_GET_VCPU_MMAP_SIZE);
        assertEquals(0xC008AE05L, KvmAbi.KVM_GET_SUPPORTED_CPUID);
        assertEquals(0xAE41L, KvmAbi.KVM_CREATE_VCPU);
        assertEquals(0x4020AE46L, KvmAbi.KVM_SET_USER_MEMORY_REGION);
        assertEquals(0xAE47L, KvmAbi.KVM_SET_TSS_ADDR);
        assertEquals(0x4008AE48L, KvmAbi.KVM_SET_IDENTITY_MAP_ADDR);
        assertEquals(0xAE60L, KvmAbi.KVM_CREATE_IRQCHIP);
        assertEquals(0x4008AE61L, KvmAbi.KVM_IRQ_LINE);
        assertEquals(0x4020AE76L, KvmAbi.KVM_IRQFD);
        assertEquals(0x4040AE77L, KvmAbi.KVM_CREATE_PIT2);
        assertEquals(0x4040AE79L, KvmAbi.KVM_IOEVENTFD);
        assertEquals(0x4020AEA5L, KvmAbi.KVM_SIGNAL_MSI);
        assertEquals(0xAE80L, KvmAbi.KVM_RUN);
        assertEquals(0x8090AE81L, KvmAbi.KVM_GET_REGS);
        assertEquals(0x4090AE82L, KvmAbi.KVM_SET_REGS);
        assertEquals(0x8138AE83L, KvmAbi.KVM_GET_SREGS);
        assertEquals(0x4138AE84L, KvmAbi.KVM_SET_SREGS);
        assertEquals(0x4004AE86L, KvmAbi.KVM_INTERRUPT);
        assertEquals(0x4004AE8BL, KvmAbi.KVM_SET_SIGNAL_MASK);
        assertEquals(0x4008AE90L, KvmAbi.KVM_SET_CPUID2);
    }

    @Test
    public void structLayoutsMatchTheHeader() {
        assertEquals(0x90, KvmAbi.REGS.byteSize());
        assertEquals(0x138, KvmAbi.SREGS.byteSize());
        assertEquals(24, KvmAbi.SEGMENT.byteSize());
        assertEquals(16, KvmAbi.DTABLE.byteSize());
        assertEquals(40, KvmAbi.CPUID_ENTRY2.byteSize());
        assertEquals(0x40, KvmAbi.IOEVENTFD.byteSize());
        assertEquals(0x20, KvmAbi.IRQFD.byteSize());
        assertEquals(0x40, KvmAbi.PIT_CONFIG.byteSize());
        assertEquals(0x20, KvmAbi.MSI.byteSize());
        assertEquals(0x20, KvmAbi.USERSPACE_MEMORY_REGION.byteSize());
        assertEquals(256, KvmAbi.RUN_EXIT.byteSize());
        assertEquals(0x120, KvmAbi.RUN.byteSize()); // kvm_valid_regs follows the exit union at 0x120
        assertEquals(0x20, KvmAbi.IO_DIRECTION);
        assertEquals(0x21, KvmAbi.IO_SIZE);
        assertEquals(0x22, KvmAbi.IO_PORT);
        assertEquals(0x24, KvmAbi.IO_COUNT);
        assertEquals(0x28, KvmAbi.IO_DATA_OFFSET);
        assertEquals(0x20, KvmAbi.MMIO_PHYS_ADDR);
        assertEquals(0x28, KvmAbi.MMIO_DATA);
        assertEquals(0x30, KvmAbi.MMIO_LEN);
        assertEquals(0x34, KvmAbi.MMIO_IS_WRITE);
        assertEquals(0x28, KvmAbi.INTERNAL_DATA);
        assertEquals(0x30, KvmAbi.EMULATION_INSN_SIZE);
        assertEquals(0x08, KvmAbi.RUN_EXIT_REASON);
        assertEquals(0x01, KvmAbi.RUN_IMMEDIATE_EXIT);
        assertEquals(0x0D, KvmAbi.RUN_IF_FLAG);
    }

    @Test(expected = IllegalArgumentException.class)
    public void anOversizedStructCannotBeEncoded() {
        KvmAbi.ioc(1, 0xAE, 0x01, 1 << 14);
    }
}
