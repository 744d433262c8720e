package org.vireo.x86.cpu;

import static org.vireo.x86.cpu.CpuState.CR0_EM;
import static org.vireo.x86.cpu.CpuState.CR0_TS;

/**
 * The x87 FPU and FXSAVE/FXRSTOR. Registers keep the 80-bit format (so save/restore round-trips exactly);
 * arithmetic is done in double precision, which is what the targets (kernel probing, glibc's fenv and
 * occasional libm use) need. Exceptions are always treated as masked: results follow the masked responses.
 */
final class FpuUnit {
    static final int MXCSR_MASK = 0xffbf;   // no DAZ

    private static final int C0 = 1 << 8, C1 = 1 << 9, C2 = 1 << 10, C3 = 1 << 14;
    private static final int IE = 1, ZE = 4, PE = 0x20;

    private final Interpreter cpu;
    private final CpuState s;

    FpuUnit(Interpreter cpu) {
        this.cpu = cpu;
        this.s = cpu.s;
    }

    void init() {
        s.fcw = 0x37f;
        s.fsw = 0;
        s.fpTop = 0;
        s.ftw = 0xffff;
        s.fop = 0;
        s.fip = 0;
        s.fdp = 0;
    }

    private void checkAvailable() {
        if ((s.cr0 & (CR0_EM | CR0_TS)) != 0) throw CpuException.fault(CpuException.NM);
    }

    void fwait() {
        if ((s.cr0 & (CpuState.CR0_MP | CR0_TS)) == (CpuState.CR0_MP | CR0_TS)) throw CpuException.fault(CpuException.NM);
    }

    void emms() {
        checkAvailable();
        s.ftw = 0xffff;
    }

    int statusWord() { return (s.fsw & ~0x3800) | (s.fpTop & 7) << 11; }

    // ------------------------------------------------------------------ 80-bit <-> double

    static double toDouble(long mant, int se) {
        boolean neg = (se & 0x8000) != 0;
        int e = se & 0x7fff;
        double d;
        if (e == 0 && mant == 0) d = 0;
        else if (e == 0x7fff) d = (mant << 1) == 0 ? Double.POSITIVE_INFINITY : Double.NaN;
        else d = Math.scalb((double) (mant >>> 11), e - 16383 - 52);
        return neg ? -d : d;
    }

    /** Returns {mantissa, sign+exponent} of {@code d} in the 80-bit format. */
    static long[] fromDouble(double d) {
        long bits = Double.doubleToRawLongBits(d);
        int sign = (int) (bits >>> 63) << 15;
        int e = (int) (bits >>> 52) & 0x7ff;
        long frac = bits & 0xfffffffffffffL;
        if (e == 0 && frac == 0) return new long[] {0, sign};
        if (e == 0x7ff) return new long[] {frac == 0 ? 1L << 63 : 0xc000000000000000L | frac << 11, sign | 0x7fff};
        if (e == 0) { // subnormal double: normalise into the wider exponent range
            int shift = Long.numberOfLeadingZeros(frac) - 11;
            frac <<= shift;
            e = 1 - shift;
            frac &= 0xfffffffffffffL;
        }
        return new long[] {1L << 63 | frac << 11, sign | (e - 1023 + 16383)};
    }

    private int phys(int i) { return (s.fpTop + i) & 7; }

    private double st(int i) {
        int p = phys(i);
        return toDouble(s.fpMant[p], s.fpExp[p]);
    }

    private boolean empty(int i) { return ((s.ftw >>> (2 * phys(i))) & 3) == 3; }

    private void setSt(int i, double v) {
        int p = phys(i);
        long[] x = fromDouble(v);
        s.fpMant[p] = x[0];
        s.fpExp[p] = (int) x[1];
        s.ftw &= ~(3 << (2 * p));
    }

    private void push(double v) {
        s.fpTop = (s.fpTop - 1) & 7;
        setSt(0, v);
    }

