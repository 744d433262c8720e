package org.vireo.x86.cpu;

import static org.vireo.x86.cpu.CpuState.*;

import org.vireo.bus.IoBus;

/**
 * The system side of the engine: segment loads with protection checks, descriptor tables, interrupt and exception
 * delivery (real mode, 32-bit protected mode, long mode with IST), far transfers, IRET, SYSCALL/SYSRET, control
 * and debug registers, MSRs and CPUID.
 */
abstract class SystemOps extends ExecBase {
    static final int KIND_EXCEPTION = 0, KIND_SOFTWARE = 1, KIND_EXTERNAL = 2;

    private final long tscEpoch = System.nanoTime();
    /** Set by a triple fault; the run loop returns SHUTDOWN. */
    boolean shutdown;
    /** The local APIC's MSRs, or null: no APIC (CPUID says so, IA32_APIC_BASE reads as disabled, no TSC deadline). */
    LocalApicPort apic;

    SystemOps(CpuState s, Mmu m, CodeCache code, IoBus pio, InterruptSource irq) {
        super(s, m, code, pio, irq);
    }

    // ------------------------------------------------------------------ descriptors

    static long descBase(long d) {
        return ((d >>> 16) & 0xffffffL) | ((d >>> 32) & 0xff000000L);
    }

    static int descLimit(long d) {
        int limit = (int) (d & 0xffff) | (int) ((d >>> 32) & 0xf0000);
        if ((d & (1L << 55)) != 0) limit = limit << 12 | 0xfff;
        return limit;
    }

    static int descAttr(long d) {
        return (int) (d >>> 40) & 0xf0ff;
    }

    /** Linear address of the descriptor for {@code selector} in the GDT or LDT; #GP(selector) if out of bounds. */
    final long descriptorAddress(int selector, int extraBytes) {
        int index = selector & ~7;
        long base;
        int limit;
        if ((selector & 4) != 0) {
            if ((s.segAttr[LDTR] & Segment.PRESENT) == 0) throw CpuException.gp(selector & ~3);
            base = s.segBase[LDTR];
            limit = s.segLimit[LDTR];
        } else {
            base = s.gdtBase;
            limit = s.gdtLimit;
        }
        if (Integer.toUnsignedLong(index + 7 + extraBytes) > Integer.toUnsignedLong(limit)) throw CpuException.gp(selector & ~3);
        return (base + index) & linMask();
    }

    final long readDescriptor(int selector) {
        return m.readSys(descriptorAddress(selector, 0), 8);
    }

    private void setAccessed(int selector, long desc) {
        if ((desc & (1L << 40)) == 0) {
            m.writeSys(descriptorAddress(selector, 0) + 5, 1, (desc >>> 40) | 1);
        }
    }

    final void setSegCache(int seg, int selector, long desc) {
        s.sel[seg] = selector & 0xffff;
        s.segBase[seg] = descBase(desc);
        s.segLimit[seg] = descLimit(desc);
        s.segAttr[seg] = descAttr(desc) | Segment.TYPE_ACCESSED;
    }

    final void loadRealSeg(int seg, int selector) {
        s.sel[seg] = selector & 0xffff;
        s.segBase[seg] = (selector & 0xffffL) << 4;
        if (seg == CS) s.segAttr[CS] &= ~(Segment.L | Segment.DB);
    }

    /** MOV/POP to a data segment register or SS, with the protected-mode checks. */
    final void loadSegment(int seg, int selector) {
        selector &= 0xffff;
        if (!protectedMode()) {
            loadRealSeg(seg, selector);
            if (seg == SS) updateMode();
            return;
        }
        if ((selector & ~3) == 0) {
            if (seg == SS && (mode != Decoder.MODE64 || cpl == 3 || (selector & 3) != cpl)) throw CpuException.gp(0);
            s.sel[seg] = selector;
            if (seg != SS) {
                s.segBase[seg] = 0;
                s.segLimit[seg] = 0;
                s.segAttr[seg] = 0;
            } else {
                s.segAttr[seg] = Segment.PRESENT | Segment.S | Segment.TYPE_RW | Segment.TYPE_ACCESSED | (cpl << 5);
            }
            if (seg == SS) updateMode();
            return;
        }
        long d = readDescriptor(selector);
        int attr = descAttr(d);
        int dpl = (attr >> 5) & 3;
        int rpl = selector & 3;
        boolean code = (attr & Segment.TYPE_CODE) != 0;
        if ((attr & Segment.S) == 0) throw CpuException.gp(selector & ~3);
        if (seg == SS) {
            if (code || (attr & Segment.TYPE_RW) == 0 || rpl != cpl || dpl != cpl) throw CpuException.gp(selector & ~3);
            if ((attr & Segment.PRESENT) == 0) throw CpuException.fault(CpuException.SS, selector & ~3);
        } else {
            if (code && (attr & Segment.TYPE_RW) == 0) throw CpuException.gp(selector & ~3);
            boolean conforming = code && (attr & 4) != 0;
            if (!conforming && dpl < Math.max(cpl, rpl)) throw CpuException.gp(selector & ~3);
            if ((attr & Segment.PRESENT) == 0) throw CpuException.fault(CpuException.NP, selector & ~3);
        }
        setAccessed(selector, d);
        setSegCache(seg, selector, d);
        if (seg == SS) updateMode();
    }

    /** Reads and checks a code segment descriptor for a far JMP/CALL/RET or interrupt (non-conforming or conforming). */
    final long codeDescriptor(int selector, int errBits) {
        if ((selector & ~3) == 0) throw CpuException.gp(errBits);
        long d = readDescriptor(selector);
        int attr = descAttr(d);
        if ((attr & (Segment.S | Segment.TYPE_CODE)) != (Segment.S | Segment.TYPE_CODE)) throw CpuException.gp((selector & ~3) | errBits);
        if (longMode() && (attr & Segment.L) != 0 && (attr & Segment.DB) != 0) throw CpuException.gp((selector & ~3) | errBits);
        if ((attr & Segment.PRESENT) == 0) throw CpuException.fault(CpuException.NP, (selector & ~3) | errBits);
        return d;
    }

