package org.vireo.x86.cpu;

/**
 * The architectural state of one x86-64 CPU. The interpreter works on the package-private fields directly; the
 * public accessors are for loaders, debuggers and tests. Setting control registers, EFER or segments through
 * the accessors marks the state so the CPU re-derives its mode and flushes its TLB before it runs again.
 *
 * <p>Arithmetic flags are lazy: instructions record the operation, operands and result ({@code ccOp},
 * {@code ccSrc1}, {@code ccSrc2}, {@code ccDst}) and the six status flags are computed only when read.
 */
public final class CpuState {
    public static final int RAX = 0, RCX = 1, RDX = 2, RBX = 3, RSP = 4, RBP = 5, RSI = 6, RDI = 7;
    public static final int R8 = 8, R9 = 9, R10 = 10, R11 = 11, R12 = 12, R13 = 13, R14 = 14, R15 = 15;
    public static final int ES = 0, CS = 1, SS = 2, DS = 3, FS = 4, GS = 5;
    /** Internal: a segment with base 0, what 64-bit mode uses for ES/CS/SS/DS. */
    static final int SEG_FLAT = 6, LDTR = 7, TR = 8;
    /** Internal: the register index that always reads 0 (an absent base or index in an address). */
    static final int NOREG = 16;

    public static final long CF = 1, PF = 1 << 2, AF = 1 << 4, ZF = 1 << 6, SF = 1 << 7, TF = 1 << 8, IF = 1 << 9,
            DF = 1 << 10, OF = 1 << 11, IOPL = 3 << 12, NT = 1 << 14, RF = 1 << 16, VM = 1 << 17, AC = 1 << 18,
            VIF = 1 << 19, VIP = 1 << 20, ID = 1 << 21;
    static final long ARITH = CF | PF | AF | ZF | SF | OF;
    /** Flags software can change at CPL 0 (others read as fixed values). */
    static final long WRITABLE_FLAGS = ARITH | TF | IF | DF | IOPL | NT | RF | AC | ID;

    public static final long CR0_PE = 1, CR0_MP = 2, CR0_EM = 4, CR0_TS = 8, CR0_ET = 16, CR0_NE = 32,
            CR0_WP = 1L << 16, CR0_AM = 1L << 18, CR0_NW = 1L << 29, CR0_CD = 1L << 30, CR0_PG = 1L << 31;
    public static final long CR4_VME = 1, CR4_PVI = 2, CR4_TSD = 4, CR4_DE = 8, CR4_PSE = 16, CR4_PAE = 32,
            CR4_MCE = 64, CR4_PGE = 128, CR4_PCE = 256, CR4_OSFXSR = 512, CR4_OSXMMEXCPT = 1024;
    public static final long EFER_SCE = 1, EFER_LME = 1 << 8, EFER_LMA = 1 << 10, EFER_NXE = 1 << 11;

    // ---- lazy flags: ccOp = kind << 2 | size index (0: 8 bit, 1: 16, 2: 32, 3: 64) ----
    static final int CC_EAGER = 0;          // the six flags are in ccSrc1
    static final int K_ADD = 1, K_ADC = 2, K_SUB = 3, K_SBB = 4, K_LOGIC = 5, K_INC = 6, K_DEC = 7;
    static final long[] MASK = {0xffL, 0xffffL, 0xffffffffL, -1L};
    static final long[] SIGN = {0x80L, 0x8000L, 0x80000000L, Long.MIN_VALUE};
    static final int[] SHIFT = {56, 48, 32, 0};

    final long[] r = new long[17];
    long rip;
    /** RFLAGS without the six arithmetic flags (bit 1 always set). */
    long flags = 2;
    int ccOp = CC_EAGER;
    long ccDst, ccSrc1, ccSrc2;

    final int[] sel = new int[9];
    final long[] segBase = new long[9];
    final int[] segLimit = new int[9];
    final int[] segAttr = new int[9];

