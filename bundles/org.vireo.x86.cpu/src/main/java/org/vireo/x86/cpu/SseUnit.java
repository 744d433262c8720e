package org.vireo.x86.cpu;

import static org.vireo.x86.cpu.CpuState.CR0_EM;
import static org.vireo.x86.cpu.CpuState.CR0_TS;
import static org.vireo.x86.cpu.CpuState.CR4_OSFXSR;

/**
 * SSE, SSE2, SSE3, SSSE3, SSE4.1, SSE4.2 (but CRC32, an integer instruction) and the MMX forms of the
 * packed-integer instructions. Decoded as {@link Ops#SSE} with {@code sub = mandatoryPrefix << 12 | opcode}
 * (prefix 0 none, 1 66, 2 F3, 3 F2; opcode 0x0xx for 0F xx, 0x1xx for 0F 38 xx, 0x2xx for 0F 3A xx).
 * XMM registers are pairs of longs; MMX registers alias the x87 significands. Floating point uses Java float and
 * double (round to nearest; MXCSR rounding control honoured by conversions; exception flags are not tracked).
 */
final class SseUnit {
    private static final long LOW_7F = 0x7f7f7f7f7f7f7f7fL, HIGH_80 = 0x8080808080808080L;

    private final Interpreter cpu;
    private final CpuState s;
    private final long[] x;
    // the source operand of the instruction being executed
    private long srcLo, srcHi;

    SseUnit(Interpreter cpu) {
        this.cpu = cpu;
        this.s = cpu.s;
        this.x = s.xmm;
    }

    private void checkSse() {
        if ((s.cr0 & CR0_EM) != 0 || (s.cr4 & CR4_OSFXSR) == 0) throw CpuException.ud();
        if ((s.cr0 & CR0_TS) != 0) throw CpuException.fault(CpuException.NM);
    }

    private void checkMmx() {
        if ((s.cr0 & CR0_EM) != 0) throw CpuException.ud();
        if ((s.cr0 & CR0_TS) != 0) throw CpuException.fault(CpuException.NM);
        // Entering MMX mode: TOP = 0, all registers valid.
        s.fpTop = 0;
        s.ftw = 0;
    }

    void ldmxcsr(long a) {
        checkSse();
        int v = cpu.m.read32(a);
        if ((v & ~FpuUnit.MXCSR_MASK) != 0) throw CpuException.gp(0);
        s.mxcsr = v;
    }

    void stmxcsr(long a) {
        checkSse();
        cpu.m.write32(a, s.mxcsr);
    }

    // ------------------------------------------------------------------ operands

    private void load128(Insn i, boolean aligned) {
        if (i.rm >= 0) {
            srcLo = x[2 * i.rm];
            srcHi = x[2 * i.rm + 1];
        } else {
            long a = cpu.lin(i);
            if (aligned && (a & 15) != 0) throw CpuException.gp(0);
            srcLo = cpu.m.read64(a);
            srcHi = cpu.m.read64(a + 8);
        }
    }

    private void store128(Insn i, long lo, long hi, boolean aligned) {
        if (i.rm >= 0) {
            x[2 * i.rm] = lo;
            x[2 * i.rm + 1] = hi;
        } else {
            long a = cpu.lin(i);
            if (aligned && (a & 15) != 0) throw CpuException.gp(0);
            cpu.m.probeWrite(a, 16);
            cpu.m.write64(a, lo);
            cpu.m.write64(a + 8, hi);
        }
    }

    private long load64(Insn i) { return i.rm >= 0 ? x[2 * i.rm] : cpu.m.read64(cpu.lin(i)); }

    private long load32(Insn i) { return i.rm >= 0 ? x[2 * i.rm] & 0xffffffffL : cpu.m.read32(cpu.lin(i)) & 0xffffffffL; }

    private long loadMmx(Insn i) { return i.rm >= 0 ? s.fpMant[i.rm & 7] : cpu.m.read64(cpu.lin(i)); }

    private void setMmx(int r, long v) {
        s.fpMant[r & 7] = v;
        s.fpExp[r & 7] = 0xffff;
    }

    /** Integer source for cvtsi2ss/sd and movd/movq from a GPR or memory. */
    private long loadGpr(Insn i, boolean wide) {
        int size = wide ? 8 : 4;
        return i.rm >= 0 ? cpu.getReg(i.rm, size) : cpu.m.read(cpu.lin(i), size);
    }

    // ------------------------------------------------------------------ dispatch

