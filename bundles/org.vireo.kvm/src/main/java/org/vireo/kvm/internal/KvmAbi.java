package org.vireo.kvm.internal;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.MemoryLayout.paddingLayout;
import static java.lang.foreign.MemoryLayout.sequenceLayout;
import static java.lang.foreign.MemoryLayout.structLayout;
import static java.lang.foreign.MemoryLayout.unionLayout;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;

/**
 * The KVM user-space ABI of linux/kvm.h and asm/kvm.h (x86-64): ioctl numbers computed the way the kernel's
 * {@code _IO/_IOR/_IOW/_IOWR} macros do (the size field comes from our struct layouts, so a layout mistake changes the
 * number and the kernel refuses it rather than reading a wrong-sized struct), struct layouts, and constants.
 */
public final class KvmAbi {
    private KvmAbi() {}

    // asm-generic/ioctl.h: nr in bits 0-7, type 8-15, size 16-29, direction 30-31.
    private static final int IOC_NONE = 0, IOC_WRITE = 1, IOC_READ = 2;
    private static final int KVMIO = 0xAE;

    static long ioc(int dir, int type, int nr, long size) {
        if (size < 0 || size >= 1 << 14) throw new IllegalArgumentException("ioctl size out of range: " + size);
        return ((long) dir << 30) | (size << 16) | ((long) type << 8) | nr;
    }

    static long io(int nr) { return ioc(IOC_NONE, KVMIO, nr, 0); }

    static long ior(int nr, MemoryLayout layout) { return ioc(IOC_READ, KVMIO, nr, layout.byteSize()); }

    static long iow(int nr, MemoryLayout layout) { return ioc(IOC_WRITE, KVMIO, nr, layout.byteSize()); }

    static long iowr(int nr, MemoryLayout layout) { return ioc(IOC_READ | IOC_WRITE, KVMIO, nr, layout.byteSize()); }

    public static final int API_VERSION = 12;

    // ---- struct layouts -------------------------------------------------------------------------------------------

    public static final StructLayout USERSPACE_MEMORY_REGION = structLayout(
            JAVA_INT.withName("slot"), JAVA_INT.withName("flags"),
            JAVA_LONG.withName("guest_phys_addr"), JAVA_LONG.withName("memory_size"), JAVA_LONG.withName("userspace_addr"))
            .withName("kvm_userspace_memory_region");

    public static final StructLayout REGS = structLayout(
            JAVA_LONG.withName("rax"), JAVA_LONG.withName("rbx"), JAVA_LONG.withName("rcx"), JAVA_LONG.withName("rdx"),
            JAVA_LONG.withName("rsi"), JAVA_LONG.withName("rdi"), JAVA_LONG.withName("rsp"), JAVA_LONG.withName("rbp"),
            JAVA_LONG.withName("r8"), JAVA_LONG.withName("r9"), JAVA_LONG.withName("r10"), JAVA_LONG.withName("r11"),
            JAVA_LONG.withName("r12"), JAVA_LONG.withName("r13"), JAVA_LONG.withName("r14"), JAVA_LONG.withName("r15"),
            JAVA_LONG.withName("rip"), JAVA_LONG.withName("rflags"))
            .withName("kvm_regs");

    public static final StructLayout SEGMENT = structLayout(
            JAVA_LONG.withName("base"), JAVA_INT.withName("limit"), JAVA_SHORT.withName("selector"),
            JAVA_BYTE.withName("type"), JAVA_BYTE.withName("present"), JAVA_BYTE.withName("dpl"), JAVA_BYTE.withName("db"),
            JAVA_BYTE.withName("s"), JAVA_BYTE.withName("l"), JAVA_BYTE.withName("g"), JAVA_BYTE.withName("avl"),
            JAVA_BYTE.withName("unusable"), JAVA_BYTE.withName("padding"))
            .withName("kvm_segment");

