package org.vireo.difftest;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import org.vireo.bus.IoBus;
import org.vireo.memory.GuestMemory;
import org.vireo.x86.cpu.CpuState;
import org.vireo.x86.cpu.DescriptorTable;
import org.vireo.x86.cpu.InterruptSource;
import org.vireo.x86.cpu.Segment;
import org.vireo.x86.cpu.StopReason;
import org.vireo.x86.cpu.X86Cpu;

/**
 * The one place that knows Vireo's CPU API ({@link X86Cpu}, {@link CpuState}): builds a CPU on its own RAM with
 * empty I/O buses (port reads return all ones) and no interrupts, loads a {@link MachineState} into it, steps it,
 * and reads its registers back under {@link RegisterSet}'s canonical names. When the CPU's API changes, only this
 * class changes.
 */
public final class VireoAdapter implements AutoCloseable {
    private static final int MSR_KERNEL_GS_BASE = 0xc0000102;

    private final Arena arena = Arena.ofShared();
    private final GuestMemory memory;
    private final X86Cpu cpu;
    private final CpuState state;

    /** Outcome of one step: how the run ended and how many instructions retired (0 when an exception was delivered). */
    public record Step(String stop, long retired) { }

    public VireoAdapter(long ramBytes) {
        memory = GuestMemory.allocate(arena, ramBytes);
        cpu = new X86Cpu(memory, new IoBus("difftest-pio"), new IoBus("difftest-mmio"), InterruptSource.NONE);
        state = cpu.state();
    }

    public GuestMemory memory() { return memory; }

    public long ramBytes() { return memory.size(); }

    public void write(long address, byte[] data) {
        memory.write(address, data, 0, data.length);
        cpu.invalidateCode(address, data.length);
    }

    public byte[] read(long address, int length) {
        byte[] b = new byte[length];
        memory.read(address, b, 0, length);
        return b;
    }

    /** Copies a RAM image file (from QEMU's pmemsave) into guest RAM from address 0. */
    public void loadRam(Path image) throws IOException {
        byte[] buf = new byte[1 << 20];
        long address = 0;
        try (InputStream in = Files.newInputStream(image)) {
            int n;
            while ((n = in.readNBytes(buf, 0, buf.length)) > 0) {
                int fit = (int) Math.min(n, memory.size() - address);
                if (fit <= 0) break;
                memory.write(address, buf, 0, fit);
                address += n;
            }
        }
        cpu.invalidateCode(0, memory.size());
    }

    /** Puts the CPU exactly where {@code m} says (registers, descriptor caches, tables, control registers). */
    public void load(MachineState m) {
        RegisterSet r = m.registers();
        state.setGdtr(new DescriptorTable(m.gdt().base(), m.gdt().limit()));
        state.setIdtr(new DescriptorTable(m.idt().base(), m.idt().limit()));
        state.setEfer(r.get("efer"));
        state.setCr4(r.get("cr4"));
        state.setCr3(r.get("cr3"));
        state.setCr0(r.get("cr0"));
        state.setCr2(r.get("cr2"));
        if (r.has("cr8")) state.setCr8(r.get("cr8"));
        boolean realMode = (r.get("cr0") & CpuState.CR0_PE) == 0;
        for (int i = 0; i < 6; i++) {
            MachineState.SegmentCache c = m.segments().get(RegisterSet.SEGMENTS.get(i));
            int attr = c.attributes();
            // QEMU's gdbstub loads real-mode segments with data-segment attributes, CS included; a real CPU's CS is code.
            if (realMode && i == CpuState.CS) attr |= Segment.TYPE_CODE;
            state.setSegment(i, new Segment(c.selector(), c.base(), c.limit(), attr));
        }
        MachineState.SegmentCache ldt = m.segments().get("ldt"), tr = m.segments().get("tr");
        state.setLdtr(new Segment(ldt.selector(), ldt.base(), ldt.limit(), ldt.attributes()));
        state.setTr(new Segment(tr.selector(), tr.base(), tr.limit(), tr.attributes()));
        if (r.has("k_gs_base")) cpu.writeMsr(MSR_KERNEL_GS_BASE, r.get("k_gs_base"));
        for (int i = 0; i < 16; i++) {
            if (r.has("xmm" + i + "_lo")) state.setXmm(i, r.get("xmm" + i + "_lo"), r.get("xmm" + i + "_hi"));
        }
        loadRegisters(r, RegisterSet.GPRS);
        state.setRip(r.rip());
        state.setRflags(r.rflags());
    }

    /** Overwrites some registers (GPRs, rip, rflags) with the reference's values, e.g. after CPUID or RDTSC. */
    public void loadRegisters(RegisterSet from, Collection<String> names) {
        for (String n : names) {
            if (!from.has(n)) continue;
            int gpr = RegisterSet.GPRS.indexOf(n);
            if (gpr >= 0) state.setGpr(gpr, from.get(n));
            else if (n.equals("rip")) state.setRip(from.get(n));
            else if (n.equals("rflags")) state.setRflags(from.get(n));
            else throw new IllegalArgumentException("cannot resync " + n);
        }
    }

    /** Runs one instruction (a REP string instruction may stop in place after a slice of iterations). */
    public Step step() {
        long before = cpu.instructionsRetired();
        StopReason r = cpu.run(1);
        return new Step(r.name(), cpu.instructionsRetired() - before);
    }

    public RegisterSet registers() {
        RegisterSet s = new RegisterSet();
        for (int i = 0; i < 16; i++) s.put(RegisterSet.GPRS.get(i), state.gpr(i));
        s.put("rip", state.rip());
        s.put("rflags", state.rflags());
        for (int i = 0; i < 6; i++) s.put(RegisterSet.SEGMENTS.get(i), state.segment(i).selector());
        s.put("fs_base", state.fsBase());
        s.put("gs_base", state.gsBase());
        s.put("k_gs_base", state.kernelGsBase());
        s.put("cr0", state.cr0());
        s.put("cr2", state.cr2());
        s.put("cr3", state.cr3());
        s.put("cr4", state.cr4());
        s.put("cr8", state.cr8());
        s.put("efer", state.efer());
        for (int i = 0; i < 16; i++) {
            s.put("xmm" + i + "_lo", state.xmmLow(i));
            s.put("xmm" + i + "_hi", state.xmmHigh(i));
        }
        s.put("mxcsr", state.mxcsr());
        return s;
    }

    /** Default operand/address size of the code at RIP: 16, 32 or 64. */
    public int codeBits() {
        Segment cs = state.segment(CpuState.CS);
        if ((state.efer() & CpuState.EFER_LMA) != 0 && (cs.attributes() & Segment.L) != 0) return 64;
        if ((state.cr0() & CpuState.CR0_PE) == 0) return 16;
        return (cs.attributes() & Segment.DB) != 0 ? 32 : 16;
    }

    /** CS base + RIP outside 64-bit mode: the linear address of the next instruction. */
    public long linearRip() {
        if (codeBits() == 64) return state.rip();
        return (state.segment(CpuState.CS).base() + state.rip()) & 0xffffffffL;
    }

    /** The CPU's own description of its state (includes the hidden parts the common set lacks). */
    public String describe() {
        StringBuilder b = new StringBuilder(state.toString());
        for (int i = 0; i < 6; i++) b.append('\n').append(RegisterSet.SEGMENTS.get(i)).append(": ").append(state.segment(i));
        return b.toString();
    }

    @Override
    public void close() { arena.close(); }
}