    void exec(Insn i) {
        int mp = i.sub >>> 12;
        int op = i.sub & 0xfff;
        if (op >= 0x100) {
            extended(i, op, mp);
            return;
        }
        if (mp == 0 && isMmxInteger(op)) {
            checkMmx();
            mmx(i, op);
            return;
        }
        checkSse();
        int d = 2 * i.reg;
        boolean rexW = (i.prefixes & Insn.REXW) != 0;
        switch (op) {
            case 0x10 -> {
                switch (mp) {
                    case 0, 1 -> { load128(i, false); x[d] = srcLo; x[d + 1] = srcHi; }
                    case 2 -> { // movss
                        if (i.rm >= 0) x[d] = (x[d] & ~0xffffffffL) | (x[2 * i.rm] & 0xffffffffL);
                        else { x[d] = load32(i); x[d + 1] = 0; }
                    }
                    default -> { // movsd
                        if (i.rm >= 0) x[d] = x[2 * i.rm];
                        else { x[d] = load64(i); x[d + 1] = 0; }
                    }
                }
            }
            case 0x11 -> {
                switch (mp) {
                    case 0, 1 -> store128(i, x[d], x[d + 1], false);
                    case 2 -> {
                        if (i.rm >= 0) x[2 * i.rm] = (x[2 * i.rm] & ~0xffffffffL) | (x[d] & 0xffffffffL);
                        else cpu.m.write32(cpu.lin(i), x[d]);
                    }
                    default -> {
                        if (i.rm >= 0) x[2 * i.rm] = x[d];
                        else cpu.m.write64(cpu.lin(i), x[d]);
                    }
                }
            }
            case 0x12 -> {
                if (mp == 2) { load128(i, true); x[d] = dupLow(srcLo); x[d + 1] = dupLow(srcHi); }   // movsldup
                else if (mp == 3) { long v = load64(i); x[d] = v; x[d + 1] = v; }   // movddup
                else if (i.rm >= 0) { if (mp == 1) throw CpuException.ud(); x[d] = x[2 * i.rm + 1]; }   // movhlps
                else x[d] = load64(i);   // movlps/movlpd
            }
            case 0x13 -> { if (i.rm >= 0 || mp > 1) throw CpuException.ud(); cpu.m.write64(cpu.lin(i), x[d]); }
            case 0x14 -> {
                if (mp > 1) throw CpuException.ud();
                load128(i, true);
                if (mp == 0) {
                    long a = x[d];
                    x[d + 1] = (a >>> 32) | (srcLo & 0xffffffff00000000L);
                    x[d] = (a & 0xffffffffL) | srcLo << 32;
                } else x[d + 1] = srcLo;
            }
            case 0x15 -> {
                if (mp > 1) throw CpuException.ud();
                load128(i, true);
                if (mp == 0) {
                    long a = x[d + 1];
                    x[d] = (a & 0xffffffffL) | srcHi << 32;
                    x[d + 1] = (a >>> 32) | (srcHi & 0xffffffff00000000L);
                } else {
                    x[d] = x[d + 1];
                    x[d + 1] = srcHi;
                }
            }
            case 0x16 -> {
                if (mp == 3) throw CpuException.ud();
                if (mp == 2) { load128(i, true); x[d] = dupHigh(srcLo); x[d + 1] = dupHigh(srcHi); }   // movshdup
                else if (i.rm >= 0) { if (mp == 1) throw CpuException.ud(); x[d + 1] = x[2 * i.rm]; }  // movlhps
                else x[d + 1] = load64(i);
            }
            case 0x17 -> { if (i.rm >= 0 || mp > 1) throw CpuException.ud(); cpu.m.write64(cpu.lin(i), x[d + 1]); }
            case 0x28 -> { if (mp > 1) throw CpuException.ud(); load128(i, true); x[d] = srcLo; x[d + 1] = srcHi; }
            case 0x29 -> { if (mp > 1) throw CpuException.ud(); store128(i, x[d], x[d + 1], true); }
            case 0x2b -> { if (mp > 1 || i.rm >= 0) throw CpuException.ud(); store128(i, x[d], x[d + 1], true); }
            case 0x2a -> {
                if (mp < 2) throw CpuException.ud();     // cvtpi2ps/pd: MMX forms not implemented
                long v = loadGpr(i, rexW);
                double dv = rexW ? (double) v : (double) (int) v;
                if (mp == 2) x[d] = (x[d] & ~0xffffffffL) | (Float.floatToRawIntBits(rexW ? (float) v : (float) (int) v) & 0xffffffffL);
                else x[d] = Double.doubleToRawLongBits(dv);
            }
            case 0x2c, 0x2d -> {
                if (mp < 2) throw CpuException.ud();
                double v = mp == 2 ? Float.intBitsToFloat((int) load32(i)) : Double.longBitsToDouble(load64(i));
                long r = toInteger(v, op == 0x2c, rexW);
                cpu.setReg(i.reg, rexW ? 8 : 4, r);
            }
            case 0x2e, 0x2f -> {
                if (mp > 1) throw CpuException.ud();
                double a, b;
                if (mp == 0) { a = Float.intBitsToFloat((int) x[d]); b = Float.intBitsToFloat((int) load32(i)); }
                else { a = Double.longBitsToDouble(x[d]); b = Double.longBitsToDouble(load64(i)); }
                long f;
                if (Double.isNaN(a) || Double.isNaN(b)) f = CpuState.ZF | CpuState.PF | CpuState.CF;
                else if (a < b) f = CpuState.CF;
                else if (a == b) f = CpuState.ZF;
                else f = 0;
                s.setArith(f);
            }
            case 0x50 -> {
                if (mp > 1 || i.rm < 0) throw CpuException.ud();
                long lo = x[2 * i.rm], hi = x[2 * i.rm + 1];
                long r = mp == 0 ? (lo >>> 31 & 1) | (lo >>> 62 & 2) | (hi >>> 29 & 4) | (hi >>> 60 & 8)
                        : (lo >>> 63) | (hi >>> 62 & 2);
                cpu.setReg(i.reg, 4, r);
            }
            case 0x51, 0x58, 0x59, 0x5c, 0x5d, 0x5e, 0x5f -> floatArith(i, op, mp);
            case 0x54 -> { if (mp > 1) throw CpuException.ud(); load128(i, true); x[d] &= srcLo; x[d + 1] &= srcHi; }
            case 0x55 -> { if (mp > 1) throw CpuException.ud(); load128(i, true); x[d] = ~x[d] & srcLo; x[d + 1] = ~x[d + 1] & srcHi; }
            case 0x56 -> { if (mp > 1) throw CpuException.ud(); load128(i, true); x[d] |= srcLo; x[d + 1] |= srcHi; }
            case 0x57 -> { if (mp > 1) throw CpuException.ud(); load128(i, true); x[d] ^= srcLo; x[d + 1] ^= srcHi; }
            case 0x5a -> convertFloatWidth(i, mp);
            case 0x5b -> convertInts(i, mp);
            case 0x6e -> { // movd/movq xmm, r/m
                if (mp != 1) throw CpuException.ud();
                x[d] = rexW ? loadGpr(i, true) : loadGpr(i, false) & 0xffffffffL;
                x[d + 1] = 0;
            }
            case 0x6f -> {
                if (mp == 1) { load128(i, true); x[d] = srcLo; x[d + 1] = srcHi; }
                else if (mp == 2) { load128(i, false); x[d] = srcLo; x[d + 1] = srcHi; }
                else throw CpuException.ud();
            }
            case 0x70 -> shuffle(i, mp);
            case 0x7e -> {
                if (mp == 1) { // movd/movq r/m, xmm
                    if (rexW) { if (i.rm >= 0) cpu.setReg(i.rm, 8, x[d]); else cpu.m.write64(cpu.lin(i), x[d]); }
                    else { if (i.rm >= 0) cpu.setReg(i.rm, 4, x[d]); else cpu.m.write32(cpu.lin(i), x[d]); }
                } else if (mp == 2) { // movq xmm, xmm/m64
                    x[d] = load64(i);
                    x[d + 1] = 0;
                } else throw CpuException.ud();
            }
            case 0x7f -> {
                if (mp == 1) store128(i, x[d], x[d + 1], true);
                else if (mp == 2) store128(i, x[d], x[d + 1], false);
                else throw CpuException.ud();
            }
            case 0x7c, 0x7d -> horizontalFloat(i, op, mp);
            case 0xd0 -> { // addsubpd / addsubps: subtract in even elements, add in odd ones
                load128(i, true);
                if (mp == 1) {
                    x[d] = Double.doubleToRawLongBits(Double.longBitsToDouble(x[d]) - Double.longBitsToDouble(srcLo));
                    x[d + 1] = Double.doubleToRawLongBits(Double.longBitsToDouble(x[d + 1]) + Double.longBitsToDouble(srcHi));
                } else if (mp == 3) {
                    x[d] = f2(x[d], srcLo, 0x5c, false) | f2(x[d], srcLo, 0x58, true);
                    x[d + 1] = f2(x[d + 1], srcHi, 0x5c, false) | f2(x[d + 1], srcHi, 0x58, true);
                } else throw CpuException.ud();
            }
            case 0xf0 -> { // lddqu: memory only, no alignment check
                if (mp != 3 || i.rm >= 0) throw CpuException.ud();
                load128(i, false);
                x[d] = srcLo;
                x[d + 1] = srcHi;
            }
            case 0xc2 -> compareFloat(i, mp);
            case 0xc3 -> throw CpuException.ud();
            case 0xc4 -> { // pinsrw
                if (mp != 1) throw CpuException.ud();
                int sel = (int) i.imm & 7;
                long v = (i.rm >= 0 ? cpu.getReg(i.rm, 4) : cpu.m.read16(cpu.lin(i))) & 0xffff;
                int w = d + (sel >>> 2), sh = (sel & 3) * 16;
                x[w] = (x[w] & ~(0xffffL << sh)) | v << sh;
            }
            case 0xc5 -> { // pextrw
                if (mp != 1 || i.rm < 0) throw CpuException.ud();
                int sel = (int) i.imm & 7;
                cpu.setReg(i.reg, 4, (x[2 * i.rm + (sel >>> 2)] >>> ((sel & 3) * 16)) & 0xffff);
            }
            case 0xc6 -> { // shufps / shufpd
                if (mp > 1) throw CpuException.ud();
                load128(i, true);
                int imm = (int) i.imm;
                if (mp == 0) {
                    long[] a = {x[d] & 0xffffffffL, x[d] >>> 32, x[d + 1] & 0xffffffffL, x[d + 1] >>> 32};
                    long[] b = {srcLo & 0xffffffffL, srcLo >>> 32, srcHi & 0xffffffffL, srcHi >>> 32};
                    x[d] = a[imm & 3] | a[(imm >>> 2) & 3] << 32;
                    x[d + 1] = b[(imm >>> 4) & 3] | b[(imm >>> 6) & 3] << 32;
                } else {
                    long lo = (imm & 1) == 0 ? x[d] : x[d + 1];
                    long hi = (imm & 2) == 0 ? srcLo : srcHi;
                    x[d] = lo;
                    x[d + 1] = hi;
                }
            }
            case 0xd6 -> {
                if (mp != 1) throw CpuException.ud();  // movq xmm/m64, xmm
                if (i.rm >= 0) { x[2 * i.rm] = x[d]; x[2 * i.rm + 1] = 0; }
                else cpu.m.write64(cpu.lin(i), x[d]);
            }
            case 0xe6 -> convertIntsE6(i, mp);
            case 0xe7 -> { if (mp != 1 || i.rm >= 0) throw CpuException.ud(); store128(i, x[d], x[d + 1], true); }
            case 0xf7 -> { // maskmovdqu
                if (mp != 1 || i.rm < 0) throw CpuException.ud();
                long base = cpu.linear(i.seg, cpu.R[CpuState.RDI] & i.addrMask);
                for (int k = 0; k < 16; k++) {
                    long mask = (x[2 * i.rm + (k >>> 3)] >>> ((k & 7) * 8 + 7)) & 1;
                    if (mask != 0) cpu.m.write8(base + k, x[d + (k >>> 3)] >>> ((k & 7) * 8));
                }
            }
            default -> {
                if (mp == 1 && isMmxInteger(op)) xmmInteger(i, op);
                else throw CpuException.ud();
            }
        }
    }