    public static final StructLayout DTABLE = structLayout(
            JAVA_LONG.withName("base"), JAVA_SHORT.withName("limit"), sequenceLayout(3, JAVA_SHORT).withName("padding"))
            .withName("kvm_dtable");

    public static final int NR_INTERRUPTS = 256;

    public static final StructLayout SREGS = structLayout(
            SEGMENT.withName("cs"), SEGMENT.withName("ds"), SEGMENT.withName("es"), SEGMENT.withName("fs"),
            SEGMENT.withName("gs"), SEGMENT.withName("ss"), SEGMENT.withName("tr"), SEGMENT.withName("ldt"),
            DTABLE.withName("gdt"), DTABLE.withName("idt"),
            JAVA_LONG.withName("cr0"), JAVA_LONG.withName("cr2"), JAVA_LONG.withName("cr3"), JAVA_LONG.withName("cr4"),
            JAVA_LONG.withName("cr8"), JAVA_LONG.withName("efer"), JAVA_LONG.withName("apic_base"),
            sequenceLayout((NR_INTERRUPTS + 63) / 64, JAVA_LONG).withName("interrupt_bitmap"))
            .withName("kvm_sregs");

    public static final StructLayout CPUID_ENTRY2 = structLayout(
            JAVA_INT.withName("function"), JAVA_INT.withName("index"), JAVA_INT.withName("flags"),
            JAVA_INT.withName("eax"), JAVA_INT.withName("ebx"), JAVA_INT.withName("ecx"), JAVA_INT.withName("edx"),
            sequenceLayout(3, JAVA_INT).withName("padding"))
            .withName("kvm_cpuid_entry2");

    /** The fixed head of kvm_cpuid2; {@code entries[nent]} follow it. */
    public static final StructLayout CPUID2 = structLayout(JAVA_INT.withName("nent"), JAVA_INT.withName("padding"))
            .withName("kvm_cpuid2");

    public static final StructLayout IRQ_LEVEL = structLayout(
            unionLayout(JAVA_INT.withName("irq"), JAVA_INT.withName("status")).withName("irq_or_status"),
            JAVA_INT.withName("level"))
            .withName("kvm_irq_level");

    public static final StructLayout INTERRUPT = structLayout(JAVA_INT.withName("irq")).withName("kvm_interrupt");

    public static final StructLayout IOEVENTFD = structLayout(
            JAVA_LONG.withName("datamatch"), JAVA_LONG.withName("addr"), JAVA_INT.withName("len"), JAVA_INT.withName("fd"),
            JAVA_INT.withName("flags"), sequenceLayout(36, JAVA_BYTE).withName("pad"))
            .withName("kvm_ioeventfd");

    public static final StructLayout IRQFD = structLayout(
            JAVA_INT.withName("fd"), JAVA_INT.withName("gsi"), JAVA_INT.withName("flags"), JAVA_INT.withName("resamplefd"),
            sequenceLayout(16, JAVA_BYTE).withName("pad"))
            .withName("kvm_irqfd");

    public static final StructLayout PIT_CONFIG = structLayout(
            JAVA_INT.withName("flags"), sequenceLayout(15, JAVA_INT).withName("pad"))
            .withName("kvm_pit_config");

    public static final StructLayout MSI = structLayout(
            JAVA_INT.withName("address_lo"), JAVA_INT.withName("address_hi"), JAVA_INT.withName("data"),
            JAVA_INT.withName("flags"), JAVA_INT.withName("devid"), sequenceLayout(12, JAVA_BYTE).withName("pad"))
            .withName("kvm_msi");

    /** struct kvm_signal_mask { __u32 len; __u8 sigset[]; } : the head; the kernel's 8-byte sigset follows. */
    public static final StructLayout SIGNAL_MASK = structLayout(JAVA_INT.withName("len")).withName("kvm_signal_mask");
    public static final int KERNEL_SIGSET_BYTES = 8;

    public static final StructLayout RUN_IO = structLayout(
            JAVA_BYTE.withName("direction"), JAVA_BYTE.withName("size"), JAVA_SHORT.withName("port"),
            JAVA_INT.withName("count"), JAVA_LONG.withName("data_offset"))
            .withName("io");