    long cr0 = CR0_ET, cr2, cr3, cr4, cr8;
    long efer;
    long gdtBase, idtBase;
    int gdtLimit = 0xffff, idtLimit = 0xffff;
    final long[] dr = new long[8];

    // MSRs
    long star, lstar, cstar, sfmask, kernelGsBase, tscAux;
    long sysenterCs, sysenterEsp, sysenterEip;
    long pat = 0x0007040600070406L;
    long miscEnable = 1;           // fast strings
    long tscOffset;                // guest TSC = host-derived counter + tscOffset
    long mtrrDefType;

    // SSE
    final long[] xmm = new long[32];   // xmm[2n] = low quadword of XMMn, xmm[2n+1] = high
    int mxcsr = 0x1f80;

    // x87: registers by physical index; value = 64-bit significand and 16-bit sign+exponent (80-bit format)
    final long[] fpMant = new long[8];
    final int[] fpExp = new int[8];
    int fpTop, fsw, fcw = 0x37f, ftw = 0xffff;   // ftw: 2 bits per register, 11 = empty
    int fop;
    long fip, fdp;

    /** Set by the public setters: the CPU must re-derive mode, CPL and TLB before running. */
    boolean externallyModified = true;

    CpuState() {
    }

    // ------------------------------------------------------------------ public accessors

    public long gpr(int index) { return r[index]; }

    public void setGpr(int index, long value) {
        if (index < 0 || index > 15) throw new IllegalArgumentException("no register " + index);
        r[index] = value;
    }

    public long rip() { return rip; }

    public void setRip(long value) { rip = value; }

    public long rflags() { return flags | arithFlags(); }

    public void setRflags(long value) {
        loadFlags(value);
        externallyModified = true;
    }

    public Segment segment(int index) {
        if (index < 0 || index > 5) throw new IllegalArgumentException("no segment register " + index);
        return seg(index);
    }

    public void setSegment(int index, Segment s) {
        if (index < 0 || index > 5) throw new IllegalArgumentException("no segment register " + index);
        putSeg(index, s);
        externallyModified = true;
    }

    public Segment ldtr() { return seg(LDTR); }

    public void setLdtr(Segment s) { putSeg(LDTR, s); }

    public Segment tr() { return seg(TR); }

    public void setTr(Segment s) { putSeg(TR, s); }

    public DescriptorTable gdtr() { return new DescriptorTable(gdtBase, gdtLimit); }

    public void setGdtr(DescriptorTable t) { gdtBase = t.base(); gdtLimit = t.limit() & 0xffff; }

    public DescriptorTable idtr() { return new DescriptorTable(idtBase, idtLimit); }

    public void setIdtr(DescriptorTable t) { idtBase = t.base(); idtLimit = t.limit() & 0xffff; }

    public long cr0() { return cr0; }

    public void setCr0(long v) { cr0 = v | CR0_ET; externallyModified = true; }

    public long cr2() { return cr2; }

    public void setCr2(long v) { cr2 = v; }

    public long cr3() { return cr3; }

    public void setCr3(long v) { cr3 = v; externallyModified = true; }

    public long cr4() { return cr4; }

    public void setCr4(long v) { cr4 = v; externallyModified = true; }

    public long cr8() { return cr8; }

    public void setCr8(long v) { cr8 = v & 15; }

    public long efer() { return efer; }

    /** Sets EFER as a loader would; LMA is taken as given (set it with LME when entering in long mode). */
    public void setEfer(long v) { efer = v; externallyModified = true; }

    public long dr(int index) { return dr[index]; }

    public long xmmLow(int index) { return xmm[2 * index]; }

    public long xmmHigh(int index) { return xmm[2 * index + 1]; }

    public void setXmm(int index, long low, long high) { xmm[2 * index] = low; xmm[2 * index + 1] = high; }

    public int mxcsr() { return mxcsr; }

    public long fsBase() { return segBase[FS]; }

    public long gsBase() { return segBase[GS]; }

    public long kernelGsBase() { return kernelGsBase; }