    final void loadCs(int selector, long desc, int newCpl) {
        setSegCache(CS, (selector & ~3) | newCpl, desc);
        updateMode();
    }

    // ------------------------------------------------------------------ far transfers

    final void farJump(int selector, long offset) {
        if (!protectedMode()) {
            loadRealSeg(CS, selector);
            nextRip = offset & 0xffff;
            updateMode();
            return;
        }
        long d = codeDescriptor(selector, 0);
        int attr = descAttr(d);
        int dpl = (attr >> 5) & 3;
        boolean conforming = (attr & 4) != 0;
        if (conforming ? dpl > cpl : (dpl != cpl || (selector & 3) > cpl)) throw CpuException.gp(selector & ~3);
        setAccessed(selector, d);
        loadCs(selector, d, cpl);
        nextRip = mode == Decoder.MODE64 ? offset : offset & 0xffffffffL;
    }

    final void farCall(int selector, long offset, int size) {
        if (!protectedMode()) {
            push(s.sel[CS], size);
            push(nextRip, size);
            loadRealSeg(CS, selector);
            nextRip = offset & 0xffff;
            updateMode();
            return;
        }
        long d = codeDescriptor(selector, 0);
        int attr = descAttr(d);
        int dpl = (attr >> 5) & 3;
        boolean conforming = (attr & 4) != 0;
        if (conforming ? dpl > cpl : (dpl != cpl || (selector & 3) > cpl)) throw CpuException.gp(selector & ~3);
        long sp = R[RSP];
        push(s.sel[CS], size);
        try {
            push(nextRip, size);
        } catch (CpuException e) {
            R[RSP] = sp;
            throw e;
        }
        setAccessed(selector, d);
        loadCs(selector, d, cpl);
        nextRip = mode == Decoder.MODE64 ? offset : offset & 0xffffffffL;
    }

    final void farReturn(int size, int popBytes) {
        long newRip = peek(0, size);
        int selector = (int) peek(size, size) & 0xffff;
        if (!protectedMode()) {
            R[RSP] = (R[RSP] & ~stackMask) | ((R[RSP] + 2L * size + popBytes) & stackMask);
            loadRealSeg(CS, selector);
            nextRip = newRip & 0xffff;
            updateMode();
            return;
        }
        int rpl = selector & 3;
        if (rpl < cpl) throw CpuException.gp(selector & ~3);
        long d = codeDescriptor(selector, 0);
        int attr = descAttr(d);
        int dpl = (attr >> 5) & 3;
        boolean conforming = (attr & 4) != 0;
        if (conforming ? dpl > rpl : dpl != rpl) throw CpuException.gp(selector & ~3);
        if (rpl == cpl) {
            R[RSP] = (R[RSP] & ~stackMask) | ((R[RSP] + 2L * size + popBytes) & stackMask);
            setAccessed(selector, d);
            loadCs(selector, d, rpl);
        } else {
            long newSp = peek(2L * size + popBytes, size);
            int newSs = (int) peek(3L * size + popBytes, size) & 0xffff;
            setAccessed(selector, d);
            int oldCpl = cpl;
            loadCs(selector, d, rpl);
            try {
                loadSegment(SS, newSs);
            } catch (CpuException e) {
                cpl = oldCpl; // best effort: the fault is reported at the outer level
                throw e;
            }
            R[RSP] = (newSp + popBytes) & (mode == Decoder.MODE64 ? -1L : stackMask);
            clearDataSegmentsForOuterLevel();
        }
        nextRip = mode == Decoder.MODE64 ? newRip : newRip & 0xffffffffL;
    }

    private void clearDataSegmentsForOuterLevel() {
        for (int seg : new int[] {ES, DS, FS, GS}) {
            int attr = s.segAttr[seg];
            boolean code = (attr & Segment.TYPE_CODE) != 0, conforming = code && (attr & 4) != 0;
            int dpl = (attr >> 5) & 3;
            if ((s.sel[seg] & ~3) != 0 && !conforming && dpl < cpl) {
                s.sel[seg] = 0;
                s.segAttr[seg] = 0;
                if (mode != Decoder.MODE64 || (seg != FS && seg != GS)) s.segBase[seg] = 0;
            }
        }
    }

    // ------------------------------------------------------------------ flags

    /** Writes RFLAGS as POPF/IRET do: IOPL only at CPL 0, IF only at CPL <= IOPL. */
    final void writeFlags(long v, int size, boolean iret) {
        long changeable = CF | PF | AF | ZF | SF | TF | DF | OF | NT | AC | ID;
        if (iret) changeable |= RF;
        if (cpl == 0) changeable |= IOPL;
        if (cpl <= iopl() || !protectedMode()) changeable |= IF;
        if (size == 2) changeable &= 0xffff;
        else if (size == 4) changeable &= 0xffffffffL;
        long cur = s.rflags();
        s.loadFlags((cur & ~changeable) | (v & changeable));
    }

    // ------------------------------------------------------------------ interrupts and exceptions