    private void pushRaw(long mant, int se) {
        s.fpTop = (s.fpTop - 1) & 7;
        int p = phys(0);
        s.fpMant[p] = mant;
        s.fpExp[p] = se;
        s.ftw &= ~(3 << (2 * p));
    }

    private void pop() {
        s.ftw |= 3 << (2 * phys(0));
        s.fpTop = (s.fpTop + 1) & 7;
    }

    private double round(double v) {
        return switch ((s.fcw >>> 10) & 3) {
            case 0 -> Math.rint(v);
            case 1 -> Math.floor(v);
            case 2 -> Math.ceil(v);
            default -> v < 0 ? Math.ceil(v) : Math.floor(v);
        };
    }

    private long toInt(double v, int bytes) {
        double r = round(v);
        long min = bytes == 8 ? Long.MIN_VALUE : -(1L << (8 * bytes - 1));
        if (Double.isNaN(r) || r < min || r > -(double) min - 1) {
            s.fsw |= IE;
            return min;
        }
        return (long) r;
    }

    // ------------------------------------------------------------------ execution

    void exec(Insn i) {
        checkAvailable();
        int opc = i.sub >>> 8;         // 0..7 for D8..DF
        int modrm = i.sub & 0xff;
        int reg = (modrm >>> 3) & 7;
        if (i.rm < 0) memoryForm(i, opc, reg);
        else registerForm(opc, reg, modrm & 7, modrm);
    }

    private void memoryForm(Insn i, int opc, int reg) {
        long a = cpu.lin(i);
        Mmu m = cpu.m;
        switch (opc) {
            case 0, 4, 2, 6 -> { // arithmetic with m32fp (D8), m64fp (DC), m32int (DA), m16int (DE)
                double v = switch (opc) {
                    case 0 -> Float.intBitsToFloat(m.read32(a));
                    case 4 -> Double.longBitsToDouble(m.read64(a));
                    case 2 -> m.read32(a);
                    default -> (short) m.read16(a);
                };
                arith(reg, 0, v, false);
            }
            case 1 -> {
                switch (reg) {
                    case 0 -> push(Float.intBitsToFloat(m.read32(a)));
                    case 2 -> m.write32(a, Float.floatToRawIntBits((float) st(0)));
                    case 3 -> { m.write32(a, Float.floatToRawIntBits((float) st(0))); pop(); }
                    case 4 -> fldenv(a, i);
                    case 5 -> s.fcw = m.read16(a) | 0x40;
                    case 6 -> fnstenv(a, i);
                    case 7 -> m.write16(a, s.fcw);
                    default -> throw CpuException.ud();
                }
            }
            case 3 -> {
                switch (reg) {
                    case 0 -> push(m.read32(a));
                    case 1 -> { m.write32(a, truncInt(st(0), 4)); pop(); }   // FISTTP (SSE3 encoding space)
                    case 2 -> m.write32(a, toInt(st(0), 4));
                    case 3 -> { m.write32(a, toInt(st(0), 4)); pop(); }
                    case 5 -> { long mant = m.read64(a); int se = m.read16(a + 8); pushRaw(mant, se); }
                    case 7 -> { int p = phys(0); m.probeWrite(a, 10); m.write64(a, s.fpMant[p]); m.write16(a + 8, s.fpExp[p]); pop(); }
                    default -> throw CpuException.ud();
                }
            }
            case 5 -> {
                switch (reg) {
                    case 0 -> push(Double.longBitsToDouble(m.read64(a)));
                    case 1 -> { m.write64(a, truncInt(st(0), 8)); pop(); }
                    case 2 -> m.write64(a, Double.doubleToRawLongBits(st(0)));
                    case 3 -> { m.write64(a, Double.doubleToRawLongBits(st(0))); pop(); }
                    case 4 -> frstor(a, i);
                    case 6 -> { fnsave(a, i); }
                    case 7 -> m.write16(a, statusWord());
                    default -> throw CpuException.ud();
                }
            }
            default -> { // 7: DF
                switch (reg) {
                    case 0 -> push((short) m.read16(a));
                    case 1 -> { m.write16(a, truncInt(st(0), 2)); pop(); }
                    case 2 -> m.write16(a, toInt(st(0), 2));
                    case 3 -> { m.write16(a, toInt(st(0), 2)); pop(); }
                    case 5 -> push((double) m.read64(a));
                    case 7 -> { m.write64(a, toInt(st(0), 8)); pop(); }
                    default -> throw CpuException.ud();   // FBLD/FBSTP: packed BCD not implemented
                }
            }
        }
    }

