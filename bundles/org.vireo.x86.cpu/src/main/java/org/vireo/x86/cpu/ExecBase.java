package org.vireo.x86.cpu;

import static org.vireo.x86.cpu.CpuState.CS;
import static org.vireo.x86.cpu.CpuState.RSP;
import static org.vireo.x86.cpu.CpuState.SS;

import org.vireo.bus.IoBus;

/**
 * Shared machinery of the execution engine: register and operand access, the stack, the current mode. The engine
 * is split over a small class chain (ExecBase, SystemOps, Interpreter) only to keep each file readable; it is one
 * object at run time and the JIT sees plain field accesses.
 */
abstract class ExecBase {
    final CpuState s;
    final long[] R;
    final Mmu m;
    final CodeCache code;
    final IoBus pio;
    final InterruptSource irq;

    /** Address of the instruction after the one executing; branches overwrite it. */
    long nextRip;
    /** Decode mode derived from CR0.PE, EFER.LMA and CS (Decoder.MODE16/32/64). */
    int mode;
    int cpl;
    long stackMask = 0xffff;
    /** Interrupts are inhibited for one instruction (after STI, MOV SS, POP SS). */
    boolean interruptShadow;
    boolean halted;
    /** The current block must end after the executing instruction. */
    boolean endBlock;

    ExecBase(CpuState s, Mmu m, CodeCache code, IoBus pio, InterruptSource irq) {
        this.s = s;
        this.R = s.r;
        this.m = m;
        this.code = code;
        this.pio = pio;
        this.irq = irq;
    }

    // ------------------------------------------------------------------ registers

    final long get8(int r) {
        return (r & 0x20) != 0 ? (R[r & 3] >>> 8) & 0xff : R[r] & 0xff;
    }

    final void set8(int r, long v) {
        if ((r & 0x20) != 0) {
            int x = r & 3;
            R[x] = (R[x] & ~0xff00L) | (v & 0xff) << 8;
        } else {
            R[r] = (R[r] & ~0xffL) | (v & 0xff);
        }
    }

    final long getReg(int r, int size) {
        return switch (size) {
            case 1 -> get8(r);
            case 2 -> R[r] & 0xffff;
            case 4 -> R[r] & 0xffffffffL;
            default -> R[r];
        };
    }

    final void setReg(int r, int size, long v) {
        switch (size) {
            case 1 -> set8(r, v);
            case 2 -> R[r] = (R[r] & ~0xffffL) | (v & 0xffff);
            case 4 -> R[r] = v & 0xffffffffL;
            default -> R[r] = v;
        }
    }

    // ------------------------------------------------------------------ memory operands

    final long ea(Insn i) {
        long a = R[i.base] + (R[i.index] << i.scale) + i.disp;
        if (i.ripRel) a += nextRip;
        return a & i.addrMask;
    }

    final long lin(Insn i) {
        return (s.segBase[i.seg] + ea(i)) & i.linMask;
    }

    /** Linear address of {@code offset} in segment {@code seg} for the current mode. */
    final long linear(int seg, long offset) {
        if (mode == Decoder.MODE64) return seg == CpuState.FS || seg == CpuState.GS ? s.segBase[seg] + offset : offset;
        return (s.segBase[seg] + offset) & 0xffffffffL;
    }

    final long readRm(Insn i) {
        return i.rm >= 0 ? getReg(i.rm, i.size) : m.read(lin(i), i.size);
    }

    final void writeRm(Insn i, long v) {
        if (i.rm >= 0) setReg(i.rm, i.size, v);
        else m.write(lin(i), i.size, v);
    }

    // ------------------------------------------------------------------ stack

    final long stackLinear(long sp) {
        return mode == Decoder.MODE64 ? sp : (s.segBase[SS] + sp) & 0xffffffffL;
    }

    final void push(long v, int size) {
        long sp = (R[RSP] - size) & stackMask;
        m.write(stackLinear(sp), size, v);
        R[RSP] = (R[RSP] & ~stackMask) | sp;
    }

    final long pop(int size) {
        long sp = R[RSP] & stackMask;
        long v = m.read(stackLinear(sp), size);
        R[RSP] = (R[RSP] & ~stackMask) | ((sp + size) & stackMask);
        return v;
    }

    /** Reads the stack {@code offset} bytes above RSP without popping. */
    final long peek(long offset, int size) {
        long sp = (R[RSP] + offset) & stackMask;
        return m.read(stackLinear(sp), size);
    }

    // ------------------------------------------------------------------ mode

    /** Re-derives decode mode, CPL, stack width and TLB privilege from CR0, EFER and the CS/SS caches. */
    final void updateMode() {
        boolean pe = (s.cr0 & CpuState.CR0_PE) != 0;
        boolean lma = (s.efer & CpuState.EFER_LMA) != 0;
        int csAttr = s.segAttr[CS];
        if (!pe) mode = Decoder.MODE16;
        else if (lma && (csAttr & Segment.L) != 0) mode = Decoder.MODE64;
        else mode = (csAttr & Segment.DB) != 0 ? Decoder.MODE32 : Decoder.MODE16;
        cpl = pe ? s.sel[CS] & 3 : 0;
        stackMask = mode == Decoder.MODE64 ? -1L : (s.segAttr[SS] & Segment.DB) != 0 ? 0xffffffffL : 0xffffL;
        m.setUserMode(cpl == 3);
    }

    final boolean protectedMode() { return (s.cr0 & CpuState.CR0_PE) != 0; }

    final boolean longMode() { return (s.efer & CpuState.EFER_LMA) != 0; }

    final int iopl() { return (int) (s.flags >>> 12) & 3; }

    /** The linear-address mask of the current mode. */
    final long linMask() { return mode == Decoder.MODE64 ? -1L : 0xffffffffL; }

    final void requireCpl0() {
        if (cpl != 0) throw CpuException.gp(0);
    }
}
