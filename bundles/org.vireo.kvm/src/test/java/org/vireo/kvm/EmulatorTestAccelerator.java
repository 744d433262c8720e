package org.vireo.kvm;

import java.lang.foreign.Arena;
import java.util.concurrent.atomic.AtomicInteger;
import org.vireo.bus.IoBus;
import org.vireo.memory.GuestMemory;
import org.vireo.x86.cpu.CpuState;
import org.vireo.x86.cpu.DescriptorTable;
import org.vireo.x86.cpu.InterruptSource;
import org.vireo.x86.cpu.Segment;
import org.vireo.x86.cpu.StopReason;
import org.vireo.x86.cpu.X86Cpu;

/**
 * {@link TestAccelerator} on the CPU emulator ({@link X86Cpu}). Interrupts come from an {@link InterruptSource}
 * holding one waiting vector, like KVM's user-space injection. The emulator parks a CPU halted with IF set until an
 * interrupt; to give the tests KVM's "HLT exits" rule the source, asked on the vCPU thread whether an interrupt is
 * pending while the CPU is halted and none is, stops the run instead, and {@link #run()} reports {@link Exit#HALTED}.
 */
final class EmulatorTestAccelerator extends TestAccelerator {
    /** Instructions per {@link X86Cpu#run} call; stops and interrupts are served inside it, so this only bounds a loop. */
    private static final long BUDGET = 50_000_000;

    private final Arena arena = Arena.ofShared();
    private final GuestMemory memory;
    private final IoBus pio = new IoBus("pio");
    private final IoBus mmio = new IoBus("mmio");
    private final AtomicInteger waitingVector = new AtomicInteger(-1);
    private final X86Cpu cpu;
    /** Set on the vCPU thread when a halted CPU with nothing to take was stopped: the run ends as HALTED. */
    private boolean haltExit;

    EmulatorTestAccelerator(long ramBytes) {
        memory = GuestMemory.allocate(arena, ramBytes);
        cpu = new X86Cpu(memory, pio, mmio, new InterruptSource() {
            @Override
            public boolean interruptPending() {
                if (waitingVector.get() >= 0) return true;
                if (cpu.halted()) {
                    haltExit = true;
                    cpu.requestStop();
                }
                return false;
            }

            @Override
            public int acknowledgeInterrupt() { return waitingVector.getAndSet(-1); }
        });
    }

    @Override Kind kind() { return Kind.EMULATOR; }

    @Override GuestMemory memory() { return memory; }

    @Override IoBus pio() { return pio; }

    @Override IoBus mmio() { return mmio; }

    @Override
    void enter(Asm.Mode mode) {
        cpu.reset();
        CpuState s = cpu.state();
        switch (mode) {
            case REAL16 -> {
                for (int seg = CpuState.ES; seg <= CpuState.GS; seg++) s.setSegment(seg, Segment.real(0, seg == CpuState.CS));
            }
            case PROT32 -> {
                s.setGdtr(new DescriptorTable(GuestLayout.GDT, GuestLayout.GDT_LIMIT_32));
                s.setCr0(CpuState.CR0_PE);
                flatSegments(s, Segment.code32(GuestLayout.CODE32_SELECTOR));
            }
            case LONG64 -> {
                s.setGdtr(new DescriptorTable(GuestLayout.GDT, GuestLayout.GDT_LIMIT_64));
                s.setEfer(CpuState.EFER_LME | CpuState.EFER_LMA);
                s.setCr4(CpuState.CR4_PAE);
                s.setCr3(GuestLayout.PML4);
                s.setCr0(CpuState.CR0_PE | CpuState.CR0_PG);
                flatSegments(s, Segment.code64(GuestLayout.CODE64_SELECTOR));
            }
        }
        s.setRip(CODE);
        s.setGpr(CpuState.RSP, STACK_TOP);
        s.setRflags(2);
    }

    private static void flatSegments(CpuState s, Segment code) {
        s.setSegment(CpuState.CS, code);
        Segment data = Segment.data32(GuestLayout.DATA_SELECTOR);
        for (int seg : new int[] {CpuState.DS, CpuState.ES, CpuState.SS, CpuState.FS, CpuState.GS}) s.setSegment(seg, data);
    }

    @Override
    void setIdt(long base, int limit) { cpu.state().setIdtr(new DescriptorTable(base, limit)); }

    @Override
    Exit run() {
        haltExit = false;
        while (true) {
            StopReason r = cpu.run(BUDGET);
            switch (r) {
                case BUDGET -> { }
                case STOPPED -> {
                    return haltExit ? Exit.HALTED : Exit.STOPPED;
                }
                case HALTED -> { return Exit.HALTED; }
                case SHUTDOWN -> { return Exit.SHUTDOWN; }
            }
        }
    }

    @Override void requestStop() { cpu.requestStop(); }

    @Override
    void interrupt(int vector) {
        if (vector < 0 || vector > 255) throw new IllegalArgumentException("vector out of range: " + vector);
        waitingVector.set(vector);
        cpu.wakeUp();
    }

    @Override long rip() { return cpu.state().rip(); }

    @Override long gpr(Asm.R register) { return cpu.state().gpr(register.ordinal()); }

    @Override long efer() { return cpu.state().efer(); }

    @Override
    String describe() {
        return String.format("emulator, %,d instructions retired, halted %b%n%s", cpu.instructionsRetired(), cpu.halted(), cpu.state());
    }

    @Override void closeCpu() { arena.close(); }
}
