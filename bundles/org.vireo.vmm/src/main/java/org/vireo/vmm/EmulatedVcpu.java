package org.vireo.vmm;

import java.util.Optional;
import org.vireo.x86.boot.BootPlan;
import org.vireo.x86.cpu.CpuState;
import org.vireo.x86.cpu.DescriptorTable;
import org.vireo.x86.cpu.InterruptSource;
import org.vireo.x86.cpu.LocalApicPort;
import org.vireo.x86.cpu.Segment;
import org.vireo.x86.cpu.StopReason;
import org.vireo.x86.cpu.X86Cpu;
import org.vireo.x86.platform.DualPic;
import org.vireo.x86.platform.InterruptOutput;
import org.vireo.x86.platform.LocalApic;

/** The CPU emulator wired into an {@link X86Machine}: the one class of this bundle that knows org.vireo.x86.cpu. */
final class EmulatedVcpu implements Vcpu {
    /** Instructions per run() call; stop requests and interrupts are handled inside it, so this only bounds the loop. */
    private static final long BUDGET = 50_000_000;

    private final X86Cpu cpu;

    EmulatedVcpu(X86Machine machine) {
        DualPic pic = machine.platform().pic();
        Optional<LocalApic> apic = machine.localApic();
        // With a local APIC the CPU takes interrupts from it (the PIC reaches it through LINT0), else from the PIC.
        InterruptOutput source = apic.<InterruptOutput>map(a -> a).orElse(pic);
        cpu = new X86Cpu(machine.memory(), machine.pio(), machine.mmio(), new InterruptSource() {
            @Override public boolean interruptPending() { return source.interruptPending(); }
            @Override public int acknowledgeInterrupt() { return source.acknowledgeInterrupt(); }
        });
        pic.setWake(cpu::wakeUp);
        apic.ifPresent(a -> {
            a.setWake(cpu::wakeUp);
            cpu.attachLocalApic(new LocalApicPort() {
                @Override public int apicId() { return a.apicId(); }
                @Override public long apicBase() { return a.apicBase(); }
                @Override public void setApicBase(long value) { a.setApicBase(value); }
                @Override public long tscDeadline() { return a.tscDeadline(); }
                @Override public void setTscDeadline(long deadline, long tscNow) { a.setTscDeadline(deadline, tscNow); }
            });
        });
        // Device DMA (virtio buffers) must drop code the CPU decoded from the old bytes.
        machine.memory().setDeviceWriteObserver(cpu::invalidateCode);
    }

    @Override
    public void load(BootPlan plan) {
        cpu.reset();
        CpuState s = cpu.state();
        s.setGpr(CpuState.RSI, plan.rsi());
        s.setGpr(CpuState.RBX, plan.rbx());
        s.setGpr(CpuState.RSP, plan.rsp());
        s.setRip(plan.rip());
        s.setRflags(plan.rflags());
        s.setEfer(plan.efer());
        s.setCr4(plan.cr4());
        s.setCr3(plan.cr3());
        s.setCr0(plan.cr0());
        s.setGdtr(new DescriptorTable(plan.gdtBase(), plan.gdtLimit()));
        s.setIdtr(new DescriptorTable(0, 0));
        s.setSegment(CpuState.CS, segment(plan.code()));
        Segment data = segment(plan.data());
        for (int seg : new int[] {CpuState.DS, CpuState.ES, CpuState.SS, CpuState.FS, CpuState.GS}) s.setSegment(seg, data);
    }

    private static Segment segment(BootPlan.SegmentSetup s) {
        return new Segment(s.selector(), s.base(), s.limit(), s.attributes());
    }

    @Override
    public Exit run() {
        while (true) {
            StopReason r = cpu.run(BUDGET);
            switch (r) {
                case BUDGET -> { }
                case STOPPED -> { return Exit.STOPPED; }
                case SHUTDOWN -> { return Exit.TRIPLE_FAULT; }
                case HALTED -> { return Exit.HALTED; }
            }
        }
    }

    @Override
    public void stop() { cpu.requestStop(); }

    /** Before {@link #run()}: count what {@link #statsReport()} reports. */
    void enableStats() { cpu.enableStats(); }

    /** The CPU's statistics as a few lines of text (see {@link X86Cpu#stats()}). */
    String statsReport() { return cpu.stats().report(); }

    @Override
    public long instructionsRetired() { return cpu.instructionsRetired(); }

    @Override
    public String describe() {
        CpuState s = cpu.state();
        return s + String.format("%ncr2=%x gdtr=%x/%x idtr=%x/%x ds=%s%ninstructions retired: %,d", s.cr2(),
                s.gdtr().base(), s.gdtr().limit(), s.idtr().base(), s.idtr().limit(), s.segment(CpuState.DS),
                cpu.instructionsRetired());
    }
}