    private long truncInt(double v, int bytes) {
        int saved = s.fcw;
        s.fcw |= 0xc00;
        try {
            return toInt(v, bytes);
        } finally {
            s.fcw = saved;
        }
    }

    /** reg: 0 add, 1 mul, 2 com, 3 comp, 4 sub, 5 subr, 6 div, 7 divr. Operates on ST(dst) and v. */
    private void arith(int reg, int dst, double v, boolean popAfter) {
        double a = st(dst);
        double r;
        switch (reg) {
            case 0 -> r = a + v;
            case 1 -> r = a * v;
            case 2, 3 -> {
                compare(a, v);
                if (reg == 3) pop();
                return;
            }
            case 4 -> r = a - v;
            case 5 -> r = v - a;
            case 6 -> { if (v == 0 && !Double.isNaN(a)) s.fsw |= ZE; r = a / v; }
            default -> { if (a == 0 && !Double.isNaN(v)) s.fsw |= ZE; r = v / a; }
        }
        setSt(dst, r);
        if (popAfter) pop();
    }

    private void compare(double a, double b) {
        s.fsw &= ~(C0 | C2 | C3);
        if (Double.isNaN(a) || Double.isNaN(b)) s.fsw |= C0 | C2 | C3;
        else if (a < b) s.fsw |= C0;
        else if (a == b) s.fsw |= C3;
    }

    private void compareToFlags(double a, double b) {
        long f;
        if (Double.isNaN(a) || Double.isNaN(b)) f = CpuState.ZF | CpuState.PF | CpuState.CF;
        else if (a < b) f = CpuState.CF;
        else if (a == b) f = CpuState.ZF;
        else f = 0;
        s.setArith(f);
    }

    private void registerForm(int opc, int reg, int i, int modrm) {
        switch (opc) {
            case 0 -> arith(reg, 0, st(i), false);
            case 4 -> { // DC: ST(i) = ST(i) op ST0, with SUB/SUBR and DIV/DIVR swapped
                if (reg == 2 || reg == 3) { arith(reg, 0, st(i), false); return; }
                int r = switch (reg) { case 4 -> 5; case 5 -> 4; case 6 -> 7; case 7 -> 6; default -> reg; };
                arith(r, i, st(0), false);
            }
            case 6 -> { // DE: ...P forms
                if (modrm == 0xd9) { compare(st(0), st(1)); pop(); pop(); return; }
                int r = switch (reg) { case 4 -> 5; case 5 -> 4; case 6 -> 7; case 7 -> 6; default -> reg; };
                arith(r, i, st(0), true);
            }
            case 1 -> d9Register(reg, i, modrm);
            case 2 -> {
                if (modrm == 0xe9) { compare(st(0), st(1)); pop(); pop(); return; }   // FUCOMPP
                if (reg < 4) fcmov(reg, i, false);
                else throw CpuException.ud();
            }
            case 3 -> {
                switch (modrm) {
                    case 0xe2 -> s.fsw &= 0x7f00;                    // FNCLEX
                    case 0xe3 -> init();                             // FNINIT
                    case 0xe0, 0xe1, 0xe4 -> { }                     // FENI/FDISI/FSETPM: no-ops
                    default -> {
                        if (reg < 4) fcmov(reg, i, true);
                        else if (reg == 5 || reg == 6) compareToFlags(st(0), st(i));   // FUCOMI/FCOMI
                        else throw CpuException.ud();
                    }
                }
            }
            case 5 -> {
                switch (reg) {
                    case 0 -> s.ftw |= 3 << (2 * phys(i));            // FFREE
                    case 2 -> copy(i);                                // FST ST(i)
                    case 3 -> { copy(i); pop(); }                     // FSTP ST(i)
                    case 4 -> compare(st(0), st(i));                  // FUCOM
                    case 5 -> { compare(st(0), st(i)); pop(); }       // FUCOMP
                    default -> throw CpuException.ud();
                }
            }
            default -> { // DF
                if (modrm == 0xe0) cpu.setReg(CpuState.RAX, 2, statusWord());     // FNSTSW AX
                else if (reg == 5 || reg == 6) { compareToFlags(st(0), st(i)); pop(); }   // FUCOMIP/FCOMIP
                else if (reg == 0) { s.ftw |= 3 << (2 * phys(i)); pop(); }        // FFREEP
                else throw CpuException.ud();
            }
        }
    }