    private static long dupLow(long v) { return (v & 0xffffffffL) | v << 32; }

    private static long dupHigh(long v) { return (v >>> 32) | (v & 0xffffffff00000000L); }

    private static boolean isMmxInteger(int op) {
        return (op >= 0x60 && op <= 0x7f && op != 0x77) || (op >= 0xd1 && op <= 0xff && op != 0xd6 && op != 0xe6) || op == 0xc4 || op == 0xc5 || op == 0x70;
    }

    // ------------------------------------------------------------------ packed integers

    private void xmmInteger(Insn i, int op) {
        int d = 2 * i.reg;
        if (op >= 0x71 && op <= 0x73) {
            if (i.rm < 0) throw CpuException.ud();
            int r = 2 * i.rm;
            int ext = (i.reg) & 7;
            int count = (int) i.imm & 0xff;
            if (op == 0x73 && (ext == 3 || ext == 7)) {
                long lo = x[r], hi = x[r + 1];
                int bytes = Math.min(count, 16);
                long[] res = ext == 3 ? shiftRightBytes(lo, hi, bytes) : shiftLeftBytes(lo, hi, bytes);
                x[r] = res[0];
                x[r + 1] = res[1];
                return;
            }
            int elem = op == 0x71 ? 16 : op == 0x72 ? 32 : 64;
            x[r] = shiftImm(x[r], elem, ext, count);
            x[r + 1] = shiftImm(x[r + 1], elem, ext, count);
            return;
        }
        load128(i, op != 0x6e && op != 0x6f);
        long a0 = x[d], a1 = x[d + 1];
        switch (op) {
            case 0x60 -> { long[] r = unpackLow(a0, srcLo, 8); x[d] = r[0]; x[d + 1] = r[1]; }
            case 0x61 -> { long[] r = unpackLow(a0, srcLo, 16); x[d] = r[0]; x[d + 1] = r[1]; }
            case 0x62 -> { long[] r = unpackLow(a0, srcLo, 32); x[d] = r[0]; x[d + 1] = r[1]; }
            case 0x68 -> { long[] r = unpackLow(a1, srcHi, 8); x[d] = r[0]; x[d + 1] = r[1]; }
            case 0x69 -> { long[] r = unpackLow(a1, srcHi, 16); x[d] = r[0]; x[d + 1] = r[1]; }
            case 0x6a -> { long[] r = unpackLow(a1, srcHi, 32); x[d] = r[0]; x[d + 1] = r[1]; }
            case 0x6c -> x[d + 1] = srcLo;
            case 0x6d -> { x[d] = a1; x[d + 1] = srcHi; }
            case 0x63 -> { x[d] = pack(a0, a1, 16, true); x[d + 1] = pack(srcLo, srcHi, 16, true); }
            case 0x67 -> { x[d] = pack(a0, a1, 16, false); x[d + 1] = pack(srcLo, srcHi, 16, false); }
            case 0x6b -> { x[d] = pack(a0, a1, 32, true); x[d + 1] = pack(srcLo, srcHi, 32, true); }
            case 0xd7 -> {
                if (i.rm < 0) throw CpuException.ud();
                cpu.setReg(i.reg, 4, moveMask(srcLo) | moveMask(srcHi) << 8);
            }
            case 0xd1, 0xd2, 0xd3, 0xe1, 0xe2, 0xf1, 0xf2, 0xf3 -> {
                int elem = switch (op & 0xf) { case 1 -> 16; case 2 -> 32; default -> 64; };
                int ext = op >= 0xf0 ? 6 : op >= 0xe0 ? 4 : 2;
                long c = srcLo;
                int count = Long.compareUnsigned(c, 255) > 0 ? 255 : (int) c;
                x[d] = shiftImm(a0, elem, ext, count);
                x[d + 1] = shiftImm(a1, elem, ext, count);
            }
            case 0xf4 -> { x[d] = (a0 & 0xffffffffL) * (srcLo & 0xffffffffL); x[d + 1] = (a1 & 0xffffffffL) * (srcHi & 0xffffffffL); }
            case 0xf6 -> { x[d] = sad(a0, srcLo); x[d + 1] = sad(a1, srcHi); }
            default -> { x[d] = lane(op, a0, srcLo); x[d + 1] = lane(op, a1, srcHi); }
        }
    }

    private void mmx(Insn i, int op) {
        int d = i.reg & 7;
        long a = s.fpMant[d];
        switch (op) {
            case 0x6e -> setMmx(d, (i.prefixes & Insn.REXW) != 0 ? loadGpr(i, true) : loadGpr(i, false) & 0xffffffffL);
            case 0x7e -> {
                boolean w = (i.prefixes & Insn.REXW) != 0;
                if (i.rm >= 0) cpu.setReg(i.rm, w ? 8 : 4, a);
                else if (w) cpu.m.write64(cpu.lin(i), a);
                else cpu.m.write32(cpu.lin(i), a);
            }
            case 0x6f -> setMmx(d, loadMmx(i));
            case 0x7f -> { if (i.rm >= 0) setMmx(i.rm, a); else cpu.m.write64(cpu.lin(i), a); }
            case 0x71, 0x72, 0x73 -> {
                if (i.rm < 0) throw CpuException.ud();
                int r = i.rm & 7;
                int ext = i.reg & 7;
                if (op == 0x73 && (ext == 3 || ext == 7)) throw CpuException.ud();
                int elem = op == 0x71 ? 16 : op == 0x72 ? 32 : 64;
                setMmx(r, shiftImm(s.fpMant[r], elem, ext, (int) i.imm & 0xff));
            }
            case 0x70 -> { // pshufw
                long b = loadMmx(i);
                int imm = (int) i.imm;
                long r = 0;
                for (int k = 0; k < 4; k++) r |= ((b >>> (16 * ((imm >>> (2 * k)) & 3))) & 0xffff) << (16 * k);
                setMmx(d, r);
            }
            case 0x60, 0x61, 0x62 -> setMmx(d, unpackLow(a, loadMmx(i), 8 << (op - 0x60))[0]);
            case 0x68, 0x69, 0x6a -> setMmx(d, unpackLow(a >>> 32, loadMmx(i) >>> 32, 8 << (op - 0x68))[0]);
            case 0x63 -> setMmx(d, pack(a, loadMmx(i), 16, true));
            case 0x67 -> setMmx(d, pack(a, loadMmx(i), 16, false));
            case 0x6b -> setMmx(d, pack(a, loadMmx(i), 32, true));
            case 0xd7 -> { if (i.rm < 0) throw CpuException.ud(); cpu.setReg(i.reg, 4, moveMask(s.fpMant[i.rm & 7])); }
            case 0xd1, 0xd2, 0xd3, 0xe1, 0xe2, 0xf1, 0xf2, 0xf3 -> {
                int elem = switch (op & 0xf) { case 1 -> 16; case 2 -> 32; default -> 64; };
                int ext = op >= 0xf0 ? 6 : op >= 0xe0 ? 4 : 2;
                long c = loadMmx(i);
                setMmx(d, shiftImm(a, elem, ext, Long.compareUnsigned(c, 255) > 0 ? 255 : (int) c));
            }
            case 0xf4 -> setMmx(d, (a & 0xffffffffL) * (loadMmx(i) & 0xffffffffL));
            case 0xf6 -> setMmx(d, sad(a, loadMmx(i)));
            case 0xc4 -> {
                int sel = (int) i.imm & 3;
                long v = (i.rm >= 0 ? cpu.getReg(i.rm, 4) : cpu.m.read16(cpu.lin(i))) & 0xffff;
                setMmx(d, (a & ~(0xffffL << (16 * sel))) | v << (16 * sel));
            }
            case 0xc5 -> { if (i.rm < 0) throw CpuException.ud(); cpu.setReg(i.reg, 4, (s.fpMant[i.rm & 7] >>> (16 * ((int) i.imm & 3))) & 0xffff); }
            case 0x6c, 0x6d, 0xe7, 0xf7 -> {
                if (op == 0xe7 && i.rm < 0) { cpu.m.write64(cpu.lin(i), a); return; }
                throw CpuException.ud();
            }
            default -> setMmx(d, lane(op, a, loadMmx(i)));
        }
    }