    /** Current privilege level (CS.RPL in protected mode). */
    public int cpl() {
        if ((cr0 & CR0_PE) == 0) return 0;
        return sel[CS] & 3;
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder();
        String[] names = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"};
        for (int i = 0; i < 16; i++) b.append(String.format("%s=%016x%s", names[i], r[i], i % 4 == 3 ? "\n" : " "));
        b.append(String.format("rip=%016x rflags=%08x cs=%04x ss=%04x cr0=%x cr3=%x cr4=%x efer=%x",
                rip, rflags(), sel[CS], sel[SS], cr0, cr3, cr4, efer));
        return b.toString();
    }

    // ------------------------------------------------------------------ internals

    Segment seg(int i) { return new Segment(sel[i], segBase[i], segLimit[i], segAttr[i]); }

    void putSeg(int i, Segment s) {
        sel[i] = s.selector() & 0xffff;
        segBase[i] = s.base();
        segLimit[i] = s.limit();
        segAttr[i] = s.attributes();
    }

    /** Replaces all of RFLAGS (the caller has applied privilege masks). */
    void loadFlags(long value) {
        flags = (value & ~ARITH & 0x3f7fd5L) | 2;
        ccOp = CC_EAGER;
        ccSrc1 = value & ARITH;
    }

    /** Sets the six arithmetic flags eagerly. */
    void setArith(long f) {
        ccOp = CC_EAGER;
        ccSrc1 = f & ARITH;
    }

    static long parity(long v) {
        return (Integer.bitCount((int) v & 0xff) & 1) == 0 ? PF : 0;
    }

    static long signExtend(long v, int sz) {
        int s = SHIFT[sz];
        return v << s >> s;
    }

    /** PF, ZF and SF of a result of size {@code 1 << szi}. */
    static long resultFlags(long r, int szi) {
        return parity(r) | (r == 0 ? ZF : 0) | ((r & SIGN[szi]) != 0 ? SF : 0);
    }

    /** The flags {@link #shiftValue} computed, for the caller to set once the result is written. */
    long shiftFlagsOut;

    /**
     * ROL, ROR, RCL, RCR, SHL, SHR or SAR ({@code sub} 0-7, as ModRM.reg of C0/C1/D0-D3) of {@code a}, an operand of
     * {@code 1 << szi} bytes, by {@code count} (already masked to 5 or 6 bits, and not 0): returns the result and
     * leaves the new arithmetic flags in {@link #shiftFlagsOut} without setting them (a memory destination must be
     * written first). Shared by the interpreter and compiled regions.
     */
    long shiftValue(long a, int sub, int count, int szi) {
        int bits = 8 << szi;
        long mask = MASK[szi], sign = SIGN[szi];
        long r;
        long f = arithFlags();
        switch (sub) {
            case 0 -> { // ROL
                int c = count & (bits - 1);
                r = c == 0 ? a : ((a << c) | (a >>> (bits - c))) & mask;
                long cf = r & 1;
                f = (f & ~(CF | OF)) | cf | (((r & sign) != 0) != (cf != 0) ? OF : 0);
            }
            case 1 -> { // ROR
                int c = count & (bits - 1);
                r = c == 0 ? a : ((a >>> c) | (a << (bits - c))) & mask;
                boolean msb = (r & sign) != 0, msb2 = (r & (sign >>> 1)) != 0;
                f = (f & ~(CF | OF)) | (msb ? CF : 0) | (msb != msb2 ? OF : 0);
            }
            case 2, 3 -> { // RCL, RCR: through CF, (bits + 1)-bit rotation
                int c = count % (bits + 1);
                if (c == 0) {
                    r = a;
                } else {
                    boolean left = sub == 2;
                    long cf = f & CF;
                    long top = sign;
                    r = a;
                    for (int k = 0; k < c; k++) {
                        long out = left ? ((r & top) != 0 ? 1 : 0) : r & 1;
                        r = left ? ((r << 1) | cf) & mask : (r >>> 1) | (cf != 0 ? top : 0);
                        cf = out;
                    }
                    boolean msb = (r & sign) != 0;
                    boolean of = left ? msb != (cf != 0) : msb != ((r & (sign >>> 1)) != 0);
                    f = (f & ~(CF | OF)) | cf | (of ? OF : 0);
                }
            }
            case 4, 6 -> { // SHL/SAL
                long cf;
                if (szi == 3) {
                    r = a << count;
                    cf = (a >>> (64 - count)) & 1;
                } else {
                    long wide = a << count;
                    r = wide & mask;
                    cf = (wide >>> bits) & 1;
                }
                f = resultFlags(r, szi) | cf | (((r & sign) != 0) != (cf != 0) ? OF : 0);
            }
            case 5 -> { // SHR
                r = a >>> count;
                long cf = (a >>> (count - 1)) & 1;
                f = resultFlags(r, szi) | cf | ((a & sign) != 0 && count == 1 ? OF : 0);
            }
            default -> { // SAR
                long sa = signExtend(a, szi);
                r = (sa >> count) & mask;
                long cf = (sa >> (count - 1)) & 1;
                f = resultFlags(r, szi) | cf;
            }
        }
        shiftFlagsOut = f;
        return r;
    }