    public static final StructLayout RUN_MMIO = structLayout(
            JAVA_LONG.withName("phys_addr"), sequenceLayout(8, JAVA_BYTE).withName("data"), JAVA_INT.withName("len"),
            JAVA_BYTE.withName("is_write"), paddingLayout(3))
            .withName("mmio");

    public static final StructLayout RUN_FAIL_ENTRY = structLayout(
            JAVA_LONG.withName("hardware_entry_failure_reason"), JAVA_INT.withName("cpu"), paddingLayout(4))
            .withName("fail_entry");

    public static final StructLayout RUN_INTERNAL = structLayout(
            JAVA_INT.withName("suberror"), JAVA_INT.withName("ndata"), sequenceLayout(16, JAVA_LONG).withName("data"))
            .withName("internal");

    /** The emulation-failure overlay of {@code internal}: flags, then the instruction bytes KVM could not emulate. */
    public static final StructLayout RUN_EMULATION_FAILURE = structLayout(
            JAVA_INT.withName("suberror"), JAVA_INT.withName("ndata"), JAVA_LONG.withName("flags"),
            JAVA_BYTE.withName("insn_size"), sequenceLayout(15, JAVA_BYTE).withName("insn_bytes"))
            .withName("emulation_failure");

    public static final StructLayout RUN_HW = structLayout(JAVA_LONG.withName("hardware_exit_reason")).withName("hw");

    public static final StructLayout RUN_SYSTEM_EVENT = structLayout(
            JAVA_INT.withName("type"), JAVA_INT.withName("ndata"), sequenceLayout(16, JAVA_LONG).withName("data"))
            .withName("system_event");

    /** The exit union is 256 bytes in the ABI whatever its members. */
    public static final GroupLayout RUN_EXIT = unionLayout(
            RUN_HW, RUN_FAIL_ENTRY, RUN_IO, RUN_MMIO, RUN_INTERNAL, RUN_EMULATION_FAILURE, RUN_SYSTEM_EVENT,
            sequenceLayout(256, JAVA_BYTE).withName("padding"))
            .withName("exit");

    /** The head of the mmap'ed kvm_run: the fields up to the exit union, and the union. */
    public static final StructLayout RUN = structLayout(
            JAVA_BYTE.withName("request_interrupt_window"), JAVA_BYTE.withName("immediate_exit"),
            sequenceLayout(6, JAVA_BYTE).withName("padding1"),
            JAVA_INT.withName("exit_reason"), JAVA_BYTE.withName("ready_for_interrupt_injection"),
            JAVA_BYTE.withName("if_flag"), JAVA_SHORT.withName("flags"),
            JAVA_LONG.withName("cr8"), JAVA_LONG.withName("apic_base"),
            RUN_EXIT)
            .withName("kvm_run");

    /** Byte offset of a field, for plain {@code get/set} on a segment: cheaper and simpler than path var handles. */
    public static long offset(MemoryLayout layout, String... path) {
        MemoryLayout.PathElement[] elements = new MemoryLayout.PathElement[path.length];
        for (int i = 0; i < path.length; i++) elements[i] = groupElement(path[i]);
        return layout.byteOffset(elements);
    }