    /** Element-wise operations on one 64-bit lane. */
    private static long lane(int op, long a, long b) {
        return switch (op) {
            case 0xdb -> a & b;
            case 0xdf -> ~a & b;
            case 0xeb -> a | b;
            case 0xef -> a ^ b;
            case 0x74 -> cmpeqBytes(a, b);
            case 0x75 -> each(a, b, 16, (p, q) -> p == q ? 0xffff : 0);
            case 0x76 -> each(a, b, 32, (p, q) -> p == q ? 0xffffffffL : 0);
            case 0x64 -> each(a, b, 8, (p, q) -> (byte) p > (byte) q ? 0xff : 0);
            case 0x65 -> each(a, b, 16, (p, q) -> (short) p > (short) q ? 0xffff : 0);
            case 0x66 -> each(a, b, 32, (p, q) -> (int) p > (int) q ? 0xffffffffL : 0);
            case 0xfc -> ((a & LOW_7F) + (b & LOW_7F)) ^ ((a ^ b) & HIGH_80);
            case 0xfd -> each(a, b, 16, (p, q) -> p + q);
            case 0xfe -> each(a, b, 32, (p, q) -> p + q);
            case 0xd4 -> a + b;
            case 0xf8 -> ((a | HIGH_80) - (b & LOW_7F)) ^ ((a ^ ~b) & HIGH_80);
            case 0xf9 -> each(a, b, 16, (p, q) -> p - q);
            case 0xfa -> each(a, b, 32, (p, q) -> p - q);
            case 0xfb -> a - b;
            case 0xda -> each(a, b, 8, Math::min);
            case 0xde -> each(a, b, 8, Math::max);
            case 0xea -> each(a, b, 16, (p, q) -> Math.min((short) p, (short) q));
            case 0xee -> each(a, b, 16, (p, q) -> Math.max((short) p, (short) q));
            case 0xd8 -> each(a, b, 8, (p, q) -> Math.max(p - q, 0));
            case 0xd9 -> each(a, b, 16, (p, q) -> Math.max(p - q, 0));
            case 0xdc -> each(a, b, 8, (p, q) -> Math.min(p + q, 0xff));
            case 0xdd -> each(a, b, 16, (p, q) -> Math.min(p + q, 0xffff));
            case 0xe8 -> each(a, b, 8, (p, q) -> clamp((byte) p - (byte) q, -128, 127));
            case 0xe9 -> each(a, b, 16, (p, q) -> clamp((short) p - (short) q, -32768, 32767));
            case 0xec -> each(a, b, 8, (p, q) -> clamp((byte) p + (byte) q, -128, 127));
            case 0xed -> each(a, b, 16, (p, q) -> clamp((short) p + (short) q, -32768, 32767));
            case 0xe0 -> each(a, b, 8, (p, q) -> (p + q + 1) >>> 1);
            case 0xe3 -> each(a, b, 16, (p, q) -> (p + q + 1) >>> 1);
            case 0xd5 -> each(a, b, 16, (p, q) -> (long) (short) p * (short) q);
            case 0xe5 -> each(a, b, 16, (p, q) -> ((long) (short) p * (short) q) >> 16);
            case 0xe4 -> each(a, b, 16, (p, q) -> (p * q) >>> 16);
            case 0xf5 -> {
                long r = 0;
                for (int k = 0; k < 2; k++) {
                    long s0 = (long) (short) (a >>> (32 * k)) * (short) (b >>> (32 * k));
                    long s1 = (long) (short) (a >>> (32 * k + 16)) * (short) (b >>> (32 * k + 16));
                    r |= ((s0 + s1) & 0xffffffffL) << (32 * k);
                }
                yield r;
            }
            default -> throw CpuException.ud();
        };
    }

    @FunctionalInterface
    private interface ElementOp {
        long apply(long a, long b);
    }

    /** Applies {@code f} to each unsigned element of width {@code bits}; results are truncated to the width. */
    private static long each(long a, long b, int bits, ElementOp f) {
        long mask = bits == 64 ? -1L : (1L << bits) - 1;
        long r = 0;
        for (int sh = 0; sh < 64; sh += bits) {
            r |= (f.apply((a >>> sh) & mask, (b >>> sh) & mask) & mask) << sh;
        }
        return r;
    }

    private static long clamp(long v, long lo, long hi) { return v < lo ? lo : Math.min(v, hi); }

    /** 0xff in each byte where the bytes of a and b are equal. */
    static long cmpeqBytes(long a, long b) {
        long v = a ^ b;
        long t = ((v & LOW_7F) + LOW_7F) | v;      // high bit set in each non-zero byte
        long zeroHigh = ~t & HIGH_80;               // high bit set in each zero byte
        return (zeroHigh >>> 7) * 0xff;
    }

    /** The high bit of each byte, gathered into 8 bits (PMOVMSKB). */
    static long moveMask(long v) {
        return ((v & HIGH_80) * 0x0002040810204081L) >>> 56;
    }

    private static long sad(long a, long b) {
        long sum = 0;
        for (int k = 0; k < 8; k++) sum += Math.abs((int) ((a >>> (8 * k)) & 0xff) - (int) ((b >>> (8 * k)) & 0xff));
        return sum;
    }

    /** Interleaves the low halves of a and b (elements of {@code bits}); returns {low quadword, high quadword}. */
    private static long[] unpackLow(long a, long b, int bits) {
        long mask = (1L << bits) - 1;
        long r0 = 0, r1 = 0;
        int total = 64 / bits;
        for (int k = 0; k < total; k++) {
            long ea = (a >>> (k * bits)) & mask, eb = (b >>> (k * bits)) & mask;
            int pos = 2 * k * bits;
            if (pos < 64) { r0 |= ea << pos; r0 |= eb << (pos + bits); }
            else { r1 |= ea << (pos - 64); r1 |= eb << (pos - 64 + bits); }
        }
        return new long[] {r0, r1};
    }

    /** Packs the elements of lo:hi (16- or 32-bit) into half-width saturated elements. */
    private static long pack(long lo, long hi, int bits, boolean signed) {
        long r = 0;
        int half = bits / 2;
        long outMask = (1L << half) - 1;
        int n = 64 / bits;
        for (int k = 0; k < 2 * n; k++) {
            long src = k < n ? lo : hi;
            long e = (src >>> ((k % n) * bits)) & ((1L << bits) - 1);
            long v = bits == 16 ? (short) e : (int) e;
            long sat;
            if (signed) sat = clamp(v, -(1L << (half - 1)), (1L << (half - 1)) - 1);
            else sat = clamp(v, 0, (1L << half) - 1);
            r |= (sat & outMask) << (k * half);
        }
        return r;
    }

    /** Shift of each element; ext 2 = logical right, 4 = arithmetic right, 6 = left. */
    private static long shiftImm(long v, int bits, int ext, int count) {
        long mask = bits == 64 ? -1L : (1L << bits) - 1;
        long r = 0;
        for (int sh = 0; sh < 64; sh += bits) {
            long e = (v >>> sh) & mask;
            long out;
            switch (ext) {
                case 2 -> out = count >= bits ? 0 : e >>> count;
                case 4 -> {
                    long se = bits == 64 ? e : e << (64 - bits) >> (64 - bits);
                    out = se >> Math.min(count, bits - 1);
                }
                case 6 -> out = count >= bits ? 0 : e << count;
                default -> throw CpuException.ud();
            }
            r |= (out & mask) << sh;
        }
        return r;
    }

    private static long[] shiftRightBytes(long lo, long hi, int n) {
        if (n == 0) return new long[] {lo, hi};
        if (n >= 16) return new long[] {0, 0};
        if (n >= 8) return new long[] {n == 8 ? hi : hi >>> (8 * (n - 8)), 0};
        return new long[] {(lo >>> (8 * n)) | (hi << (64 - 8 * n)), hi >>> (8 * n)};
    }

    private static long[] shiftLeftBytes(long lo, long hi, int n) {
        if (n == 0) return new long[] {lo, hi};
        if (n >= 16) return new long[] {0, 0};
        if (n >= 8) return new long[] {0, n == 8 ? lo : lo << (8 * (n - 8))};
        return new long[] {lo << (8 * n), (hi << (8 * n)) | (lo >>> (64 - 8 * n))};
    }