    /**
     * Delivers an exception or interrupt, escalating to #DF and then to shutdown when delivery itself faults.
     * {@code s.rip} must hold the return address (the faulting instruction for faults, the next one otherwise).
     */
    final void deliver(int vector, int kind, int err, boolean hasErr) {
        int current = vector, currentKind = kind;
        int e = err;
        boolean he = hasErr;
        while (true) {
            try {
                deliverOnce(current, currentKind, e, he);
                return;
            } catch (CpuException nested) {
                if (current == CpuException.DF) {
                    shutdown = true;
                    return;
                }
                int first = current, second = nested.vector;
                boolean firstContributory = contributory(first), secondContributory = contributory(second);
                if ((firstContributory && secondContributory)
                        || (first == CpuException.PF && (secondContributory || second == CpuException.PF))) {
                    current = CpuException.DF;
                    e = 0;
                    he = true;
                } else {
                    current = second;
                    e = nested.errorCode;
                    he = nested.hasErrorCode;
                }
                currentKind = KIND_EXCEPTION;
            }
        }
    }

    private static boolean contributory(int v) {
        return v == CpuException.DE || v == CpuException.TS || v == CpuException.NP || v == CpuException.SS || v == CpuException.GP;
    }

    final void deliverOnce(int vector, int kind, int err, boolean hasErr) {
        halted = false;
        if (!protectedMode()) realModeInterrupt(vector);
        else if (longMode()) longModeInterrupt(vector, kind, err, hasErr);
        else protectedModeInterrupt(vector, kind, err, hasErr);
        endBlock = true;
    }

    private void realModeInterrupt(int vector) {
        if (vector * 4L + 3 > s.idtLimit) throw CpuException.gp(vector * 8 + 2);
        long entry = m.readSys((s.idtBase + vector * 4L) & 0xffffffffL, 4);
        long flags = s.rflags();
        long sp = R[RSP];
        try {
            push(flags, 2);
            push(s.sel[CS], 2);
            push(s.rip, 2);
        } catch (CpuException e) {
            R[RSP] = sp;
            throw e;
        }
        s.flags &= ~(IF | TF | AC | RF);
        loadRealSeg(CS, (int) (entry >>> 16));
        s.rip = entry & 0xffff;
        updateMode();
    }

    private void longModeInterrupt(int vector, int kind, int err, boolean hasErr) {
        int ext = kind == KIND_SOFTWARE ? 0 : 1;
        int gateErr = vector * 8 + 2 + ext;
        if (vector * 16L + 15 > s.idtLimit) throw CpuException.gp(gateErr);
        long lo = m.readSys(s.idtBase + vector * 16L, 8);
        long hi = m.readSys(s.idtBase + vector * 16L + 8, 8);
        int type = (int) (lo >>> 40) & 0x1f;
        int gateDpl = (int) (lo >>> 45) & 3;
        if (type != 0xe && type != 0xf) throw CpuException.gp(gateErr);
        if (kind == KIND_SOFTWARE && gateDpl < cpl) throw CpuException.gp(gateErr);
        if ((lo & (1L << 47)) == 0) throw CpuException.fault(CpuException.NP, gateErr);
        int selector = (int) (lo >>> 16) & 0xffff;
        long target = (lo & 0xffff) | ((lo >>> 32) & 0xffff0000L) | (hi << 32);
        int ist = (int) (lo >>> 32) & 7;
        long d = codeDescriptor(selector, ext);
        int attr = descAttr(d);
        if ((attr & Segment.L) == 0) throw CpuException.gp((selector & ~3) | ext);
        int dpl = (attr >> 5) & 3;
        boolean conforming = (attr & 4) != 0;
        if (dpl > cpl) throw CpuException.gp((selector & ~3) | ext);
        int newCpl = conforming ? cpl : dpl;
        long rsp;
        if (ist != 0) rsp = m.readSys(s.segBase[TR] + 0x24 + (ist - 1) * 8L, 8);
        else if (newCpl < cpl) rsp = m.readSys(s.segBase[TR] + 4 + newCpl * 8L, 8);
        else rsp = R[RSP];
        rsp &= ~0xfL;
        long flags = s.rflags();
        boolean asUser = newCpl == 3;
        long frame = rsp - (hasErr ? 48 : 40);
        if (hasErr) m.writeSlow(frame, 8, err & 0xffffffffL, asUser);
        long f = hasErr ? frame + 8 : frame;
        m.writeSlow(f, 8, s.rip, asUser);
        m.writeSlow(f + 8, 8, s.sel[CS], asUser);
        m.writeSlow(f + 16, 8, flags, asUser);
        m.writeSlow(f + 24, 8, R[RSP], asUser);
        m.writeSlow(f + 32, 8, s.sel[SS], asUser);
        if (newCpl != cpl) {
            s.sel[SS] = newCpl;
            s.segBase[SS] = 0;
            s.segLimit[SS] = 0;
            s.segAttr[SS] = Segment.PRESENT | Segment.S | Segment.TYPE_RW | Segment.TYPE_ACCESSED | (newCpl << 5);
        }
        setSegCache(CS, (selector & ~3) | newCpl, d);
        R[RSP] = frame;
        s.rip = target;
        s.flags &= ~(TF | NT | RF | VM);
        if (type == 0xe) s.flags &= ~IF;
        updateMode();
    }