    // kvm_run offsets used on every exit.
    public static final long RUN_REQUEST_INTERRUPT_WINDOW = offset(RUN, "request_interrupt_window");
    public static final long RUN_IMMEDIATE_EXIT = offset(RUN, "immediate_exit");
    public static final long RUN_EXIT_REASON = offset(RUN, "exit_reason");
    public static final long RUN_READY_FOR_INTERRUPT = offset(RUN, "ready_for_interrupt_injection");
    public static final long RUN_IF_FLAG = offset(RUN, "if_flag");
    public static final long IO_DIRECTION = offset(RUN, "exit", "io", "direction");
    public static final long IO_SIZE = offset(RUN, "exit", "io", "size");
    public static final long IO_PORT = offset(RUN, "exit", "io", "port");
    public static final long IO_COUNT = offset(RUN, "exit", "io", "count");
    public static final long IO_DATA_OFFSET = offset(RUN, "exit", "io", "data_offset");
    public static final long MMIO_PHYS_ADDR = offset(RUN, "exit", "mmio", "phys_addr");
    public static final long MMIO_DATA = offset(RUN, "exit", "mmio", "data");
    public static final long MMIO_LEN = offset(RUN, "exit", "mmio", "len");
    public static final long MMIO_IS_WRITE = offset(RUN, "exit", "mmio", "is_write");
    public static final long FAIL_ENTRY_REASON = offset(RUN, "exit", "fail_entry", "hardware_entry_failure_reason");
    public static final long FAIL_ENTRY_CPU = offset(RUN, "exit", "fail_entry", "cpu");
    public static final long INTERNAL_SUBERROR = offset(RUN, "exit", "internal", "suberror");
    public static final long INTERNAL_NDATA = offset(RUN, "exit", "internal", "ndata");
    public static final long INTERNAL_DATA = offset(RUN, "exit", "internal", "data");
    public static final long EMULATION_FLAGS = offset(RUN, "exit", "emulation_failure", "flags");
    public static final long EMULATION_INSN_SIZE = offset(RUN, "exit", "emulation_failure", "insn_size");
    public static final long EMULATION_INSN_BYTES = offset(RUN, "exit", "emulation_failure", "insn_bytes");
    public static final long HW_EXIT_REASON = offset(RUN, "exit", "hw", "hardware_exit_reason");
    public static final long SYSTEM_EVENT_TYPE = offset(RUN, "exit", "system_event", "type");

    // ---- ioctls ---------------------------------------------------------------------------------------------------

    // on /dev/kvm
    public static final long KVM_GET_API_VERSION = io(0x00);
    public static final long KVM_CREATE_VM = io(0x01);
    public static final long KVM_CHECK_EXTENSION = io(0x03);
    public static final long KVM_GET_VCPU_MMAP_SIZE = io(0x04);
    public static final long KVM_GET_SUPPORTED_CPUID = iowr(0x05, CPUID2);
    // on a VM
    public static final long KVM_CREATE_VCPU = io(0x41);
    public static final long KVM_SET_USER_MEMORY_REGION = iow(0x46, USERSPACE_MEMORY_REGION);
    public static final long KVM_SET_TSS_ADDR = io(0x47);
    public static final long KVM_SET_IDENTITY_MAP_ADDR = iow(0x48, JAVA_LONG);
    public static final long KVM_CREATE_IRQCHIP = io(0x60);
    public static final long KVM_IRQ_LINE = iow(0x61, IRQ_LEVEL);
    public static final long KVM_IRQFD = iow(0x76, IRQFD);
    public static final long KVM_CREATE_PIT2 = iow(0x77, PIT_CONFIG);
    public static final long KVM_IOEVENTFD = iow(0x79, IOEVENTFD);
    public static final long KVM_SIGNAL_MSI = iow(0xa5, MSI);
    // on a vCPU
    public static final long KVM_RUN = io(0x80);
    public static final long KVM_GET_REGS = ior(0x81, REGS);
    public static final long KVM_SET_REGS = iow(0x82, REGS);
    public static final long KVM_GET_SREGS = ior(0x83, SREGS);
    public static final long KVM_SET_SREGS = iow(0x84, SREGS);
    public static final long KVM_INTERRUPT = iow(0x86, INTERRUPT);
    public static final long KVM_SET_SIGNAL_MASK = iow(0x8b, SIGNAL_MASK);
    public static final long KVM_SET_CPUID2 = iow(0x90, CPUID2);

    // ---- capabilities (KVM_CHECK_EXTENSION) -----------------------------------------------------------------------