    private void copy(int i) {
        int src = phys(0), dst = phys(i);
        s.fpMant[dst] = s.fpMant[src];
        s.fpExp[dst] = s.fpExp[src];
        s.ftw &= ~(3 << (2 * dst));
    }

    private void fcmov(int cond, int i, boolean negate) {
        boolean t = switch (cond) {
            case 0 -> s.cond(2);    // B
            case 1 -> s.cond(4);    // E
            case 2 -> s.cond(6);    // BE
            default -> s.cond(10);  // U (parity)
        };
        if (t != negate) {
            int src = phys(i), dst = phys(0);
            s.fpMant[dst] = s.fpMant[src];
            s.fpExp[dst] = s.fpExp[src];
        }
    }

    private void d9Register(int reg, int i, int modrm) {
        switch (reg) {
            case 0 -> { int p = phys(i); pushRaw(s.fpMant[p], s.fpExp[p]); }   // FLD ST(i)
            case 1 -> { // FXCH
                int a = phys(0), b = phys(i);
                long m = s.fpMant[a]; int e = s.fpExp[a];
                s.fpMant[a] = s.fpMant[b]; s.fpExp[a] = s.fpExp[b];
                s.fpMant[b] = m; s.fpExp[b] = e;
            }
            case 2 -> { if (modrm != 0xd0) throw CpuException.ud(); }          // FNOP
            default -> {
                double x = st(0);
                switch (modrm) {
                    case 0xe0 -> setSt(0, -x);
                    case 0xe1 -> setSt(0, Math.abs(x));
                    case 0xe4 -> compare(x, 0.0);
                    case 0xe5 -> fxam();
                    case 0xe8 -> push(1.0);
                    case 0xe9 -> push(Math.log(10) / Math.log(2));
                    case 0xea -> push(1 / Math.log(2));
                    case 0xeb -> push(Math.PI);
                    case 0xec -> push(Math.log10(2));
                    case 0xed -> push(Math.log(2));
                    case 0xee -> push(0.0);
                    case 0xf0 -> setSt(0, Math.pow(2, x) - 1);
                    case 0xf1 -> { setSt(1, st(1) * Math.log(x) / Math.log(2)); pop(); }
                    case 0xf2 -> { setSt(0, Math.tan(x)); push(1.0); s.fsw &= ~C2; }
                    case 0xf3 -> { setSt(1, Math.atan2(st(1), x)); pop(); }
                    case 0xf4 -> { // FXTRACT
                        int exp = Math.getExponent(x);
                        setSt(0, exp);
                        push(Math.scalb(x, -exp));
                    }
                    case 0xf5, 0xf8 -> { // FPREM1 / FPREM
                        double y = st(1);
                        double q = modrm == 0xf8 ? (x / y < 0 ? Math.ceil(x / y) : Math.floor(x / y)) : Math.rint(x / y);
                        setSt(0, x - q * y);
                        long qi = (long) Math.abs(q);
                        s.fsw &= ~(C0 | C1 | C2 | C3);
                        if ((qi & 1) != 0) s.fsw |= C1;
                        if ((qi & 2) != 0) s.fsw |= C3;
                        if ((qi & 4) != 0) s.fsw |= C0;
                    }
                    case 0xf6 -> s.fpTop = (s.fpTop - 1) & 7;
                    case 0xf7 -> s.fpTop = (s.fpTop + 1) & 7;
                    case 0xf9 -> { setSt(1, st(1) * Math.log(x + 1) / Math.log(2)); pop(); }
                    case 0xfa -> setSt(0, Math.sqrt(x));
                    case 0xfb -> { setSt(0, Math.sin(x)); push(Math.cos(x)); s.fsw &= ~C2; }
                    case 0xfc -> setSt(0, round(x));
                    case 0xfd -> setSt(0, Math.scalb(x, (int) Math.max(Math.min(st(1) < 0 ? Math.ceil(st(1)) : Math.floor(st(1)), 100000), -100000)));
                    case 0xfe -> { setSt(0, Math.sin(x)); s.fsw &= ~C2; }
                    case 0xff -> { setSt(0, Math.cos(x)); s.fsw &= ~C2; }
                    default -> throw CpuException.ud();
                }
            }
        }
    }