    /** {@link #shiftValue} of a register operand, with the flags set at once (compiled regions). */
    long shiftAndSetFlags(long a, int sub, int count, int szi) {
        long r = shiftValue(a, sub, count, szi);
        setArith(shiftFlagsOut);
        return r;
    }

    /** The flags of MUL and IMUL: CF = OF = {@code overflow}; SF, ZF, PF from the low half (as QEMU does). */
    void setMulFlags(boolean overflow, long low, int szi) {
        long f = overflow ? CF | OF : 0;
        setArith(f | resultFlags(low & MASK[szi], szi));
    }

    /** Two- and three-operand IMUL of size {@code 1 << szi} (2, 4 or 8 bytes): the truncated product, flags set. */
    long imul(long a, long b, int szi) {
        if (szi == 3) {
            long hi = Math.multiplyHigh(a, b);
            long lo = a * b;
            setMulFlags(hi != (lo >> 63), lo, 3);
            return lo;
        }
        long p = signExtend(a, szi) * signExtend(b, szi);
        long t = p & MASK[szi];
        setMulFlags(signExtend(t, szi) != p, t, szi);
        return t;
    }

    /** The six arithmetic flags, computed from the lazy record. */
    long arithFlags() {
        return arithFlags(ccOp, ccDst, ccSrc1, ccSrc2);
    }

    /** The six arithmetic flags of lazy record {@code op} with result {@code res} and operands (shared with compiled regions). */
    static long arithFlags(int op, long res, long a, long b) {
        if (op == CC_EAGER) return a;
        int sz = op & 3;
        long m = MASK[sz], sign = SIGN[sz];
        long f = parity(res) | (res == 0 ? ZF : 0) | ((res & sign) != 0 ? SF : 0);
        switch (op >>> 2) {
            case K_ADD -> {
                if (Long.compareUnsigned(res, a) < 0) f |= CF;
                if (((a ^ res) & (b ^ res) & sign) != 0) f |= OF;
                f |= (a ^ b ^ res) & AF;
            }
            case K_ADC -> {
                long cin = (res - a - b) & m;
                if (cin != 0 ? Long.compareUnsigned(res, a) <= 0 : Long.compareUnsigned(res, a) < 0) f |= CF;
                if (((a ^ res) & (b ^ res) & sign) != 0) f |= OF;
                f |= (a ^ b ^ res) & AF;
            }
            case K_SUB -> {
                if (Long.compareUnsigned(a, b) < 0) f |= CF;
                if (((a ^ b) & (a ^ res) & sign) != 0) f |= OF;
                f |= (a ^ b ^ res) & AF;
            }
            case K_SBB -> {
                long cin = (a - b - res) & m;
                if (cin != 0 ? Long.compareUnsigned(a, b) <= 0 : Long.compareUnsigned(a, b) < 0) f |= CF;
                if (((a ^ b) & (a ^ res) & sign) != 0) f |= OF;
                f |= (a ^ b ^ res) & AF;
            }
            case K_LOGIC -> { }
            case K_INC -> {
                f |= b & CF;
                if (res == sign) f |= OF;
                if ((res & 0xf) == 0) f |= AF;
            }
            case K_DEC -> {
                f |= b & CF;
                if (res == (sign - 1 & m)) f |= OF;
                if ((res & 0xf) == 0xf) f |= AF;
            }
            default -> throw new IllegalStateException("bad lazy flag op " + op);
        }
        return f;
    }