    private void shuffle(Insn i, int mp) {
        int d = 2 * i.reg;
        load128(i, true);
        int imm = (int) i.imm;
        switch (mp) {
            case 1 -> { // pshufd
                long[] e = {srcLo & 0xffffffffL, srcLo >>> 32, srcHi & 0xffffffffL, srcHi >>> 32};
                x[d] = e[imm & 3] | e[(imm >>> 2) & 3] << 32;
                x[d + 1] = e[(imm >>> 4) & 3] | e[(imm >>> 6) & 3] << 32;
            }
            case 2 -> { x[d] = srcLo; x[d + 1] = shuffleWords(srcHi, imm); }   // pshufhw
            case 3 -> { x[d] = shuffleWords(srcLo, imm); x[d + 1] = srcHi; }   // pshuflw
            default -> throw CpuException.ud();
        }
    }

    private static long shuffleWords(long v, int imm) {
        long r = 0;
        for (int k = 0; k < 4; k++) r |= ((v >>> (16 * ((imm >>> (2 * k)) & 3))) & 0xffff) << (16 * k);
        return r;
    }

    // ------------------------------------------------------------------ floating point

    private long toInteger(double v, boolean truncate, boolean wide) {
        double r;
        if (truncate) r = v < 0 ? Math.ceil(v) : Math.floor(v);
        else r = switch ((s.mxcsr >>> 13) & 3) {
            case 0 -> Math.rint(v);
            case 1 -> Math.floor(v);
            case 2 -> Math.ceil(v);
            default -> v < 0 ? Math.ceil(v) : Math.floor(v);
        };
        if (wide) {
            if (Double.isNaN(r) || r >= 0x1p63 || r < -0x1p63) return Long.MIN_VALUE;
            return (long) r;
        }
        if (Double.isNaN(r) || r >= 0x1p31 || r < -0x1p31) return 0x80000000L;
        return (long) r & 0xffffffffL;
    }

    private static double op(int op, double a, double b) {
        return switch (op) {
            case 0x51 -> Math.sqrt(b);
            case 0x58 -> a + b;
            case 0x59 -> a * b;
            case 0x5c -> a - b;
            case 0x5d -> a < b ? a : b;     // MIN returns the second operand when unordered or equal
            case 0x5e -> a / b;
            default -> a > b ? a : b;       // MAX likewise
        };
    }

    private static float opf(int op, float a, float b) {
        return switch (op) {
            case 0x51 -> (float) Math.sqrt(b);
            case 0x58 -> a + b;
            case 0x59 -> a * b;
            case 0x5c -> a - b;
            case 0x5d -> a < b ? a : b;
            case 0x5e -> a / b;
            default -> a > b ? a : b;
        };
    }

    private static long f2(long word, long src, int op, boolean high) {
        int sh = high ? 32 : 0;
        float a = Float.intBitsToFloat((int) (word >>> sh)), b = Float.intBitsToFloat((int) (src >>> sh));
        return (Float.floatToRawIntBits(opf(op, a, b)) & 0xffffffffL) << sh;
    }

    private void floatArith(Insn i, int op, int mp) {
        int d = 2 * i.reg;
        switch (mp) {
            case 0 -> { // ps
                load128(i, true);
                x[d] = f2(x[d], srcLo, op, false) | f2(x[d], srcLo, op, true);
                x[d + 1] = f2(x[d + 1], srcHi, op, false) | f2(x[d + 1], srcHi, op, true);
            }
            case 1 -> { // pd
                load128(i, true);
                x[d] = Double.doubleToRawLongBits(op(op, Double.longBitsToDouble(x[d]), Double.longBitsToDouble(srcLo)));
                x[d + 1] = Double.doubleToRawLongBits(op(op, Double.longBitsToDouble(x[d + 1]), Double.longBitsToDouble(srcHi)));
            }
            case 2 -> { // ss
                long b = load32(i);
                x[d] = (x[d] & 0xffffffff00000000L) | f2(x[d], b, op, false);
            }
            default -> { // sd
                long b = load64(i);
                x[d] = Double.doubleToRawLongBits(op(op, Double.longBitsToDouble(x[d]), Double.longBitsToDouble(b)));
            }
        }
    }

    private void convertFloatWidth(Insn i, int mp) {
        int d = 2 * i.reg;
        switch (mp) {
            case 0 -> { // cvtps2pd
                long v = load64(i);
                x[d] = Double.doubleToRawLongBits(Float.intBitsToFloat((int) v));
                x[d + 1] = Double.doubleToRawLongBits(Float.intBitsToFloat((int) (v >>> 32)));
            }
            case 1 -> { // cvtpd2ps
                load128(i, true);
                x[d] = (Float.floatToRawIntBits((float) Double.longBitsToDouble(srcLo)) & 0xffffffffL)
                        | (long) Float.floatToRawIntBits((float) Double.longBitsToDouble(srcHi)) << 32;
                x[d + 1] = 0;
            }
            case 2 -> x[d] = Double.doubleToRawLongBits(Float.intBitsToFloat((int) load32(i)));   // cvtss2sd
            default -> x[d] = (x[d] & 0xffffffff00000000L)
                    | (Float.floatToRawIntBits((float) Double.longBitsToDouble(load64(i))) & 0xffffffffL);   // cvtsd2ss
        }
    }

    private void convertInts(Insn i, int mp) {
        int d = 2 * i.reg;
        load128(i, true);
        long[] e = {srcLo & 0xffffffffL, srcLo >>> 32, srcHi & 0xffffffffL, srcHi >>> 32};
        long[] r = new long[4];
        for (int k = 0; k < 4; k++) {
            if (mp == 0) r[k] = Float.floatToRawIntBits((float) (int) e[k]) & 0xffffffffL;          // cvtdq2ps
            else if (mp == 1 || mp == 2) r[k] = toInteger(Float.intBitsToFloat((int) e[k]), mp == 2, false);  // cvt(t)ps2dq
            else throw CpuException.ud();
        }
        x[d] = r[0] | r[1] << 32;
        x[d + 1] = r[2] | r[3] << 32;
    }

    private void convertIntsE6(Insn i, int mp) {
        int d = 2 * i.reg;
        switch (mp) {
            case 2 -> { // cvtdq2pd
                long v = load64(i);
                x[d] = Double.doubleToRawLongBits((int) v);
                x[d + 1] = Double.doubleToRawLongBits((int) (v >>> 32));
            }
            case 1, 3 -> { // cvttpd2dq, cvtpd2dq
                load128(i, true);
                long a = toInteger(Double.longBitsToDouble(srcLo), mp == 1, false);
                long b = toInteger(Double.longBitsToDouble(srcHi), mp == 1, false);
                x[d] = a | b << 32;
                x[d + 1] = 0;
            }
            default -> throw CpuException.ud();
        }
    }

    /** haddpd/hsubpd (66) and haddps/hsubps (F2): pairs of adjacent elements, destination pairs first. */
    private void horizontalFloat(Insn i, int op, int mp) {
        int d = 2 * i.reg;
        boolean sub = op == 0x7d;
        load128(i, true);
        if (mp == 1) {
            x[d] = pairDouble(x[d], x[d + 1], sub);
            x[d + 1] = pairDouble(srcLo, srcHi, sub);
        } else if (mp == 3) {
            x[d] = pairFloat(x[d], sub) | pairFloat(x[d + 1], sub) << 32;
            x[d + 1] = pairFloat(srcLo, sub) | pairFloat(srcHi, sub) << 32;
        } else throw CpuException.ud();
    }

    private static long pairDouble(long a, long b, boolean sub) {
        double p = Double.longBitsToDouble(a), q = Double.longBitsToDouble(b);
        return Double.doubleToRawLongBits(sub ? p - q : p + q);
    }

    private static long pairFloat(long v, boolean sub) {
        float p = Float.intBitsToFloat((int) v), q = Float.intBitsToFloat((int) (v >>> 32));
        return Float.floatToRawIntBits(sub ? p - q : p + q) & 0xffffffffL;
    }

    private static boolean predicate(int p, double a, double b) {
        boolean unordered = Double.isNaN(a) || Double.isNaN(b);
        return switch (p & 7) {
            case 0 -> !unordered && a == b;
            case 1 -> !unordered && a < b;
            case 2 -> !unordered && a <= b;
            case 3 -> unordered;
            case 4 -> unordered || a != b;
            case 5 -> unordered || !(a < b);
            case 6 -> unordered || !(a <= b);
            default -> !unordered;
        };
    }