    private void fxam() {
        s.fsw &= ~(C0 | C1 | C2 | C3);
        int p = phys(0);
        if ((s.fpExp[p] & 0x8000) != 0) s.fsw |= C1;
        if (empty(0)) { s.fsw |= C3 | C0; return; }
        int e = s.fpExp[p] & 0x7fff;
        long mant = s.fpMant[p];
        if (e == 0x7fff) s.fsw |= (mant << 1) == 0 ? C2 | C0 : C0;
        else if (e == 0 && mant == 0) s.fsw |= C3;
        else if (e == 0) s.fsw |= C3 | C2;
        else s.fsw |= C2;
    }

    // ------------------------------------------------------------------ environment

    private int fullTagWord() {
        int tw = 0;
        for (int p = 0; p < 8; p++) {
            int t = (s.ftw >>> (2 * p)) & 3;
            if (t != 3) {
                int e = s.fpExp[p] & 0x7fff;
                t = e == 0x7fff ? 2 : (e == 0 && s.fpMant[p] == 0) ? 1 : e == 0 ? 2 : 0;
            }
            tw |= t << (2 * p);
        }
        return tw;
    }

    private void fnstenv(long a, Insn i) {
        Mmu m = cpu.m;
        m.probeWrite(a, 28);
        m.write32(a, s.fcw | 0xffff0000L);
        m.write32(a + 4, statusWord() | 0xffff0000L);
        m.write32(a + 8, fullTagWord() | 0xffff0000L);
        m.write32(a + 12, s.fip);
        m.write32(a + 16, (s.fop & 0x7ff) << 16);
        m.write32(a + 20, s.fdp);
        m.write32(a + 24, 0xffff0000L);
        s.fcw |= 0x3f;   // FNSTENV masks all exceptions
    }

    private void fldenv(long a, Insn i) {
        Mmu m = cpu.m;
        int cw = m.read16(a), sw = m.read16(a + 4), tw = m.read16(a + 8);
        s.fcw = cw | 0x40;
        s.fsw = sw & ~0x3800;
        s.fpTop = (sw >>> 11) & 7;
        s.ftw = tw;
        s.fip = m.read32(a + 12) & 0xffffffffL;
        s.fdp = m.read32(a + 20) & 0xffffffffL;
    }