    boolean carry() {
        return carry(ccOp, ccDst, ccSrc1, ccSrc2);
    }

    /** CF of lazy record {@code op} (shared with compiled regions). */
    static boolean carry(int op, long dst, long a, long b) {
        switch (op >>> 2) {
            case K_SUB: return Long.compareUnsigned(a, b) < 0;
            case K_LOGIC: return false;
            case K_ADD: return Long.compareUnsigned(dst, a) < 0;
            case K_INC, K_DEC: return (b & CF) != 0;
            case 0: return (a & CF) != 0;
            default: return (arithFlags(op, dst, a, b) & CF) != 0;
        }
    }

    /** Evaluates condition code {@code cc} (0..15: O NO B AE E NE BE A S NS P NP L GE LE G). */
    boolean cond(int cc) {
        return cond(ccOp, ccDst, ccSrc1, ccSrc2, cc);
    }

    /** Condition code {@code cc} of lazy record {@code op} (shared with compiled regions). */
    static boolean cond(int op, long ccDst, long ccSrc1, long ccSrc2, int cc) {
        int kind = op >>> 2;
        boolean t;
        if (kind != 0 && (cc & 0xc) == 4 && (cc & 2) == 0) {
            t = ccDst == 0;                                   // E / NE: every lazy record keeps the result
        } else if (kind != 0 && (cc & 0xe) == 8) {
            t = (ccDst & SIGN[op & 3]) != 0;                  // S / NS
        } else if (kind == K_SUB) {
            int sz = op & 3;
            long a = ccSrc1, b = ccSrc2;
            switch (cc >>> 1) {
                case 1 -> t = Long.compareUnsigned(a, b) < 0;
                case 2 -> t = ccDst == 0;
                case 3 -> t = Long.compareUnsigned(a, b) <= 0;
                case 4 -> t = (ccDst & SIGN[sz]) != 0;
                case 6 -> t = signExtend(a, sz) < signExtend(b, sz);
                case 7 -> t = signExtend(a, sz) <= signExtend(b, sz);
                default -> t = condFromFlags(cc, arithFlags(op, ccDst, a, b));
            }
        } else if (kind == K_LOGIC) {
            long d = ccDst;
            long sign = SIGN[op & 3];
            switch (cc >>> 1) {
                case 0, 1 -> t = false;
                case 2, 3 -> t = d == 0;
                case 4, 6 -> t = (d & sign) != 0;
                case 7 -> t = d == 0 || (d & sign) != 0;
                default -> t = parity(d) != 0;
            }
        } else {
            t = condFromFlags(cc, arithFlags(op, ccDst, ccSrc1, ccSrc2));
        }
        return t ^ ((cc & 1) != 0);
    }

    static boolean condFromFlags(int cc, long f) {
        return switch (cc >>> 1) {
            case 0 -> (f & OF) != 0;
            case 1 -> (f & CF) != 0;
            case 2 -> (f & ZF) != 0;
            case 3 -> (f & (CF | ZF)) != 0;
            case 4 -> (f & SF) != 0;
            case 5 -> (f & PF) != 0;
            case 6 -> ((f & SF) != 0) != ((f & OF) != 0);
            default -> (f & ZF) != 0 || ((f & SF) != 0) != ((f & OF) != 0);
        };
    }
}