    private void compareFloat(Insn i, int mp) {
        int d = 2 * i.reg;
        int p = (int) i.imm;
        switch (mp) {
            case 0 -> {
                load128(i, true);
                long r0 = 0, r1 = 0;
                for (int k = 0; k < 2; k++) {
                    if (predicate(p, Float.intBitsToFloat((int) (x[d] >>> (32 * k))), Float.intBitsToFloat((int) (srcLo >>> (32 * k))))) r0 |= 0xffffffffL << (32 * k);
                    if (predicate(p, Float.intBitsToFloat((int) (x[d + 1] >>> (32 * k))), Float.intBitsToFloat((int) (srcHi >>> (32 * k))))) r1 |= 0xffffffffL << (32 * k);
                }
                x[d] = r0;
                x[d + 1] = r1;
            }
            case 1 -> {
                load128(i, true);
                x[d] = predicate(p, Double.longBitsToDouble(x[d]), Double.longBitsToDouble(srcLo)) ? -1L : 0;
                x[d + 1] = predicate(p, Double.longBitsToDouble(x[d + 1]), Double.longBitsToDouble(srcHi)) ? -1L : 0;
            }
            case 2 -> {
                long b = load32(i);
                boolean t = predicate(p, Float.intBitsToFloat((int) x[d]), Float.intBitsToFloat((int) b));
                x[d] = (x[d] & 0xffffffff00000000L) | (t ? 0xffffffffL : 0);
            }
            default -> {
                long b = load64(i);
                x[d] = predicate(p, Double.longBitsToDouble(x[d]), Double.longBitsToDouble(b)) ? -1L : 0;
            }
        }
    }

    // ------------------------------------------------------------------ 0F 38 and 0F 3A maps

    /** SSSE3 opcodes: the only ones in these maps with an MMX form (no prefix). */
    private static boolean isSsse3(int op) {
        return (op >= 0x100 && op <= 0x10b) || (op >= 0x11c && op <= 0x11e) || op == 0x20f;
    }

    private void extended(Insn i, int op, int mp) {
        if (mp == 0 && isSsse3(op)) {
            checkMmx();
            int d = i.reg & 7;
            long b = loadMmx(i);
            setMmx(d, ssse3(op, new long[] {s.fpMant[d]}, new long[] {b}, (int) i.imm & 0xff)[0]);
            return;
        }
        if (mp != 1) throw CpuException.ud();
        checkSse();
        int d = 2 * i.reg;
        if (op == 0x100 || op == 0x20f) { // pshufb and palignr without arrays: glibc's SSSE3 memcpy and string code
            load128(i, true);
            long a0 = x[d], a1 = x[d + 1];
            if (op == 0x100) {
                x[d] = shuffleBytes(a0, a1, srcLo);
                x[d + 1] = shuffleBytes(a0, a1, srcHi);
            } else {
                int bit = ((int) i.imm & 0xff) * 8;
                x[d] = bits256(srcLo, srcHi, a0, a1, bit);
                x[d + 1] = bits256(srcLo, srcHi, a0, a1, bit + 64);
            }
        } else if (isSsse3(op)) {
            load128(i, true);
            long[] r = ssse3(op, new long[] {x[d], x[d + 1]}, new long[] {srcLo, srcHi}, (int) i.imm & 0xff);
            x[d] = r[0];
            x[d + 1] = r[1];
        } else if (op < 0x200) {
            map38(i, op, d);
        } else {
            map3a(i, op, d);
        }
    }

    /** Element {@code k} of width {@code bits} (zero-extended) of a vector held as 64-bit lanes. */
    private static long el(long[] v, int k, int bits) {
        int bit = k * bits;
        long m = bits == 64 ? -1L : (1L << bits) - 1;
        return (v[bit >>> 6] >>> (bit & 63)) & m;
    }

    private static void put(long[] v, int k, int bits, long e) {
        int bit = k * bits;
        long m = bits == 64 ? -1L : (1L << bits) - 1;
        v[bit >>> 6] = (v[bit >>> 6] & ~(m << (bit & 63))) | (e & m) << (bit & 63);
    }

    private static long sx(long e, int bits) { return e << (64 - bits) >> (64 - bits); }

    /** 64 bits of the little-endian bit string {@code v} from bit {@code bit}; zeros past its end. */
    private static long bits64(long[] v, int bit) {
        int w = bit >>> 6, o = bit & 63;
        if (w >= v.length) return 0;
        long lo = v[w], hi = w + 1 < v.length ? v[w + 1] : 0;
        return o == 0 ? lo : lo >>> o | hi << (64 - o);
    }

    /** Eight bytes of pshufb xmm: each selector byte picks a byte of a1:a0, or zero when its bit 7 is set. */
    private static long shuffleBytes(long a0, long a1, long sel) {
        long r = 0;
        for (int k = 0; k < 64; k += 8) {
            int s = (int) (sel >>> k);
            if ((s & 0x80) == 0) r |= (((s & 8) == 0 ? a0 : a1) >>> ((s & 7) * 8) & 0xff) << k;
        }
        return r;
    }

    /** 64 bits from bit {@code bit} of the 256-bit value w3:w2:w1:w0; zeros past its end. */
    private static long bits256(long w0, long w1, long w2, long w3, int bit) {
        if (bit >= 256) return 0;
        int w = bit >>> 6, o = bit & 63;
        long lo = w == 0 ? w0 : w == 1 ? w1 : w == 2 ? w2 : w3;
        long hi = w == 0 ? w1 : w == 1 ? w2 : w == 2 ? w3 : 0;
        return o == 0 ? lo : lo >>> o | hi << (64 - o);
    }

    /** SSSE3 on one (MMX) or two (XMM) 64-bit lanes: {@code a} is the destination operand, {@code b} the source. */
    private static long[] ssse3(int op, long[] a, long[] b, int imm) {
        int n = a.length;
        long[] r = new long[n];
        switch (op) {
            case 0x100 -> { // pshufb: index bit 7 zeroes, the index is taken modulo the width
                int nb = 8 * n;
                for (int k = 0; k < nb; k++) {
                    int sel = (int) el(b, k, 8);
                    if ((sel & 0x80) == 0) put(r, k, 8, el(a, sel & (nb - 1), 8));
                }
            }
            case 0x101, 0x102, 0x103, 0x105, 0x106, 0x107 -> { // phadd/phsub w, d, sw: destination pairs first
                int bits = op == 0x102 || op == 0x106 ? 32 : 16;
                int half = n * 32 / bits;
                for (int k = 0; k < half; k++) {
                    put(r, k, bits, horizontal(op, el(a, 2 * k, bits), el(a, 2 * k + 1, bits)));
                    put(r, half + k, bits, horizontal(op, el(b, 2 * k, bits), el(b, 2 * k + 1, bits)));
                }
            }
            case 0x104 -> { // pmaddubsw: unsigned bytes of the destination times signed bytes of the source
                for (int k = 0; k < 4 * n; k++) {
                    long v = el(a, 2 * k, 8) * (byte) el(b, 2 * k, 8) + el(a, 2 * k + 1, 8) * (byte) el(b, 2 * k + 1, 8);
                    put(r, k, 16, clamp(v, -32768, 32767));
                }
            }
            case 0x108, 0x109, 0x10a -> { // psignb/w/d
                int bits = 8 << (op - 0x108);
                for (int k = 0; k < 64 * n / bits; k++) {
                    long sb = sx(el(b, k, bits), bits), e = el(a, k, bits);
                    put(r, k, bits, sb < 0 ? -e : sb == 0 ? 0 : e);
                }
            }
            case 0x10b -> { // pmulhrsw: rounded high half of the doubled product
                for (int k = 0; k < 4 * n; k++) {
                    long v = (long) (short) el(a, k, 16) * (short) el(b, k, 16);
                    put(r, k, 16, ((v >> 14) + 1) >> 1);
                }
            }
            case 0x11c, 0x11d, 0x11e -> { // pabsb/w/d (of the source only)
                int bits = 8 << (op - 0x11c);
                for (int k = 0; k < 64 * n / bits; k++) put(r, k, bits, Math.abs(sx(el(b, k, bits), bits)));
            }
            default -> { // palignr: destination:source shifted right by imm bytes
                long[] cat = new long[2 * n];
                System.arraycopy(b, 0, cat, 0, n);
                System.arraycopy(a, 0, cat, n, n);
                for (int k = 0; k < n; k++) r[k] = bits64(cat, imm * 8 + 64 * k);
            }
        }
        return r;
    }

    private static long horizontal(int op, long p, long q) {
        return switch (op) {
            case 0x101, 0x102 -> p + q;
            case 0x105, 0x106 -> p - q;
            case 0x103 -> clamp((short) p + (short) q, -32768, 32767);
            default -> clamp((short) p - (short) q, -32768, 32767);
        };
    }