    private void protectedModeInterrupt(int vector, int kind, int err, boolean hasErr) {
        int ext = kind == KIND_SOFTWARE ? 0 : 1;
        int gateErr = vector * 8 + 2 + ext;
        if (vector * 8L + 7 > s.idtLimit) throw CpuException.gp(gateErr);
        long g = m.readSys((s.idtBase + vector * 8L) & 0xffffffffL, 8);
        int type = (int) (g >>> 40) & 0x1f;
        int gateDpl = (int) (g >>> 45) & 3;
        if (type != 0xe && type != 0xf && type != 0x6 && type != 0x7) throw CpuException.gp(gateErr);
        if (kind == KIND_SOFTWARE && gateDpl < cpl) throw CpuException.gp(gateErr);
        if ((g & (1L << 47)) == 0) throw CpuException.fault(CpuException.NP, gateErr);
        int size = (type & 8) != 0 ? 4 : 2;
        int selector = (int) (g >>> 16) & 0xffff;
        long target = (g & 0xffff) | (size == 4 ? (g >>> 32) & 0xffff0000L : 0);
        long d = codeDescriptor(selector, ext);
        int attr = descAttr(d);
        int dpl = (attr >> 5) & 3;
        boolean conforming = (attr & 4) != 0;
        if (dpl > cpl) throw CpuException.gp((selector & ~3) | ext);
        int newCpl = conforming ? cpl : dpl;
        long flags = s.rflags();
        int oldSs = s.sel[SS];
        long oldSp = R[RSP];
        if (newCpl < cpl) {
            int tssType = s.segAttr[TR] & 0xf;
            long espAddr, ssAddr;
            if ((tssType & 8) != 0) {
                espAddr = s.segBase[TR] + 4 + newCpl * 8L;
                ssAddr = espAddr + 4;
            } else {
                espAddr = s.segBase[TR] + 2 + newCpl * 4L;
                ssAddr = espAddr + 2;
            }
            long newSp = m.readSys(espAddr & 0xffffffffL, (tssType & 8) != 0 ? 4 : 2);
            int newSsSel = (int) m.readSys(ssAddr & 0xffffffffL, 2);
            if ((newSsSel & ~3) == 0) throw CpuException.fault(CpuException.TS, ext);
            long ssd = readDescriptor(newSsSel);
            int ssAttr = descAttr(ssd);
            if ((newSsSel & 3) != newCpl || ((ssAttr >> 5) & 3) != newCpl || (ssAttr & (Segment.S | Segment.TYPE_CODE | Segment.TYPE_RW)) != (Segment.S | Segment.TYPE_RW)) {
                throw CpuException.fault(CpuException.TS, (newSsSel & ~3) | ext);
            }
            if ((ssAttr & Segment.PRESENT) == 0) throw CpuException.fault(CpuException.SS, (newSsSel & ~3) | ext);
            long ssBase = descBase(ssd);
            long mask = (ssAttr & Segment.DB) != 0 ? 0xffffffffL : 0xffffL;
            long sp = newSp;
            long[] values = hasErr ? new long[] {oldSs, oldSp, flags, s.sel[CS], s.rip, err} : new long[] {oldSs, oldSp, flags, s.sel[CS], s.rip};
            for (long v : values) {
                sp = (sp - size) & mask;
                m.writeSlow((ssBase + sp) & 0xffffffffL, size, v, false);
            }
            setSegCache(SS, newSsSel, ssd);
            R[RSP] = (newSp & ~mask) | sp;
        } else {
            long sp = R[RSP];
            try {
                push(flags, size);
                push(s.sel[CS], size);
                push(s.rip, size);
                if (hasErr) push(err, size);
            } catch (CpuException e) {
                R[RSP] = sp;
                throw e;
            }
        }
        setSegCache(CS, (selector & ~3) | newCpl, d);
        s.rip = target;
        s.flags &= ~(TF | NT | RF | VM);
        if ((type & 1) == 0) s.flags &= ~IF;
        updateMode();
    }

    /** IRET/IRETD/IRETQ. */
    final void iret(int size) {
        if (!protectedMode()) {
            long ip = peek(0, size), cs = peek(size, size), fl = peek(2L * size, size);
            R[RSP] = (R[RSP] & ~stackMask) | ((R[RSP] + 3L * size) & stackMask);
            loadRealSeg(CS, (int) cs);
            nextRip = ip & (size == 2 ? 0xffff : 0xffffffffL);
            writeFlags(fl, size, true);
            updateMode();
            return;
        }
        if (!longMode() && (s.flags & NT) != 0) throw CpuException.gp(0); // task return: no hardware task switching
        long newRip = peek(0, size);
        int selector = (int) peek(size, size) & 0xffff;
        long newFlags = peek(2L * size, size);
        int rpl = selector & 3;
        if (rpl < cpl) throw CpuException.gp(selector & ~3);
        long d = codeDescriptor(selector, 0);
        int attr = descAttr(d);
        int dpl = (attr >> 5) & 3;
        boolean conforming = (attr & 4) != 0;
        if (conforming ? dpl > rpl : dpl != rpl) throw CpuException.gp(selector & ~3);
        boolean toOuter = rpl > cpl;
        boolean pops5 = mode == Decoder.MODE64 || toOuter;
        long newSp = 0;
        int newSs = 0;
        if (pops5) {
            newSp = peek(3L * size, size);
            newSs = (int) peek(4L * size, size) & 0xffff;
        }
        int oldCpl = cpl;
        // Flags first, judged at the old privilege.
        writeFlags(newFlags, size, true);
        setAccessed(selector, d);
        loadCs(selector, d, rpl);
        if (pops5) {
            if (toOuter || (newSs & ~3) != 0 || mode != Decoder.MODE64) {
                int savedCpl = cpl;
                loadSegment(SS, newSs);
                cpl = savedCpl;
            } else {
                s.sel[SS] = newSs;
                s.segAttr[SS] = Segment.PRESENT | Segment.S | Segment.TYPE_RW | Segment.TYPE_ACCESSED | (rpl << 5);
                s.segBase[SS] = 0;
            }
            R[RSP] = size == 2 ? (R[RSP] & ~0xffffL) | (newSp & 0xffff) : size == 4 && mode != Decoder.MODE64 ? newSp & 0xffffffffL : newSp;
            updateMode();
        } else {
            R[RSP] = (R[RSP] & ~stackMask) | ((R[RSP] + 3L * size) & stackMask);
        }
        if (toOuter && oldCpl != cpl) clearDataSegmentsForOuterLevel();
        nextRip = mode == Decoder.MODE64 ? newRip : newRip & (size == 2 ? 0xffffL : 0xffffffffL);
    }