    private void fnsave(long a, Insn i) {
        cpu.m.probeWrite(a, 108);
        fnstenv(a, i);
        for (int k = 0; k < 8; k++) {
            int p = phys(k);
            cpu.m.write64(a + 28 + 10L * k, s.fpMant[p]);
            cpu.m.write16(a + 36 + 10L * k, s.fpExp[p]);
        }
        init();
    }

    private void frstor(long a, Insn i) {
        fldenv(a, i);
        for (int k = 0; k < 8; k++) {
            int p = phys(k);
            s.fpMant[p] = cpu.m.read64(a + 28 + 10L * k);
            s.fpExp[p] = cpu.m.read16(a + 36 + 10L * k);
        }
    }

    void fxsave(long a, Insn i) {
        checkAvailable();
        if ((a & 15) != 0) throw CpuException.gp(0);
        Mmu m = cpu.m;
        m.probeWrite(a, 512);
        m.write16(a, s.fcw);
        m.write16(a + 2, statusWord());
        int abridged = 0;
        for (int p = 0; p < 8; p++) if (((s.ftw >>> (2 * p)) & 3) != 3) abridged |= 1 << p;
        m.write16(a + 4, abridged);
        m.write16(a + 6, s.fop);
        if ((i.prefixes & Insn.REXW) != 0) {
            m.write64(a + 8, s.fip);
            m.write64(a + 16, s.fdp);
        } else {
            m.write32(a + 8, s.fip);
            m.write32(a + 12, 0);
            m.write32(a + 16, s.fdp);
            m.write32(a + 20, 0);
        }
        m.write32(a + 24, s.mxcsr);
        m.write32(a + 28, MXCSR_MASK);
        for (int k = 0; k < 8; k++) {
            int p = phys(k);
            m.write64(a + 32 + 16L * k, s.fpMant[p]);
            m.write64(a + 40 + 16L * k, s.fpExp[p] & 0xffff);
        }
        int xmmCount = cpu.mode == Decoder.MODE64 ? 16 : 8;
        for (int k = 0; k < xmmCount; k++) {
            m.write64(a + 160 + 16L * k, s.xmm[2 * k]);
            m.write64(a + 168 + 16L * k, s.xmm[2 * k + 1]);
        }
    }

    void fxrstor(long a, Insn i) {
        checkAvailable();
        if ((a & 15) != 0) throw CpuException.gp(0);
        Mmu m = cpu.m;
        int mx = m.read32(a + 24);
        if ((mx & ~MXCSR_MASK) != 0) throw CpuException.gp(0);
        m.read8(a + 511);
        s.fcw = m.read16(a);
        int sw = m.read16(a + 2);
        s.fsw = sw & ~0x3800;
        s.fpTop = (sw >>> 11) & 7;
        int abridged = m.read8(a + 4);
        s.fop = m.read16(a + 6) & 0x7ff;
        if ((i.prefixes & Insn.REXW) != 0) {
            s.fip = m.read64(a + 8);
            s.fdp = m.read64(a + 16);
        } else {
            s.fip = m.read32(a + 8) & 0xffffffffL;
            s.fdp = m.read32(a + 16) & 0xffffffffL;
        }
        s.mxcsr = mx;
        for (int k = 0; k < 8; k++) {
            int p = phys(k);
            s.fpMant[p] = m.read64(a + 32 + 16L * k);
            s.fpExp[p] = m.read16(a + 40 + 16L * k);
        }
        int ftw = 0;
        for (int p = 0; p < 8; p++) if ((abridged & (1 << p)) == 0) ftw |= 3 << (2 * p);
        s.ftw = ftw;
        int xmmCount = cpu.mode == Decoder.MODE64 ? 16 : 8;
        for (int k = 0; k < xmmCount; k++) {
            s.xmm[2 * k] = m.read64(a + 160 + 16L * k);
            s.xmm[2 * k + 1] = m.read64(a + 168 + 16L * k);
        }
    }
}