    public static final int CAP_IRQCHIP = 0;
    public static final int CAP_USER_MEMORY = 3;
    public static final int CAP_SET_TSS_ADDR = 4;
    public static final int CAP_EXT_CPUID = 7;
    public static final int CAP_NR_VCPUS = 9;
    public static final int CAP_NR_MEMSLOTS = 10;
    public static final int CAP_IRQFD = 32;
    public static final int CAP_PIT2 = 33;
    public static final int CAP_IOEVENTFD = 36;
    public static final int CAP_SET_IDENTITY_MAP_ADDR = 37;
    public static final int CAP_SIGNAL_MSI = 77;
    public static final int CAP_IMMEDIATE_EXIT = 136;

    // ---- exit reasons ---------------------------------------------------------------------------------------------

    public static final int EXIT_UNKNOWN = 0;
    public static final int EXIT_EXCEPTION = 1;
    public static final int EXIT_IO = 2;
    public static final int EXIT_HYPERCALL = 3;
    public static final int EXIT_DEBUG = 4;
    public static final int EXIT_HLT = 5;
    public static final int EXIT_MMIO = 6;
    public static final int EXIT_IRQ_WINDOW_OPEN = 7;
    public static final int EXIT_SHUTDOWN = 8;
    public static final int EXIT_FAIL_ENTRY = 9;
    public static final int EXIT_INTR = 10;
    public static final int EXIT_INTERNAL_ERROR = 17;
    public static final int EXIT_SYSTEM_EVENT = 24;

    public static final int EXIT_IO_IN = 0;
    public static final int EXIT_IO_OUT = 1;

    public static final int INTERNAL_ERROR_EMULATION = 1;
    public static final int INTERNAL_ERROR_SIMUL_EX = 2;
    public static final int INTERNAL_ERROR_DELIVERY_EV = 3;
    public static final int INTERNAL_ERROR_UNEXPECTED_EXIT_REASON = 4;
    public static final long INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES = 1;

    public static final int SYSTEM_EVENT_SHUTDOWN = 1;
    public static final int SYSTEM_EVENT_RESET = 2;
    public static final int SYSTEM_EVENT_CRASH = 3;

    public static final int IOEVENTFD_FLAG_DATAMATCH = 1 << 0;
    public static final int IOEVENTFD_FLAG_PIO = 1 << 1;
    public static final int IOEVENTFD_FLAG_DEASSIGN = 1 << 2;
    public static final int IRQFD_FLAG_DEASSIGN = 1 << 0;

    /** Where KVM parks the real-mode TSS and identity map on Intel without unrestricted guest (below the BIOS ROM). */
    public static final long DEFAULT_TSS_ADDRESS = 0xFFFB_D000L;
    public static final long DEFAULT_IDENTITY_MAP_ADDRESS = 0xFFFB_C000L;

    public static String exitName(int reason) {
        return switch (reason) {
            case EXIT_UNKNOWN -> "KVM_EXIT_UNKNOWN";
            case EXIT_EXCEPTION -> "KVM_EXIT_EXCEPTION";
            case EXIT_IO -> "KVM_EXIT_IO";
            case EXIT_HYPERCALL -> "KVM_EXIT_HYPERCALL";
            case EXIT_DEBUG -> "KVM_EXIT_DEBUG";
            case EXIT_HLT -> "KVM_EXIT_HLT";
            case EXIT_MMIO -> "KVM_EXIT_MMIO";
            case EXIT_IRQ_WINDOW_OPEN -> "KVM_EXIT_IRQ_WINDOW_OPEN";
            case EXIT_SHUTDOWN -> "KVM_EXIT_SHUTDOWN";
            case EXIT_FAIL_ENTRY -> "KVM_EXIT_FAIL_ENTRY";
            case EXIT_INTR -> "KVM_EXIT_INTR";
            case EXIT_INTERNAL_ERROR -> "KVM_EXIT_INTERNAL_ERROR";
            case EXIT_SYSTEM_EVENT -> "KVM_EXIT_SYSTEM_EVENT";
            default -> "exit reason " + reason;
        };
    }
}