    // ------------------------------------------------------------------ SYSCALL / SYSRET

    final void syscall() {
        if ((s.efer & EFER_SCE) == 0) throw CpuException.ud();
        R[RCX] = nextRip;
        long fl = s.rflags();
        R[R11] = fl & ~RF;
        s.loadFlags(fl & ~s.sfmask & ~RF);
        int csSel = (int) (s.star >>> 32) & 0xfffc;
        s.sel[CS] = csSel;
        s.segBase[CS] = 0;
        s.segLimit[CS] = -1;
        s.segAttr[CS] = Segment.PRESENT | Segment.S | Segment.TYPE_CODE | Segment.TYPE_RW | Segment.TYPE_ACCESSED | Segment.L | Segment.G;
        s.sel[SS] = csSel + 8;
        s.segBase[SS] = 0;
        s.segLimit[SS] = -1;
        s.segAttr[SS] = Segment.PRESENT | Segment.S | Segment.TYPE_RW | Segment.TYPE_ACCESSED | Segment.DB | Segment.G;
        boolean from64 = mode == Decoder.MODE64;
        updateMode();
        nextRip = from64 ? s.lstar : s.cstar;
    }

    final void sysret(boolean rexW) {
        if ((s.efer & EFER_SCE) == 0) throw CpuException.ud();
        if (cpl != 0) throw CpuException.gp(0);
        long target = rexW ? R[RCX] : R[RCX] & 0xffffffffL;
        if (rexW && (target << 16 >> 16) != target) throw CpuException.gp(0);
        int base = (int) (s.star >>> 48) & 0xffff;
        if (rexW) {
            s.sel[CS] = (base + 16) | 3;
            s.segAttr[CS] = Segment.PRESENT | Segment.S | Segment.TYPE_CODE | Segment.TYPE_RW | Segment.TYPE_ACCESSED | Segment.L | Segment.G | (3 << 5);
        } else {
            s.sel[CS] = base | 3;
            s.segAttr[CS] = Segment.PRESENT | Segment.S | Segment.TYPE_CODE | Segment.TYPE_RW | Segment.TYPE_ACCESSED | Segment.DB | Segment.G | (3 << 5);
        }
        s.segBase[CS] = 0;
        s.segLimit[CS] = -1;
        s.sel[SS] = (base + 8) | 3;
        s.segBase[SS] = 0;
        s.segLimit[SS] = -1;
        s.segAttr[SS] = Segment.PRESENT | Segment.S | Segment.TYPE_RW | Segment.TYPE_ACCESSED | Segment.DB | Segment.G | (3 << 5);
        s.loadFlags((R[R11] & 0x3c7fd7L) | 2);
        updateMode();
        nextRip = target;
    }

    // ------------------------------------------------------------------ descriptor table registers

    final void lgdtOrLidt(Insn i, boolean idt) {
        requireCpl0();
        long a = lin(i);
        int limit = m.read16(a);
        long base = mode == Decoder.MODE64 ? m.read64(a + 2) : m.read32((a + 2) & 0xffffffffL) & 0xffffffffL;
        if (mode != Decoder.MODE64 && i.size == 2) base &= 0xffffff;
        if (idt) { s.idtBase = base; s.idtLimit = limit; }
        else { s.gdtBase = base; s.gdtLimit = limit; }
    }

    final void sgdtOrSidt(Insn i, boolean idt) {
        long a = lin(i);
        long base = idt ? s.idtBase : s.gdtBase;
        int limit = idt ? s.idtLimit : s.gdtLimit;
        m.probeWrite(a, mode == Decoder.MODE64 ? 10 : 6);
        m.write16(a, limit);
        if (mode == Decoder.MODE64) m.write64(a + 2, base);
        else m.write32((a + 2) & 0xffffffffL, base);
    }

    final void lldt(int selector) {
        requireCpl0();
        if ((selector & ~3) == 0) {
            s.sel[LDTR] = selector;
            s.segAttr[LDTR] = 0;
            return;
        }
        if ((selector & 4) != 0) throw CpuException.gp(selector & ~3);
        long addr = descriptorAddress(selector, longMode() ? 8 : 0);
        long d = m.readSys(addr, 8);
        int attr = descAttr(d);
        if ((attr & 0x1f) != 2) throw CpuException.gp(selector & ~3);
        if ((attr & Segment.PRESENT) == 0) throw CpuException.fault(CpuException.NP, selector & ~3);
        setSegCache(LDTR, selector, d);
        s.segAttr[LDTR] = attr;
        if (longMode()) s.segBase[LDTR] |= m.readSys(addr + 8, 4) << 32;
    }

    final void ltr(int selector) {
        requireCpl0();
        if ((selector & ~3) == 0 || (selector & 4) != 0) throw CpuException.gp(selector & ~3);
        long addr = descriptorAddress(selector, longMode() ? 8 : 0);
        long d = m.readSys(addr, 8);
        int attr = descAttr(d);
        int type = attr & 0x1f;
        if (type != 9 && type != 1) throw CpuException.gp(selector & ~3);
        if ((attr & Segment.PRESENT) == 0) throw CpuException.fault(CpuException.NP, selector & ~3);
        setSegCache(TR, selector, d);
        s.segAttr[TR] = attr | 2;  // busy
        if (longMode()) s.segBase[TR] |= m.readSys(addr + 8, 4) << 32;
        m.writeSys(addr + 5, 1, (d >>> 40) | 2);
    }