    /** High bit of each element of width {@code bits} spread over the element (the blendv masks). */
    private static long signMask(long v, int bits) {
        return switch (bits) {
            case 8 -> ((v & HIGH_80) >>> 7) * 0xff;
            case 32 -> ((v & 0x8000000080000000L) >>> 31) * 0xffffffffL;
            default -> v >> 63;
        };
    }

    /** Mask of the elements of width {@code bits} selected by the low bits of {@code imm}, for one 64-bit lane. */
    private static long immMask(int imm, int bits) {
        long m = 0, e = bits == 64 ? -1L : (1L << bits) - 1;
        for (int k = 0; k < 64 / bits; k++) if ((imm >>> k & 1) != 0) m |= e << (k * bits);
        return m;
    }

    /** 66 0F 38: SSE4.1 and PCMPGTQ (SSE4.2). */
    private void map38(Insn i, int op, int d) {
        switch (op) {
            case 0x110, 0x114, 0x115 -> { // pblendvb, blendvps, blendvpd: the mask is the implicit XMM0
                load128(i, true);
                int bits = op == 0x110 ? 8 : op == 0x114 ? 32 : 64;
                long m0 = signMask(x[0], bits), m1 = signMask(x[1], bits);
                x[d] = (x[d] & ~m0) | (srcLo & m0);
                x[d + 1] = (x[d + 1] & ~m1) | (srcHi & m1);
            }
            case 0x117 -> { // ptest: ZF if dst AND src is zero, CF if (NOT dst) AND src is zero; others cleared
                load128(i, true);
                long f = ((x[d] & srcLo) | (x[d + 1] & srcHi)) == 0 ? CpuState.ZF : 0;
                if (((~x[d] & srcLo) | (~x[d + 1] & srcHi)) == 0) f |= CpuState.CF;
                s.setArith(f);
            }
            case 0x120, 0x121, 0x122, 0x123, 0x124, 0x125, 0x130, 0x131, 0x132, 0x133, 0x134, 0x135 -> extend(i, op, d);
            case 0x128 -> { // pmuldq: signed, even dwords
                load128(i, true);
                x[d] = (long) (int) x[d] * (int) srcLo;
                x[d + 1] = (long) (int) x[d + 1] * (int) srcHi;
            }
            case 0x129 -> { load128(i, true); x[d] = x[d] == srcLo ? -1L : 0; x[d + 1] = x[d + 1] == srcHi ? -1L : 0; }   // pcmpeqq
            case 0x12a -> { // movntdqa: memory only
                if (i.rm >= 0) throw CpuException.ud();
                load128(i, true);
                x[d] = srcLo;
                x[d + 1] = srcHi;
            }
            case 0x12b -> { // packusdw
                load128(i, true);
                x[d] = pack(x[d], x[d + 1], 32, false);
                x[d + 1] = pack(srcLo, srcHi, 32, false);
            }
            case 0x137 -> { load128(i, true); x[d] = x[d] > srcLo ? -1L : 0; x[d + 1] = x[d + 1] > srcHi ? -1L : 0; }   // pcmpgtq
            case 0x138, 0x139, 0x13a, 0x13b, 0x13c, 0x13d, 0x13e, 0x13f, 0x140 -> {
                load128(i, true);
                x[d] = minMax(op, x[d], srcLo);
                x[d + 1] = minMax(op, x[d + 1], srcHi);
            }
            case 0x141 -> { // phminposuw: the first smallest unsigned word and its index
                load128(i, true);
                long[] v = {srcLo, srcHi};
                long min = el(v, 0, 16);
                int at = 0;
                for (int k = 1; k < 8; k++) {
                    long e = el(v, k, 16);
                    if (e < min) { min = e; at = k; }
                }
                x[d] = min | (long) at << 16;
                x[d + 1] = 0;
            }
            default -> throw CpuException.ud();
        }
    }

    private static long minMax(int op, long a, long b) {
        return switch (op) {
            case 0x138 -> each(a, b, 8, (p, q) -> Math.min((byte) p, (byte) q));
            case 0x139 -> each(a, b, 32, (p, q) -> Math.min((int) p, (int) q));
            case 0x13a -> each(a, b, 16, Math::min);
            case 0x13b -> each(a, b, 32, Math::min);
            case 0x13c -> each(a, b, 8, (p, q) -> Math.max((byte) p, (byte) q));
            case 0x13d -> each(a, b, 32, (p, q) -> Math.max((int) p, (int) q));
            case 0x13e -> each(a, b, 16, Math::max);
            case 0x13f -> each(a, b, 32, Math::max);
            default -> each(a, b, 32, (p, q) -> p * q);   // pmulld: low half of the product
        };
    }

    /** pmovsx (66 0F 38 2x) and pmovzx (3x): bw, bd, bq, wd, wq, dq; the source is the low 16, 32 or 64 bits. */
    private void extend(Insn i, int op, int d) {
        int kind = op & 0xf;
        int from = kind <= 2 ? 8 : kind <= 4 ? 16 : 32;
        int to = kind == 0 ? 16 : kind == 1 || kind == 3 ? 32 : 64;
        int count = 128 / to;
        long v = i.rm >= 0 ? x[2 * i.rm] : cpu.m.read(cpu.lin(i), count * from / 8);
        long[] r = new long[2];
        for (int k = 0; k < count; k++) {
            long e = (v >>> (k * from)) & ((1L << from) - 1);
            put(r, k, to, op < 0x130 ? sx(e, from) : e);
        }
        x[d] = r[0];
        x[d + 1] = r[1];
    }

    /** 66 0F 3A: SSE4.1 and the SSE4.2 string comparisons (PALIGNR is with SSSE3). */
    private void map3a(Insn i, int op, int d) {
        int imm = (int) i.imm & 0xff;
        boolean rexW = (i.prefixes & Insn.REXW) != 0;
        switch (op) {
            case 0x208, 0x209 -> { // roundps, roundpd
                load128(i, true);
                x[d] = op == 0x208 ? roundFloat(srcLo, imm) | roundFloat(srcLo >>> 32, imm) << 32 : roundDouble(srcLo, imm);
                x[d + 1] = op == 0x208 ? roundFloat(srcHi, imm) | roundFloat(srcHi >>> 32, imm) << 32 : roundDouble(srcHi, imm);
            }
            case 0x20a -> x[d] = (x[d] & 0xffffffff00000000L) | roundFloat(load32(i), imm);   // roundss
            case 0x20b -> x[d] = roundDouble(load64(i), imm);                                  // roundsd
            case 0x20c, 0x20d, 0x20e -> { // blendps, blendpd, pblendw: imm selects source elements
                load128(i, true);
                int bits = op == 0x20c ? 32 : op == 0x20d ? 64 : 16;
                int per = 64 / bits;
                long m0 = immMask(imm, bits), m1 = immMask(imm >>> per, bits);
                x[d] = (x[d] & ~m0) | (srcLo & m0);
                x[d + 1] = (x[d + 1] & ~m1) | (srcHi & m1);
            }
            case 0x214, 0x215, 0x216, 0x217 -> { // pextrb, pextrw, pextrd/q, extractps: to a GPR (zero-extended) or memory
                int bits = op == 0x214 ? 8 : op == 0x215 ? 16 : op == 0x216 && rexW ? 64 : 32;
                long v = el(new long[] {x[d], x[d + 1]}, imm & (128 / bits - 1), bits);
                if (i.rm >= 0) cpu.setReg(i.rm, bits == 64 ? 8 : 4, v);
                else cpu.m.write(cpu.lin(i), bits / 8, v);
            }
            case 0x220, 0x222 -> { // pinsrb, pinsrd/q
                int bits = op == 0x220 ? 8 : rexW ? 64 : 32;
                long v = i.rm >= 0 ? cpu.getReg(i.rm, 8) : cpu.m.read(cpu.lin(i), bits / 8);
                long[] r = {x[d], x[d + 1]};
                put(r, imm & (128 / bits - 1), bits, v);
                x[d] = r[0];
                x[d + 1] = r[1];
            }
            case 0x221 -> { // insertps: source element imm[7:6] (register form) into imm[5:4], then zero mask imm[3:0]
                long v = i.rm >= 0 ? el(new long[] {x[2 * i.rm], x[2 * i.rm + 1]}, imm >>> 6, 32) : load32(i);
                long[] r = {x[d], x[d + 1]};
                put(r, (imm >>> 4) & 3, 32, v);
                for (int k = 0; k < 4; k++) if ((imm >>> k & 1) != 0) put(r, k, 32, 0);
                x[d] = r[0];
                x[d + 1] = r[1];
            }
            case 0x240 -> { // dpps: products selected by imm[7:4], summed pairwise, stored where imm[3:0] says
                load128(i, true);
                float[] t = new float[4];
                long[] a = {x[d], x[d + 1]}, b = {srcLo, srcHi};
                for (int k = 0; k < 4; k++) {
                    t[k] = (imm >>> (4 + k) & 1) == 0 ? 0f
                            : Float.intBitsToFloat((int) el(a, k, 32)) * Float.intBitsToFloat((int) el(b, k, 32));
                }
                long sum = Float.floatToRawIntBits((t[0] + t[1]) + (t[2] + t[3])) & 0xffffffffL;
                long[] r = new long[2];
                for (int k = 0; k < 4; k++) if ((imm >>> k & 1) != 0) put(r, k, 32, sum);
                x[d] = r[0];
                x[d + 1] = r[1];
            }
            case 0x241 -> { // dppd
                load128(i, true);
                double t0 = (imm & 0x10) == 0 ? 0.0 : Double.longBitsToDouble(x[d]) * Double.longBitsToDouble(srcLo);
                double t1 = (imm & 0x20) == 0 ? 0.0 : Double.longBitsToDouble(x[d + 1]) * Double.longBitsToDouble(srcHi);
                long sum = Double.doubleToRawLongBits(t0 + t1);
                x[d] = (imm & 1) != 0 ? sum : 0;
                x[d + 1] = (imm & 2) != 0 ? sum : 0;
            }
            case 0x242 -> { // mpsadbw: eight sums of absolute differences of overlapping 4-byte blocks
                load128(i, true);
                long[] a = {x[d], x[d + 1]}, b = {srcLo, srcHi}, r = new long[2];
                int off1 = (imm & 4) != 0 ? 4 : 0, off2 = (imm & 3) * 4;
                for (int k = 0; k < 8; k++) {
                    long sum = 0;
                    for (int j = 0; j < 4; j++) sum += Math.abs(el(a, off1 + k + j, 8) - el(b, off2 + j, 8));
                    put(r, k, 16, sum);
                }
                x[d] = r[0];
                x[d + 1] = r[1];
            }
            case 0x260, 0x261, 0x262, 0x263 -> stringCompare(i, op, d, imm, rexW);
            default -> throw CpuException.ud();
        }
    }

