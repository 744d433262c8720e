package org.vireo.x86.cpu;

import static org.junit.Assert.assertEquals;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.vireo.bus.IoBus;
import org.vireo.memory.GuestMemory;

/**
 * A tiny machine for CPU tests: guest RAM, port and MMIO buses, a controllable interrupt source, and helpers that
 * put the CPU in long mode (identity-mapped first GiB with 2 MiB pages; Linux-like GDT, an IDT and a TSS),
 * 32-bit protected mode or real mode. Test programs are hex strings (assembled with GNU as, source in comments).
 */
final class TestMachine implements AutoCloseable {
    static final long PML4 = 0x1000, PDPT = 0x2000, PD = 0x3000, GDT = 0x4000, IDT = 0x5000, TSS = 0x7000;
    static final long CODE = 0x10000, STACK_TOP = 0x80000, DATA = 0x100000;
    static final int KERNEL_CS = 0x10, KERNEL_DS = 0x18, USER32_CS = 0x23, USER_DS = 0x2b, USER_CS = 0x33, TSS_SEL = 0x40;
    static final long RAM = 8 << 20;

    final Arena arena = Arena.ofShared();
    final GuestMemory mem;
    final IoBus pio = new IoBus("pio");
    final IoBus mmio = new IoBus("mmio");
    final TestInterrupts irq = new TestInterrupts();
    final X86Cpu cpu;
    final CpuState s;

    /** A programmable INTR line: a queue of vectors. */
    static final class TestInterrupts implements InterruptSource {
        final List<Integer> pending = new ArrayList<>();
        int acknowledged;

        @Override
        public synchronized boolean interruptPending() { return !pending.isEmpty(); }

        @Override
        public synchronized int acknowledgeInterrupt() {
            if (pending.isEmpty()) return -1;
            acknowledged++;
            return pending.remove(0);
        }

        synchronized void raise(int vector) { pending.add(vector); }
    }

    TestMachine() {
        mem = GuestMemory.allocate(arena, RAM);
        cpu = new X86Cpu(mem, pio, mmio, irq);
        s = cpu.state();
    }

    @Override
    public void close() { arena.close(); }

    static byte[] hex(String h) { return HexFormat.of().parseHex(h.replaceAll("\\s+", "")); }

    void load(long addr, String h) {
        byte[] b = hex(h);
        mem.write(addr, b, 0, b.length);
    }

    void load(long addr, byte[] b) { mem.write(addr, b, 0, b.length); }

    /** Long mode, CPL 0, RIP = CODE, RSP = STACK_TOP, program loaded at CODE. */
    TestMachine longMode(String program) {
        setupLongMode();
        load(CODE, program);
        return this;
    }

    static long descriptor(long base, long limit, int attr) {
        return (limit & 0xffff) | (base & 0xffffff) << 16 | (long) (attr & 0xff) << 40 | ((limit >>> 16) & 0xf) << 48
                | (long) ((attr >>> 12) & 0xf) << 52 | ((base >>> 24) & 0xff) << 56;
    }

    void setupLongMode() {
        cpu.reset();
        mem.writeLong(PML4, PDPT | 7);
        mem.writeLong(PDPT, PD | 7);
        for (int k = 0; k < 512; k++) mem.writeLong(PD + 8L * k, ((long) k << 21) | 0x87);   // P RW US PS
        int code64 = Segment.PRESENT | Segment.S | Segment.TYPE_CODE | Segment.TYPE_RW | Segment.L | Segment.G;
        int data = Segment.PRESENT | Segment.S | Segment.TYPE_RW | Segment.DB | Segment.G;
        int code32 = Segment.PRESENT | Segment.S | Segment.TYPE_CODE | Segment.TYPE_RW | Segment.DB | Segment.G;
        mem.writeLong(GDT + KERNEL_CS, descriptor(0, 0xfffff, code64));
        mem.writeLong(GDT + KERNEL_DS, descriptor(0, 0xfffff, data));
        mem.writeLong(GDT + (USER32_CS & ~3), descriptor(0, 0xfffff, code32 | 3 << 5));
        mem.writeLong(GDT + (USER_DS & ~3), descriptor(0, 0xfffff, data | 3 << 5));
        mem.writeLong(GDT + (USER_CS & ~3), descriptor(0, 0xfffff, code64 | 3 << 5));
        mem.writeLong(GDT + TSS_SEL, descriptor(TSS, 0x67, 0x89));
        mem.writeLong(GDT + TSS_SEL + 8, 0);
        s.setGdtr(new DescriptorTable(GDT, 0x7f));
        s.setIdtr(new DescriptorTable(IDT, 0xfff));
        s.setCr3(PML4);
        s.setCr4(CpuState.CR4_PAE | CpuState.CR4_OSFXSR | CpuState.CR4_OSXMMEXCPT | CpuState.CR4_PGE);
        s.setEfer(CpuState.EFER_LME | CpuState.EFER_LMA | CpuState.EFER_NXE | CpuState.EFER_SCE);
        s.setCr0(CpuState.CR0_PE | CpuState.CR0_PG | CpuState.CR0_WP | CpuState.CR0_NE | CpuState.CR0_MP);
        s.setSegment(CpuState.CS, new Segment(KERNEL_CS, 0, -1, code64 | Segment.TYPE_ACCESSED));
        for (int seg : new int[] {CpuState.DS, CpuState.ES, CpuState.SS, CpuState.FS, CpuState.GS}) {
            s.setSegment(seg, new Segment(KERNEL_DS, 0, -1, data | Segment.TYPE_ACCESSED));
        }
        s.setTr(new Segment(TSS_SEL, TSS, 0x67, 0x8b));
        s.setRip(CODE);
        s.setGpr(CpuState.RSP, STACK_TOP);
        s.setRflags(2);
    }

    /** Installs a 64-bit interrupt gate (type 0xE, or 0xF for a trap gate) for {@code vector}. */
    void gate(int vector, long handler, int dpl, int ist, boolean trap) {
        long lo = (handler & 0xffff) | (long) KERNEL_CS << 16 | (long) ist << 32 | (long) (trap ? 0xf : 0xe) << 40
                | (long) dpl << 45 | 1L << 47 | ((handler >>> 16) & 0xffff) << 48;
        mem.writeLong(IDT + 16L * vector, lo);
        mem.writeLong(IDT + 16L * vector + 8, handler >>> 32);
    }

    /** Runs until the program halts with interrupts off; fails on anything else. */
    TestMachine runToHalt() {
        StopReason r = cpu.run(10_000_000);
        assertEquals("stop reason (rip=" + Long.toHexString(s.rip()) + ")", StopReason.HALTED, r);
        return this;
    }

    long reg(int r) { return s.gpr(r); }

    /** The six arithmetic flags. */
    long flags() { return s.rflags() & CpuState.ARITH; }
}