    /** LAR/LSL/VERR/VERW: the descriptor if {@code selector} is visible at this privilege, else -1 (ZF clear). */
    final long accessibleDescriptor(int selector, boolean forLsl, boolean forLar) {
        if ((selector & ~3) == 0) return -1;
        long addr;
        try {
            addr = descriptorAddress(selector, 0);
        } catch (CpuException e) {
            return -1;
        }
        long d = m.readSys(addr, 8);
        int attr = descAttr(d);
        int dpl = (attr >> 5) & 3;
        boolean codeData = (attr & Segment.S) != 0;
        if (!codeData) {
            int type = attr & 0xf;
            boolean ok = forLsl ? (type == 2 || type == 9 || type == 0xb || (!longMode() && (type == 1 || type == 3)))
                    : forLar && (type == 2 || type == 9 || type == 0xb || type == 0xc || (!longMode() && type != 0 && type != 8 && type != 0xa && type != 0xd));
            if (!ok) return -1;
        }
        boolean conformingCode = codeData && (attr & 0xc) == 0xc;
        if (!conformingCode && (dpl < cpl || dpl < (selector & 3))) return -1;
        return d;
    }

    // ------------------------------------------------------------------ control registers

    final long readCr(int n) {
        return switch (n) {
            case 0 -> s.cr0;
            case 2 -> s.cr2;
            case 3 -> s.cr3;
            case 4 -> s.cr4;
            default -> s.cr8;
        };
    }

    static final long CR4_SUPPORTED = CR4_TSD | CR4_DE | CR4_PSE | CR4_PAE | CR4_MCE | CR4_PGE | CR4_PCE | CR4_OSFXSR | CR4_OSXMMEXCPT;

    final void writeCr(int n, long v) {
        requireCpl0();
        switch (n) {
            case 0 -> writeCr0(v);
            case 2 -> s.cr2 = v;
            case 3 -> {
                if (longMode() && (v & ~0x000f_ffff_ffff_ffffL) != 0) throw CpuException.gp(0);
                s.cr3 = v;
                m.flushNonGlobal();
            }
            case 4 -> {
                if ((v & ~CR4_SUPPORTED) != 0) throw CpuException.gp(0);
                if (longMode() && (v & CR4_PAE) == 0) throw CpuException.gp(0);
                long changed = s.cr4 ^ v;
                s.cr4 = v;
                if ((changed & (CR4_PAE | CR4_PGE | CR4_PSE)) != 0) m.flush();
            }
            default -> {
                if ((v & ~15L) != 0) throw CpuException.gp(0);
                s.cr8 = v;
            }
        }
    }

    final void writeCr0(long v) {
        if (mode == Decoder.MODE64 || longMode()) {
            if ((v >>> 32) != 0) throw CpuException.gp(0);
        }
        v = (v & 0xffffffffL) | CR0_ET;
        if ((v & CR0_PG) != 0 && (v & CR0_PE) == 0) throw CpuException.gp(0);
        if ((v & CR0_NW) != 0 && (v & CR0_CD) == 0) throw CpuException.gp(0);
        long old = s.cr0;
        boolean enablingPaging = (v & CR0_PG) != 0 && (old & CR0_PG) == 0;
        boolean disablingPaging = (v & CR0_PG) == 0 && (old & CR0_PG) != 0;
        if (enablingPaging && (s.efer & EFER_LME) != 0) {
            if ((s.cr4 & CR4_PAE) == 0 || (s.segAttr[CS] & Segment.L) != 0) throw CpuException.gp(0);
            s.efer |= EFER_LMA;
        }
        if (disablingPaging && longMode()) {
            if (mode == Decoder.MODE64) throw CpuException.gp(0);
            s.efer &= ~EFER_LMA;
        }
        s.cr0 = v;
        if (((old ^ v) & (CR0_PG | CR0_WP | CR0_PE)) != 0) m.flush();
        updateMode();
    }

    final long readDr(int n) {
        requireCpl0();
        if ((n == 4 || n == 5) && (s.cr4 & CR4_DE) != 0) throw CpuException.ud();
        if (n == 4) n = 6;
        if (n == 5) n = 7;
        if (n == 6) return s.dr[6] | 0xffff0ff0L;
        if (n == 7) return s.dr[7] | 0x400;
        return s.dr[n];
    }

    final void writeDr(int n, long v) {
        requireCpl0();
        if ((n == 4 || n == 5) && (s.cr4 & CR4_DE) != 0) throw CpuException.ud();
        if (n == 4) n = 6;
        if (n == 5) n = 7;
        if ((n == 6 || n == 7) && (v >>> 32) != 0) throw CpuException.gp(0);
        s.dr[n] = v;
    }

    // ------------------------------------------------------------------ MSRs and TSC

    static final int MSR_ARCH_CAPABILITIES = 0x10a;
    /**
     * IA32_ARCH_CAPABILITIES: an interpreter does not execute speculatively, so it is truthfully "not affected" by
     * Meltdown (RDCL_NO), SSB, MDS, TAA, MMIO stale data, BHI, PBRSB, GDS and RFDS. Linux then skips page-table
     * isolation (which would flush the whole TLB twice per system call) and the buffer-clearing mitigations.
     */
    static final long ARCH_CAPABILITIES = 1L /* RDCL_NO */ | 1L << 3 /* SKIP_VMENTRY_L1DFLUSH */ | 1L << 4 /* SSB_NO */
            | 1L << 5 /* MDS_NO */ | 1L << 6 /* PSCHANGE_MC_NO */ | 1L << 8 /* TAA_NO */ | 1L << 13 /* SBDR_SSDP_NO */
            | 1L << 14 /* FBSDP_NO */ | 1L << 15 /* PSDP_NO */ | 1L << 20 /* BHI_NO */ | 1L << 24 /* PBRSB_NO */
            | 1L << 26 /* GDS_NO */ | 1L << 27 /* RFDS_NO */;
    static final int MSR_TSC = 0x10, MSR_APIC_BASE = 0x1b, MSR_BIOS_SIGN = 0x8b, MSR_MTRRCAP = 0xfe,
            MSR_SYSENTER_CS = 0x174, MSR_SYSENTER_ESP = 0x175, MSR_SYSENTER_EIP = 0x176, MSR_MISC_ENABLE = 0x1a0,
            MSR_PAT = 0x277, MSR_MTRR_DEF_TYPE = 0x2ff, MSR_TSC_DEADLINE = 0x6e0;
    static final int MSR_EFER = 0xc0000080, MSR_STAR = 0xc0000081, MSR_LSTAR = 0xc0000082, MSR_CSTAR = 0xc0000083,
            MSR_SFMASK = 0xc0000084, MSR_FS_BASE = 0xc0000100, MSR_GS_BASE = 0xc0000101,
            MSR_KERNEL_GS_BASE = 0xc0000102, MSR_TSC_AUX = 0xc0000103;