    /** Rounding for ROUNDxx: imm[1:0], or MXCSR.RC when imm[2] is set; imm[3] (suppress inexact) has no effect here. */
    private double roundTo(double v, int imm) {
        int mode = (imm & 4) != 0 ? (s.mxcsr >>> 13) & 3 : imm & 3;
        return switch (mode) {
            case 0 -> Math.rint(v);
            case 1 -> Math.floor(v);
            case 2 -> Math.ceil(v);
            default -> v < 0 ? Math.ceil(v) : Math.floor(v);
        };
    }

    /** The low 32 bits of {@code bits} rounded as a float; a NaN comes back quieted, as the hardware returns it. */
    private long roundFloat(long bits, int imm) {
        float f = Float.intBitsToFloat((int) bits);
        if (Float.isNaN(f)) return (bits | 0x400000) & 0xffffffffL;
        return Float.floatToRawIntBits((float) roundTo(f, imm)) & 0xffffffffL;   // exact: integers of a float fit a double
    }

    private long roundDouble(long bits, int imm) {
        double v = Double.longBitsToDouble(bits);
        if (Double.isNaN(v)) return bits | 0x8000000000000L;
        return Double.doubleToRawLongBits(roundTo(v, imm));
    }

    // ------------------------------------------------------------------ SSE4.2 string comparisons

    /**
     * PCMPESTRM (60), PCMPESTRI (61), PCMPISTRM (62), PCMPISTRI (63), after the SDM's "Packed Comparison String
     * Instructions": imm[1:0] element format (unsigned/signed bytes/words), imm[3:2] aggregation, imm[5:4] polarity,
     * imm[6] most significant index or byte/word mask. The first operand (xmm1) is the set, range list or needle;
     * the second (xmm2/m128, never alignment-checked) the text. Lengths are |EAX|/|EDX| (RAX/RDX with REX.W)
     * saturated to the element count, or up to the first zero element.
     */
    private void stringCompare(Insn i, int op, int d, int imm, boolean rexW) {
        load128(i, false);
        boolean words = (imm & 1) != 0, signed = (imm & 2) != 0;
        int bits = words ? 16 : 8, n = words ? 8 : 16;
        long[] a = {x[d], x[d + 1]}, b = {srcLo, srcHi};
        int[] ea = new int[n], eb = new int[n];
        for (int k = 0; k < n; k++) {
            ea[k] = (int) (signed ? sx(el(a, k, bits), bits) : el(a, k, bits));
            eb[k] = (int) (signed ? sx(el(b, k, bits), bits) : el(b, k, bits));
        }
        int la, lb;
        if (op <= 0x261) {
            la = explicitLength(cpu.getReg(CpuState.RAX, rexW ? 8 : 4), rexW, n);
            lb = explicitLength(cpu.getReg(CpuState.RDX, rexW ? 8 : 4), rexW, n);
        } else {
            la = implicitLength(ea, n);
            lb = implicitLength(eb, n);
        }
        int res1 = 0;
        switch ((imm >>> 2) & 3) {
            case 0 -> { // equal any: text element j is in the set (invalid elements never match)
                for (int j = 0; j < lb; j++) {
                    for (int k = 0; k < la; k++) if (eb[j] == ea[k]) { res1 |= 1 << j; break; }
                }
            }
            case 1 -> { // ranges: pairs (low, high) of xmm1; an incomplete pair never matches
                for (int j = 0; j < lb; j++) {
                    for (int k = 0; k + 1 < la; k += 2) if (eb[j] >= ea[k] && eb[j] <= ea[k + 1]) { res1 |= 1 << j; break; }
                }
            }
            case 2 -> { // equal each: two invalid elements compare equal, one invalid does not
                for (int j = 0; j < n; j++) {
                    boolean va = j < la, vb = j < lb;
                    if (va && vb ? ea[j] == eb[j] : !va && !vb) res1 |= 1 << j;
                }
            }
            default -> { // equal ordered: the needle starts at j (invalid needle elements match anything)
                for (int j = 0; j < n; j++) {
                    boolean match = true;
                    for (int k = 0; k < la && j + k < n; k++) {
                        if (j + k >= lb || ea[k] != eb[j + k]) { match = false; break; }
                    }
                    if (match) res1 |= 1 << j;
                }
            }
        }
        int res2 = switch ((imm >>> 4) & 3) {
            case 1 -> ~res1 & ((1 << n) - 1);
            case 3 -> res1 ^ ((1 << lb) - 1);   // masked negative: only the valid text elements are inverted
            default -> res1;
        };
        if ((op & 1) != 0) { // index into ECX: the element count if nothing matched
            int index = res2 == 0 ? n : (imm & 0x40) != 0 ? 31 - Integer.numberOfLeadingZeros(res2) : Integer.numberOfTrailingZeros(res2);
            cpu.setReg(CpuState.RCX, 4, index);
        } else if ((imm & 0x40) == 0) { // bit mask into XMM0
            x[0] = res2;
            x[1] = 0;
        } else { // byte/word mask into XMM0
            long[] m = new long[2];
            for (int k = 0; k < n; k++) if ((res2 >>> k & 1) != 0) put(m, k, bits, -1L);
            x[0] = m[0];
            x[1] = m[1];
        }
        long f = 0;
        if (res2 != 0) f |= CpuState.CF;
        if (lb < n) f |= CpuState.ZF;
        if (la < n) f |= CpuState.SF;
        if ((res2 & 1) != 0) f |= CpuState.OF;
        s.setArith(f);   // AF and PF cleared
    }

    private static int explicitLength(long v, boolean wide, int n) {
        long l = wide ? v : (int) v;
        if (l < 0) l = -l;
        return l < 0 || l > n ? n : (int) l;   // l < 0: the most negative value, whose magnitude is large
    }

    private static int implicitLength(int[] e, int n) {
        for (int k = 0; k < n; k++) if (e[k] == 0) return k;
        return n;
    }
}