    final long tsc() {
        return System.nanoTime() - tscEpoch + s.tscOffset;
    }

    final long readMsr(int msr) {
        return switch (msr) {
            case MSR_TSC -> tsc();
            case MSR_APIC_BASE -> apic != null ? apic.apicBase() : 0xfee00000L | 0x100;   // without one: BSP, disabled
            case MSR_TSC_DEADLINE -> {
                if (apic == null) throw CpuException.gp(0);
                yield apic.tscDeadline();
            }
            case MSR_BIOS_SIGN, MSR_MTRRCAP -> 0;
            case MSR_ARCH_CAPABILITIES -> ARCH_CAPABILITIES;
            case MSR_SYSENTER_CS -> s.sysenterCs;
            case MSR_SYSENTER_ESP -> s.sysenterEsp;
            case MSR_SYSENTER_EIP -> s.sysenterEip;
            case MSR_MISC_ENABLE -> s.miscEnable;
            case MSR_PAT -> s.pat;
            case MSR_MTRR_DEF_TYPE -> s.mtrrDefType;
            case MSR_EFER -> s.efer;
            case MSR_STAR -> s.star;
            case MSR_LSTAR -> s.lstar;
            case MSR_CSTAR -> s.cstar;
            case MSR_SFMASK -> s.sfmask;
            case MSR_FS_BASE -> s.segBase[FS];
            case MSR_GS_BASE -> s.segBase[GS];
            case MSR_KERNEL_GS_BASE -> s.kernelGsBase;
            case MSR_TSC_AUX -> s.tscAux;
            default -> throw CpuException.gp(0);
        };
    }

    final void writeMsr(int msr, long v) {
        switch (msr) {
            case MSR_TSC -> s.tscOffset = v - (System.nanoTime() - tscEpoch);
            case MSR_APIC_BASE -> {
                if (apic != null) {
                    try {
                        apic.setApicBase(v);
                    } catch (IllegalArgumentException e) {
                        throw CpuException.gp(0);
                    }
                }
            }
            case MSR_TSC_DEADLINE -> {
                if (apic == null) throw CpuException.gp(0);
                apic.setTscDeadline(v, tsc());
            }
            case MSR_BIOS_SIGN -> { }
            case MSR_SYSENTER_CS -> s.sysenterCs = v & 0xffff;
            case MSR_SYSENTER_ESP -> s.sysenterEsp = canonical(v);
            case MSR_SYSENTER_EIP -> s.sysenterEip = canonical(v);
            case MSR_MISC_ENABLE -> s.miscEnable = v;
            case MSR_PAT -> {
                for (int k = 0; k < 8; k++) {
                    int t = (int) (v >>> (8 * k)) & 0xff;
                    if (t == 2 || t == 3 || t > 7) throw CpuException.gp(0);
                }
                s.pat = v;
            }
            case MSR_MTRR_DEF_TYPE -> s.mtrrDefType = v & 0xcff;
            case MSR_EFER -> writeEfer(v);
            case MSR_STAR -> s.star = v;
            case MSR_LSTAR -> s.lstar = canonical(v);
            case MSR_CSTAR -> s.cstar = canonical(v);
            case MSR_SFMASK -> s.sfmask = v & 0xffffffffL;
            case MSR_FS_BASE -> s.segBase[FS] = canonical(v);
            case MSR_GS_BASE -> s.segBase[GS] = canonical(v);
            case MSR_KERNEL_GS_BASE -> s.kernelGsBase = canonical(v);
            case MSR_TSC_AUX -> s.tscAux = v & 0xffffffffL;
            default -> throw CpuException.gp(0);
        }
    }

    private static long canonical(long v) {
        if ((v << 16 >> 16) != v) throw CpuException.gp(0);
        return v;
    }

    private void writeEfer(long v) {
        if ((v & ~(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE)) != 0) throw CpuException.gp(0);
        long lma = s.efer & EFER_LMA;
        if ((s.cr0 & CR0_PG) != 0 && ((v ^ s.efer) & EFER_LME) != 0) throw CpuException.gp(0);
        long old = s.efer;
        s.efer = (v & ~EFER_LMA) | lma;
        if (((old ^ s.efer) & EFER_NXE) != 0) m.flush();
    }

    // ------------------------------------------------------------------ CPUID

    /*
     * The CPU calls itself an AMD K8 (family 0Fh, model 2Fh) with a hypervisor bit, as QEMU's TCG models do. A vendor
     * of its own is not an option: glibc reads CPUID leaf 1 only for Intel, AMD and Zhaoxin (init_cpu_features: for
     * any other vendor get_common_indices skips it), so it would see no CMOV/SSE2 and refuse to start ("CPU ISA level
     * is lower than required"). Model 2Fh, not QEMU's 6Bh: Linux flags K8 models above 41h with erratum 400 and then
     * reads an MSR without the safe accessor. Vireo names itself in the brand string and the hypervisor leaf.
     */
    static final int[] VENDOR = vendorWords("AuthenticAMD");
    static final int[] HYPERVISOR_VENDOR = vendorWords("VireoVireoVi");
    private static final String BRAND = "Vireo x86-64 emulated CPU";
    static final int LEAF1_EAX = 0x00020ff2;  // family 0Fh, extended model 2, model 0Fh, stepping 2

    private static int[] vendorWords(String v) {
        byte[] b = v.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        int[] w = new int[3];
        for (int k = 0; k < 12; k++) w[k / 4] |= (b[k] & 0xff) << (8 * (k % 4));
        return w; // EBX, EDX, ECX order below
    }

    static final int LEAF1_EDX = 1 /* FPU */ | 1 << 3 /* PSE */ | 1 << 4 /* TSC */ | 1 << 5 /* MSR */ | 1 << 6 /* PAE */
            | 1 << 8 /* CX8 */ | 1 << 13 /* PGE */ | 1 << 15 /* CMOV */ | 1 << 16 /* PAT */ | 1 << 19 /* CLFSH */
            | 1 << 23 /* MMX */ | 1 << 24 /* FXSR */ | 1 << 25 /* SSE */ | 1 << 26 /* SSE2 */;
    // With LAHF-LM (EXT1_ECX) these make x86-64-v2; NativeV2DifferentialTest checks each against the host CPU.
    static final int LEAF1_ECX = 1 /* SSE3 */ | 1 << 9 /* SSSE3 */ | 1 << 13 /* CX16 */ | 1 << 19 /* SSE4.1 */
            | 1 << 20 /* SSE4.2 */ | 1 << 23 /* POPCNT */ | 1 << 31 /* hypervisor present */;
    static final int LEAF7_EDX = 1 << 29; /* IA32_ARCH_CAPABILITIES */
    /** Only with a local APIC attached: its presence (leaf 1 and 0x80000001 EDX) and its TSC-deadline timer mode. */
    static final int LEAF1_EDX_APIC = 1 << 9, LEAF1_ECX_TSC_DEADLINE = 1 << 24;
    // ERMS: forward REP MOVSB/STOSB copy and fill whole page chunks in one go (Interpreter.bulkString), so Linux's
    // memcpy/memset/clear_page/copy_user pick their rep movsb/stosb variants over unrolled loops.
    static final int LEAF7_EBX = 1 << 9; /* ERMS */
    static final int EXT1_EDX = 1 << 11 /* SYSCALL */ | 1 << 20 /* NX */ | 1 << 27 /* RDTSCP */ | 1 << 29 /* LM */;
    static final int EXT1_ECX = 1; /* LAHF/SAHF in 64-bit mode */
    // AMD cache descriptors (what glibc sizes its memcpy thresholds from): L1D and L1I 64 KiB 2-way, 64-byte lines;
    // L2 512 KiB 16-way; L3 16 MiB 16-way. The same sizes QEMU reports.
    static final int EXT5_L1D = 64 << 24 | 2 << 16 | 1 << 8 | 64, EXT5_L1I = EXT5_L1D;
    static final int EXT6_L2 = 512 << 16 | 0x8 << 12 | 1 << 8 | 64, EXT6_L3 = (16 * 2) << 18 | 0x8 << 12 | 1 << 8 | 64;

    final void cpuid() {
        int leaf = (int) R[RAX];
        int a = 0, b = 0, c = 0, d = 0;
        switch (leaf) {
            case 0 -> { a = 7; b = VENDOR[0]; d = VENDOR[1]; c = VENDOR[2]; }
            case 1 -> {
                a = LEAF1_EAX;
                b = 8 << 8 | 1 << 16;        // 64-byte CLFLUSH line, one logical processor
                c = LEAF1_ECX;
                d = LEAF1_EDX;
                if (apic != null) {
                    b |= apic.apicId() << 24;
                    c |= LEAF1_ECX_TSC_DEADLINE;
                    d |= LEAF1_EDX_APIC;
                }
            }
            case 7 -> {
                if ((int) R[RCX] == 0) {
                    b = LEAF7_EBX;
                    d = LEAF7_EDX;
                }
            }
            case 0x40000000 -> { a = 0x40000000; b = HYPERVISOR_VENDOR[0]; c = HYPERVISOR_VENDOR[1]; d = HYPERVISOR_VENDOR[2]; }
            case 0x80000000 -> { a = 0x80000008; b = VENDOR[0]; d = VENDOR[1]; c = VENDOR[2]; }
            case 0x80000001 -> { a = LEAF1_EAX; c = EXT1_ECX; d = EXT1_EDX | (apic != null ? LEAF1_EDX_APIC : 0); }
            case 0x80000002, 0x80000003, 0x80000004 -> {
                int[] w = brandWords(leaf - 0x80000002);
                a = w[0]; b = w[1]; c = w[2]; d = w[3];
            }
            case 0x80000005 -> { c = EXT5_L1D; d = EXT5_L1I; }
            case 0x80000006 -> { c = EXT6_L2; d = EXT6_L3; }
            case 0x80000008 -> a = Mmu.PHYS_BITS | 48 << 8;
            default -> { }
        }
        R[RAX] = a & 0xffffffffL;
        R[RBX] = b & 0xffffffffL;
        R[RCX] = c & 0xffffffffL;
        R[RDX] = d & 0xffffffffL;
    }

    private static int[] brandWords(int part) {
        byte[] bytes = new byte[48];
        byte[] src = BRAND.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        System.arraycopy(src, 0, bytes, 0, Math.min(src.length, 47));
        int[] w = new int[4];
        for (int k = 0; k < 16; k++) w[k / 4] |= (bytes[part * 16 + k] & 0xff) << (8 * (k % 4));
        return w;
    }
}
