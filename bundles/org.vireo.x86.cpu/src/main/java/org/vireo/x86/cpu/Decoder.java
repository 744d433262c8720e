package org.vireo.x86.cpu;

import static org.vireo.x86.cpu.CpuState.NOREG;

/**
 * Decodes one x86 instruction from a byte window into an {@link Insn}. Undefined or unsupported encodings decode
 * to {@link Ops#UD} (the fault happens only if the instruction is reached). Not thread-safe; one per CPU.
 */
final class Decoder {
    static final int MODE16 = 0, MODE32 = 1, MODE64 = 2;

    /** The window ended before the instruction did: the caller supplies the next page or ends the block. */
    static final class Truncated extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Truncated() { super(null, null, false, false); }
    }

    static final Truncated TRUNCATED = new Truncated();

    // Instructions after which a block must end: control flow, or a change to mode, interrupt state or paging.
    private static final boolean[] ENDS_BLOCK = new boolean[Ops.COUNT];

    static {
        int[] enders = {Ops.UD, Ops.GP0, Ops.JMP_REL, Ops.JCC, Ops.CALL_REL, Ops.RET, Ops.JMP_RM, Ops.CALL_RM,
                Ops.JMPF_PTR, Ops.JMPF_M, Ops.CALLF_PTR, Ops.CALLF_M, Ops.RETF, Ops.IRET, Ops.INT, Ops.INT3, Ops.INTO,
                Ops.INT1, Ops.LOOP, Ops.LOOPE, Ops.LOOPNE, Ops.JCXZ, Ops.HLT, Ops.SYSCALL, Ops.SYSRET, Ops.SYSENTER,
                Ops.SYSEXIT, Ops.MOV_CR_R, Ops.WRMSR, Ops.LMSW, Ops.INVLPG, Ops.STI, Ops.POPF, Ops.MOV_SEG_RM,
                Ops.POP_SEG, Ops.CLTS, Ops.LGDT, Ops.LIDT, Ops.LLDT, Ops.LTR, Ops.MOV_DR_R, Ops.SWAPGS, Ops.FXRSTOR,
                Ops.LDS, Ops.LES, Ops.WBINVD, Ops.MWAIT, Ops.BOUND, Ops.CALL64, Ops.RET64};
        for (int op : enders) ENDS_BLOCK[op] = true;
    }

    static boolean endsBlock(Insn i) { return ENDS_BLOCK[i.op]; }

    private byte[] buf;
    private int pos, start, limit;
    private int mode;

    // prefix state of the instruction being decoded
    private int rex;
    private boolean opsizePrefix, addrPrefix;
    private int segOverride;
    private int rep;           // 0, 0xf2 or 0xf3
    private boolean lock;

    Insn decode(byte[] buf, int start, int limit, int mode) {
        this.buf = buf;
        this.pos = start;
        this.start = start;
        this.limit = limit;
        this.mode = mode;
        Insn i = new Insn();
        try {
            decodeInto(i);
        } catch (TooLong e) {
            i = new Insn();
            i.op = Ops.GP0;
            i.len = 15;
            return i;
        }
        i.len = (byte) (pos - start);
        specialise(i, mode);
        return i;
    }

    /**
     * Rewrites the hottest forms into specialised operations (fixed operand size, register or memory known), so
     * the interpreter skips the generic size and operand switches. The specialised forms keep the destination
     * register in {@code reg} and a source register in {@code rm}.
     */
    static void specialise(Insn i, int mode) {
        boolean q = i.size == 8, d = i.size == 4;
        if (!q && !d) return;
        boolean reg = i.rm >= 0;
        boolean m64 = mode == MODE64;
        switch (i.op) {
            case Ops.MOV_R_RM -> i.op = reg ? (q ? Ops.MOV_RR64 : Ops.MOV_RR32) : (q ? Ops.LOAD64 : Ops.LOAD32);
            case Ops.MOV_RM_R -> {
                if (reg) { swap(i); i.op = q ? Ops.MOV_RR64 : Ops.MOV_RR32; }
                else i.op = q ? Ops.STORE64 : Ops.STORE32;
            }
            case Ops.ALU_RM_R -> { if (reg) { swap(i); i.op = q ? Ops.ALU_RR64 : Ops.ALU_RR32; } }
            case Ops.ALU_R_RM -> i.op = reg ? (q ? Ops.ALU_RR64 : Ops.ALU_RR32) : (q ? Ops.ALU_RM64 : Ops.ALU_RM32);
            case Ops.ALU_RM_I -> { if (reg) { i.reg = (byte) (i.rm); i.op = q ? Ops.ALU_RI64 : Ops.ALU_RI32; } }
            case Ops.TEST_RM_R -> { if (reg) i.op = q ? Ops.TEST_RR64 : Ops.TEST_RR32; }
            case Ops.LEA -> { if (q) i.op = Ops.LEA64; }
            case Ops.PUSH_R -> { if (q && m64) i.op = Ops.PUSH64; }
            case Ops.POP_R -> { if (q && m64) i.op = Ops.POP64; }
            case Ops.CALL_REL -> { if (q && m64) i.op = Ops.CALL64; }
            case Ops.RET -> { if (q && m64 && i.imm == 0) i.op = Ops.RET64; }
            default -> { }
        }
    }

    private static void swap(Insn i) {
        int t = i.reg;
        i.reg = (byte) (i.rm);
        i.rm = (byte) (t);
    }

    private static final class TooLong extends RuntimeException {
        private static final long serialVersionUID = 1L;

        TooLong() { super(null, null, false, false); }
    }

    private static final TooLong TOO_LONG = new TooLong();

    private int u8() {
        if (pos - start >= 15) throw TOO_LONG;
        if (pos >= limit) throw TRUNCATED;
        return buf[pos++] & 0xff;
    }

    private long s8() { return (byte) u8(); }

    private int u16() { return u8() | u8() << 8; }

    private long s16() { return (short) u16(); }

    private long s32() { return u8() | u8() << 8 | u8() << 16 | u8() << 24; }

    private long u32() { return s32() & 0xffffffffL; }

    private long s64() { return u32() | u32() << 32; }

    /** Immediate of the operand size, 32 bits sign-extended for 64-bit operands. */
    private long immZ(int size) {
        return switch (size) {
            case 1 -> u8();
            case 2 -> u16();
            default -> s32() & CpuState.MASK[size == 8 ? 3 : 2];
        };
    }

    private static int szi(int size) { return Integer.numberOfTrailingZeros(size); }

    private void setSize(Insn i, int size) {
        i.size = (byte) (size);
        i.szi = (byte) (szi(size));
    }

    private void decodeInto(Insn i) {
        rex = 0;
        opsizePrefix = false;
        addrPrefix = false;
        segOverride = -1;
        rep = 0;
        lock = false;
        int b;
        prefixes:
        while (true) {
            b = u8();
            switch (b) {
                case 0x66 -> opsizePrefix = true;
                case 0x67 -> addrPrefix = true;
                case 0x26 -> segOverride = CpuState.ES;
                case 0x2e -> segOverride = CpuState.CS;
                case 0x36 -> segOverride = CpuState.SS;
                case 0x3e -> segOverride = CpuState.DS;
                case 0x64 -> segOverride = CpuState.FS;
                case 0x65 -> segOverride = CpuState.GS;
                case 0xf0 -> lock = true;
                case 0xf2, 0xf3 -> rep = b;
                default -> {
                    if (mode == MODE64 && (b & 0xf0) == 0x40) {
                        rex = b;
                        b = u8();
                        if ((b & 0xf0) == 0x40) { // a second REX: the first is ignored
                            pos--;
                            continue;
                        }
                        if (isLegacyPrefix(b)) { // a legacy prefix after REX cancels the REX
                            rex = 0;
                            pos--;
                            continue;
                        }
                    }
                    break prefixes;
                }
            }
            rex = 0;
        }
        int addrSize = mode == MODE64 ? (addrPrefix ? 4 : 8) : mode == MODE32 ? (addrPrefix ? 2 : 4) : (addrPrefix ? 4 : 2);
        i.addrSize = (byte) (addrSize);
        i.addrMask = addrSize == 8 ? -1L : addrSize == 4 ? 0xffffffffL : 0xffffL;
        i.linMask = mode == MODE64 ? -1L : 0xffffffffL;
        i.seg = (byte) (segFor(CpuState.DS));
        int p = 0;
        if (rep == 0xf3) p |= Insn.REP;
        if (rep == 0xf2) p |= Insn.REPNE;
        if (lock) p |= Insn.LOCK;
        if (opsizePrefix) p |= Insn.OPSIZE;
        if ((rex & 8) != 0) p |= Insn.REXW;
        i.prefixes = (short) (p);
        setSize(i, opSize());
        if (b == 0x0f) {
            twoByte(i, u8());
        } else {
            oneByte(i, b);
        }
    }

    private static boolean isLegacyPrefix(int b) {
        return switch (b) {
            case 0x66, 0x67, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0xf0, 0xf2, 0xf3 -> true;
            default -> false;
        };
    }

    private int opSize() {
        if (mode == MODE64) return (rex & 8) != 0 ? 8 : opsizePrefix ? 2 : 4;
        if (mode == MODE32) return opsizePrefix ? 2 : 4;
        return opsizePrefix ? 4 : 2;
    }

    /** Operand size of stack operations and near branches: 64 bits by default in 64-bit mode. */
    private int stackOpSize() {
        if (mode == MODE64) return opsizePrefix ? 2 : 8;
        return opSize();
    }

    private int segFor(int defaultSeg) {
        int s = segOverride >= 0 ? segOverride : defaultSeg;
        if (mode == MODE64 && s != CpuState.FS && s != CpuState.GS) return CpuState.SEG_FLAT;
        return s;
    }

    private int byteReg(int r) {
        // Without REX, byte registers 4..7 are AH, CH, DH, BH.
        if (rex == 0 && r >= 4 && r < 8) return 0x20 | (r - 4);
        return r;
    }

    /** Decodes ModRM (+SIB, displacement) into reg/rm/memory fields; byte-sized operands map AH..BH. */
    private void modrm(Insn i, boolean byteOperands) {
        int m = u8();
        lastModrm = m;
        int mod = m >>> 6;
        regField = (m >>> 3) & 7;
        int reg = regField | (rex & 4) << 1;
        int rmField = m & 7;
        i.reg = (byte) (byteOperands ? byteReg(reg) : reg);
        if (mod == 3) {
            int rm = rmField | (rex & 1) << 3;
            i.rm = (byte) (byteOperands ? byteReg(rm) : rm);
            return;
        }
        i.rm = -1;
        if (i.addrSize == 2) {
            int base = NOREG, index = NOREG;
            boolean ss = false;
            switch (rmField) {
                case 0 -> { base = CpuState.RBX; index = CpuState.RSI; }
                case 1 -> { base = CpuState.RBX; index = CpuState.RDI; }
                case 2 -> { base = CpuState.RBP; index = CpuState.RSI; ss = true; }
                case 3 -> { base = CpuState.RBP; index = CpuState.RDI; ss = true; }
                case 4 -> base = CpuState.RSI;
                case 5 -> base = CpuState.RDI;
                case 6 -> { if (mod != 0) { base = CpuState.RBP; ss = true; } }
                default -> base = CpuState.RBX;
            }
            i.base = (byte) (base);
            i.index = (byte) (index);
            i.scale = 0;
            if (mod == 0 && rmField == 6) i.disp = s16();
            else if (mod == 1) i.disp = s8();
            else if (mod == 2) i.disp = s16();
            i.seg = (byte) (segFor(ss ? CpuState.SS : CpuState.DS));
            return;
        }
        int base, index = NOREG, scale = 0;
        boolean ss = false;
        if (rmField == 4) {
            int sib = u8();
            scale = sib >>> 6;
            int idx = (sib >>> 3) & 7 | (rex & 2) << 2;
            if (idx != 4) index = idx;
            int b = sib & 7;
            if (b == 5 && mod == 0) {
                base = NOREG;
                i.disp = s32();
            } else {
                base = b | (rex & 1) << 3;
                ss = b == 4 || b == 5;
            }
        } else if (rmField == 5 && mod == 0) {
            base = NOREG;
            i.disp = s32();
            if (mode == MODE64) i.ripRel = true;
        } else {
            base = rmField | (rex & 1) << 3;
            ss = rmField == 5;
        }
        if (mod == 1) i.disp = s8();
        else if (mod == 2) i.disp = s32();
        i.base = (byte) (base);
        i.index = (byte) (index);
        i.scale = (byte) (scale);
        i.seg = (byte) (segFor(ss ? CpuState.SS : CpuState.DS));
    }

    private int lastModrm;
    /** ModRM.reg of the last ModRM byte, without REX.R: the opcode extension of group instructions. */
    private int regField;

    private void ud(Insn i) { i.op = Ops.UD; }

    private boolean no64(Insn i) {
        if (mode == MODE64) { ud(i); return true; }
        return false;
    }

    private void oneByte(Insn i, int b) {
        if (b < 0x40 && (b & 7) < 6) { // the eight ALU operations, six forms each
            int form = b & 7;
            i.sub = (short) (b >>> 3);
            switch (form) {
                case 0 -> { setSize(i, 1); modrm(i, true); i.op = Ops.ALU_RM_R; }
                case 1 -> { modrm(i, false); i.op = Ops.ALU_RM_R; }
                case 2 -> { setSize(i, 1); modrm(i, true); i.op = Ops.ALU_R_RM; }
                case 3 -> { modrm(i, false); i.op = Ops.ALU_R_RM; }
                case 4 -> { setSize(i, 1); i.rm = 0; i.imm = u8(); i.op = Ops.ALU_RM_I; }
                default -> { i.rm = 0; i.imm = immZ(i.size); i.op = Ops.ALU_RM_I; }
            }
            return;
        }
        switch (b) {
            case 0x06, 0x0e, 0x16, 0x1e -> { if (!no64(i)) { i.op = Ops.PUSH_SEG; i.sub = (short) (b >>> 3); } }
            case 0x07, 0x17, 0x1f -> { if (!no64(i)) { i.op = Ops.POP_SEG; i.sub = (short) (b >>> 3); } }
            case 0x27 -> { if (!no64(i)) i.op = Ops.DAA; }
            case 0x2f -> { if (!no64(i)) i.op = Ops.DAS; }
            case 0x37 -> { if (!no64(i)) i.op = Ops.AAA; }
            case 0x3f -> { if (!no64(i)) i.op = Ops.AAS; }
            case 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47 -> { i.op = Ops.INC; i.rm = (byte) (b & 7); }
            case 0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f -> { i.op = Ops.DEC; i.rm = (byte) (b & 7); }
            case 0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57 -> {
                i.op = Ops.PUSH_R; i.reg = (byte) ((b & 7) | (rex & 1) << 3); setSize(i, stackOpSize());
            }
            case 0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f -> {
                i.op = Ops.POP_R; i.reg = (byte) ((b & 7) | (rex & 1) << 3); setSize(i, stackOpSize());
            }
            case 0x60 -> { if (!no64(i)) i.op = Ops.PUSHA; }
            case 0x61 -> { if (!no64(i)) i.op = Ops.POPA; }
            case 0x62 -> { if (!no64(i)) { modrm(i, false); i.op = i.rm >= 0 ? Ops.UD : Ops.BOUND; } }
            case 0x63 -> {
                if (mode == MODE64) { modrm(i, false); i.op = Ops.MOVSX; i.size2 = 4; }
                else { setSize(i, 2); modrm(i, false); i.op = Ops.ARPL; }
            }
            case 0x68 -> { i.op = Ops.PUSH_I; setSize(i, stackOpSize()); i.imm = i.size == 2 ? u16() : i.size == 4 ? u32() : s32(); }
            case 0x6a -> { i.op = Ops.PUSH_I; setSize(i, stackOpSize()); i.imm = s8() & CpuState.MASK[i.szi]; }
            case 0x69 -> { modrm(i, false); i.op = Ops.IMUL_R_RM_I; i.imm = immZ(i.size); }
            case 0x6b -> { modrm(i, false); i.op = Ops.IMUL_R_RM_I; i.imm = s8() & CpuState.MASK[i.szi]; }
            case 0x6c -> stringOp(i, Ops.INS, 1);
            case 0x6d -> stringOp(i, Ops.INS, Math.min(i.size, 4));
            case 0x6e -> stringOp(i, Ops.OUTS, 1);
            case 0x6f -> stringOp(i, Ops.OUTS, Math.min(i.size, 4));
            case 0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x7b, 0x7c, 0x7d, 0x7e, 0x7f -> {
                i.op = Ops.JCC; i.sub = (short) (b & 15); i.imm = s8(); setSize(i, stackOpSize());
            }
            case 0x80, 0x82 -> {
                if (b == 0x82 && no64(i)) return;
                setSize(i, 1); modrm(i, true); i.op = Ops.ALU_RM_I; i.sub = (short) (regField); i.imm = u8();
            }
            case 0x81 -> { modrm(i, false); i.op = Ops.ALU_RM_I; i.sub = (short) (regField); i.imm = immZ(i.size); }
            case 0x83 -> { modrm(i, false); i.op = Ops.ALU_RM_I; i.sub = (short) (regField); i.imm = s8() & CpuState.MASK[i.szi]; }
            case 0x84 -> { setSize(i, 1); modrm(i, true); i.op = Ops.TEST_RM_R; }
            case 0x85 -> { modrm(i, false); i.op = Ops.TEST_RM_R; }
            case 0x86 -> { setSize(i, 1); modrm(i, true); i.op = Ops.XCHG; }
            case 0x87 -> { modrm(i, false); i.op = Ops.XCHG; }
            case 0x88 -> { setSize(i, 1); modrm(i, true); i.op = Ops.MOV_RM_R; }
            case 0x89 -> { modrm(i, false); i.op = Ops.MOV_RM_R; }
            case 0x8a -> { setSize(i, 1); modrm(i, true); i.op = Ops.MOV_R_RM; }
            case 0x8b -> { modrm(i, false); i.op = Ops.MOV_R_RM; }
            case 0x8c -> {
                modrm(i, false); i.op = Ops.MOV_RM_SEG; i.sub = (short) (regField);
                if (i.rm < 0) setSize(i, 2);
                if (i.sub > 5) ud(i);
            }
            case 0x8d -> { modrm(i, false); i.op = i.rm >= 0 ? Ops.UD : Ops.LEA; }
            case 0x8e -> {
                setSize(i, 2); modrm(i, false); i.op = Ops.MOV_SEG_RM; i.sub = (short) (regField);
                if (i.sub == CpuState.CS || i.sub > 5) ud(i);
            }
            case 0x8f -> { setSize(i, stackOpSize()); modrm(i, false); i.op = (regField) == 0 ? Ops.POP_RM : Ops.UD; }
            case 0x90 -> {
                if ((rex & 1) != 0) { i.op = Ops.XCHG; i.rm = 8; i.reg = 0; }
                else i.op = rep == 0xf3 ? Ops.PAUSE : Ops.NOP;
            }
            case 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97 -> { i.op = Ops.XCHG; i.rm = (byte) ((b & 7) | (rex & 1) << 3); i.reg = 0; }
            case 0x98 -> i.op = Ops.CBW;
            case 0x99 -> i.op = Ops.CWD;
            case 0x9a -> {
                if (no64(i)) return;
                i.op = Ops.CALLF_PTR; i.imm = i.size == 2 ? u16() : u32(); i.imm2 = u16();
            }
            case 0x9b -> i.op = Ops.FWAIT;
            case 0x9c -> { i.op = Ops.PUSHF; setSize(i, stackOpSize()); }
            case 0x9d -> { i.op = Ops.POPF; setSize(i, stackOpSize()); }
            case 0x9e -> i.op = Ops.SAHF;
            case 0x9f -> i.op = Ops.LAHF;
            case 0xa0, 0xa1, 0xa2, 0xa3 -> {
                if ((b & 1) == 0) setSize(i, 1);
                i.op = b < 0xa2 ? Ops.MOV_R_RM : Ops.MOV_RM_R;
                i.reg = 0;
                i.rm = -1;
                i.disp = i.addrSize == 8 ? s64() : i.addrSize == 4 ? u32() : u16();
                i.seg = (byte) (segFor(CpuState.DS));
            }
            case 0xa4 -> stringOp(i, Ops.MOVS, 1);
            case 0xa5 -> stringOp(i, Ops.MOVS, i.size);
            case 0xa6 -> stringOp(i, Ops.CMPS, 1);
            case 0xa7 -> stringOp(i, Ops.CMPS, i.size);
            case 0xa8 -> { setSize(i, 1); i.op = Ops.TEST_RM_I; i.rm = 0; i.imm = u8(); }
            case 0xa9 -> { i.op = Ops.TEST_RM_I; i.rm = 0; i.imm = immZ(i.size); }
            case 0xaa -> stringOp(i, Ops.STOS, 1);
            case 0xab -> stringOp(i, Ops.STOS, i.size);
            case 0xac -> stringOp(i, Ops.LODS, 1);
            case 0xad -> stringOp(i, Ops.LODS, i.size);
            case 0xae -> stringOp(i, Ops.SCAS, 1);
            case 0xaf -> stringOp(i, Ops.SCAS, i.size);
            case 0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7 -> {
                setSize(i, 1); i.op = Ops.MOV_R_I; i.reg = (byte) (byteReg((b & 7) | (rex & 1) << 3)); i.imm = u8();
            }
            case 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf -> {
                i.op = Ops.MOV_R_I; i.reg = (byte) ((b & 7) | (rex & 1) << 3);
                i.imm = i.size == 8 ? s64() : immZ(i.size);
            }
            case 0xc0 -> { setSize(i, 1); modrm(i, true); i.op = Ops.SHIFT_I; i.sub = (short) (regField); i.imm = u8(); }
            case 0xc1 -> { modrm(i, false); i.op = Ops.SHIFT_I; i.sub = (short) (regField); i.imm = u8(); }
            case 0xc2 -> { i.op = Ops.RET; setSize(i, stackOpSize()); i.imm = u16(); }
            case 0xc3 -> { i.op = Ops.RET; setSize(i, stackOpSize()); }
            case 0xc4, 0xc5 -> {
                if (no64(i)) return;
                modrm(i, false);
                i.op = i.rm >= 0 ? Ops.UD : b == 0xc4 ? Ops.LES : Ops.LDS;
            }
            case 0xc6 -> { setSize(i, 1); modrm(i, true); i.op = (regField) == 0 ? Ops.MOV_RM_I : Ops.UD; i.imm = u8(); }
            case 0xc7 -> { modrm(i, false); i.op = (regField) == 0 ? Ops.MOV_RM_I : Ops.UD; i.imm = immZ(i.size); }
            case 0xc8 -> { i.op = Ops.ENTER; setSize(i, stackOpSize()); i.imm = u16(); i.imm2 = u8(); }
            case 0xc9 -> { i.op = Ops.LEAVE; setSize(i, stackOpSize()); }
            case 0xca -> { i.op = Ops.RETF; i.imm = u16(); }
            case 0xcb -> i.op = Ops.RETF;
            case 0xcc -> i.op = Ops.INT3;
            case 0xcd -> { i.op = Ops.INT; i.imm = u8(); }
            case 0xce -> { if (!no64(i)) i.op = Ops.INTO; }
            case 0xcf -> i.op = Ops.IRET;
            case 0xd0 -> { setSize(i, 1); modrm(i, true); i.op = Ops.SHIFT_I; i.sub = (short) (regField); i.imm = 1; }
            case 0xd1 -> { modrm(i, false); i.op = Ops.SHIFT_I; i.sub = (short) (regField); i.imm = 1; }
            case 0xd2 -> { setSize(i, 1); modrm(i, true); i.op = Ops.SHIFT_CL; i.sub = (short) (regField); }
            case 0xd3 -> { modrm(i, false); i.op = Ops.SHIFT_CL; i.sub = (short) (regField); }
            case 0xd4 -> { if (!no64(i)) { i.op = Ops.AAM; i.imm = u8(); } }
            case 0xd5 -> { if (!no64(i)) { i.op = Ops.AAD; i.imm = u8(); } }
            case 0xd6 -> { if (!no64(i)) i.op = Ops.SALC; }
            case 0xd7 -> { i.op = Ops.XLAT; setSize(i, 1); }
            case 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf -> {
                modrm(i, false);
                i.op = Ops.X87;
                i.sub = (short) ((b & 7) << 8 | lastModrm);
            }
            case 0xe0 -> { i.op = Ops.LOOPNE; i.imm = s8(); setSize(i, stackOpSize()); }
            case 0xe1 -> { i.op = Ops.LOOPE; i.imm = s8(); setSize(i, stackOpSize()); }
            case 0xe2 -> { i.op = Ops.LOOP; i.imm = s8(); setSize(i, stackOpSize()); }
            case 0xe3 -> { i.op = Ops.JCXZ; i.imm = s8(); setSize(i, stackOpSize()); }
            case 0xe4 -> { setSize(i, 1); i.op = Ops.IN_I; i.imm = u8(); }
            case 0xe5 -> { setSize(i, Math.min(i.size, 4)); i.op = Ops.IN_I; i.imm = u8(); }
            case 0xe6 -> { setSize(i, 1); i.op = Ops.OUT_I; i.imm = u8(); }
            case 0xe7 -> { setSize(i, Math.min(i.size, 4)); i.op = Ops.OUT_I; i.imm = u8(); }
            case 0xe8 -> { i.op = Ops.CALL_REL; setSize(i, stackOpSize()); i.imm = i.size == 2 ? s16() : s32(); }
            case 0xe9 -> { i.op = Ops.JMP_REL; setSize(i, stackOpSize()); i.imm = i.size == 2 ? s16() : s32(); }
            case 0xea -> {
                if (no64(i)) return;
                i.op = Ops.JMPF_PTR; i.imm = i.size == 2 ? u16() : u32(); i.imm2 = u16();
            }
            case 0xeb -> { i.op = Ops.JMP_REL; setSize(i, stackOpSize()); i.imm = s8(); }
            case 0xec -> { setSize(i, 1); i.op = Ops.IN_DX; }
            case 0xed -> { setSize(i, Math.min(i.size, 4)); i.op = Ops.IN_DX; }
            case 0xee -> { setSize(i, 1); i.op = Ops.OUT_DX; }
            case 0xef -> { setSize(i, Math.min(i.size, 4)); i.op = Ops.OUT_DX; }
            case 0xf1 -> i.op = Ops.INT1;
            case 0xf4 -> i.op = Ops.HLT;
            case 0xf5 -> i.op = Ops.CMC;
            case 0xf6, 0xf7 -> {
                if (b == 0xf6) setSize(i, 1);
                modrm(i, b == 0xf6);
                switch (regField) {
                    case 0, 1 -> { i.op = Ops.TEST_RM_I; i.imm = b == 0xf6 ? u8() : immZ(i.size); }
                    case 2 -> i.op = Ops.NOT;
                    case 3 -> i.op = Ops.NEG;
                    case 4 -> i.op = Ops.MUL1;
                    case 5 -> i.op = Ops.IMUL1;
                    case 6 -> i.op = Ops.DIV;
                    default -> i.op = Ops.IDIV;
                }
            }
            case 0xf8 -> i.op = Ops.CLC;
            case 0xf9 -> i.op = Ops.STC;
            case 0xfa -> i.op = Ops.CLI;
            case 0xfb -> i.op = Ops.STI;
            case 0xfc -> i.op = Ops.CLD;
            case 0xfd -> i.op = Ops.STD;
            case 0xfe -> {
                setSize(i, 1); modrm(i, true);
                switch (regField) {
                    case 0 -> i.op = Ops.INC;
                    case 1 -> i.op = Ops.DEC;
                    default -> ud(i);
                }
            }
            case 0xff -> {
                modrm(i, false);
                switch (regField) {
                    case 0 -> i.op = Ops.INC;
                    case 1 -> i.op = Ops.DEC;
                    case 2 -> { i.op = Ops.CALL_RM; setSize(i, stackOpSize()); }
                    case 3 -> i.op = i.rm >= 0 ? Ops.UD : Ops.CALLF_M;
                    case 4 -> { i.op = Ops.JMP_RM; setSize(i, stackOpSize()); }
                    case 5 -> i.op = i.rm >= 0 ? Ops.UD : Ops.JMPF_M;
                    case 6 -> { i.op = Ops.PUSH_RM; setSize(i, stackOpSize()); }
                    default -> ud(i);
                }
            }
            default -> ud(i);
        }
    }

    private void stringOp(Insn i, int op, int size) {
        i.op = op;
        setSize(i, size);
        i.seg = (byte) (segFor(CpuState.DS));
        i.sub = (short) (rep == 0xf3 ? 1 : rep == 0xf2 ? 2 : 0);
    }

    private void twoByte(Insn i, int b) {
        switch (b) {
            case 0x00 -> {
                modrm(i, false);
                setSize(i, 2);
                switch (regField) {
                    case 0 -> i.op = Ops.SLDT;
                    case 1 -> i.op = Ops.STR;
                    case 2 -> i.op = Ops.LLDT;
                    case 3 -> i.op = Ops.LTR;
                    case 4 -> i.op = Ops.VERR;
                    case 5 -> i.op = Ops.VERW;
                    default -> ud(i);
                }
                if ((i.op == Ops.SLDT || i.op == Ops.STR) && i.rm >= 0) setSize(i, opSize());
            }
            case 0x01 -> group7(i);
            case 0x02 -> { modrm(i, false); i.op = Ops.LAR; }
            case 0x03 -> { modrm(i, false); i.op = Ops.LSL; }
            case 0x05 -> i.op = mode == MODE64 ? Ops.SYSCALL : Ops.UD;
            case 0x06 -> i.op = Ops.CLTS;
            case 0x07 -> i.op = mode == MODE64 ? Ops.SYSRET : Ops.UD;
            case 0x08, 0x09 -> i.op = Ops.WBINVD;
            case 0x0b -> i.op = Ops.UD;
            case 0x0d -> { modrm(i, false); i.op = i.rm >= 0 ? Ops.UD : Ops.NOP; }
            case 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f -> { modrm(i, false); i.op = Ops.NOP; }
            case 0x20, 0x22 -> {
                int m = u8();
                int cr = (m >>> 3) & 7 | (rex & 4) << 1;
                if (lock && mode != MODE64 && cr == 0) cr = 8; // AMD's alternative encoding of CR8
                i.reg = (byte) (cr);
                i.rm = (byte) (m & 7 | (rex & 1) << 3);
                setSize(i, mode == MODE64 ? 8 : 4);
                i.op = b == 0x20 ? Ops.MOV_R_CR : Ops.MOV_CR_R;
                if (cr != 0 && cr != 2 && cr != 3 && cr != 4 && cr != 8) ud(i);
            }
            case 0x21, 0x23 -> {
                int m = u8();
                i.reg = (byte) ((m >>> 3) & 7);
                i.rm = (byte) (m & 7 | (rex & 1) << 3);
                setSize(i, mode == MODE64 ? 8 : 4);
                i.op = b == 0x21 ? Ops.MOV_R_DR : Ops.MOV_DR_R;
                if ((rex & 4) != 0) ud(i);
            }
            case 0x30 -> i.op = Ops.WRMSR;
            case 0x31 -> i.op = Ops.RDTSC;
            case 0x32 -> i.op = Ops.RDMSR;
            case 0x33 -> i.op = Ops.RDPMC;
            case 0x34 -> i.op = Ops.UD;   // SYSENTER: not advertised (CPUID SEP clear)
            case 0x35 -> i.op = Ops.UD;
            case 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f -> {
                modrm(i, false); i.op = Ops.CMOV; i.sub = (short) (b & 15);
            }
            case 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f -> {
                i.op = Ops.JCC; i.sub = (short) (b & 15); setSize(i, stackOpSize()); i.imm = i.size == 2 ? s16() : s32();
            }
            case 0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f -> {
                setSize(i, 1); modrm(i, true); i.op = Ops.SETCC; i.sub = (short) (b & 15);
            }
            case 0xa0 -> { i.op = Ops.PUSH_SEG; i.sub = CpuState.FS; setSize(i, stackOpSize()); }
            case 0xa1 -> { i.op = Ops.POP_SEG; i.sub = CpuState.FS; setSize(i, stackOpSize()); }
            case 0xa2 -> i.op = Ops.CPUID;
            case 0xa3 -> { modrm(i, false); i.op = Ops.BT_R; i.sub = 0; }
            case 0xa4 -> { modrm(i, false); i.op = Ops.SHLD_I; i.imm = u8(); }
            case 0xa5 -> { modrm(i, false); i.op = Ops.SHLD_CL; }
            case 0xa8 -> { i.op = Ops.PUSH_SEG; i.sub = CpuState.GS; setSize(i, stackOpSize()); }
            case 0xa9 -> { i.op = Ops.POP_SEG; i.sub = CpuState.GS; setSize(i, stackOpSize()); }
            case 0xab -> { modrm(i, false); i.op = Ops.BT_R; i.sub = 1; }
            case 0xac -> { modrm(i, false); i.op = Ops.SHRD_I; i.imm = u8(); }
            case 0xad -> { modrm(i, false); i.op = Ops.SHRD_CL; }
            case 0xae -> group15(i);
            case 0xaf -> { modrm(i, false); i.op = Ops.IMUL_R_RM; }
            case 0xb0 -> { setSize(i, 1); modrm(i, true); i.op = Ops.CMPXCHG; }
            case 0xb1 -> { modrm(i, false); i.op = Ops.CMPXCHG; }
            case 0xb2, 0xb4, 0xb5 -> { modrm(i, false); i.op = Ops.UD; } // LSS/LFS/LGS: not used by the targets
            case 0xb3 -> { modrm(i, false); i.op = Ops.BT_R; i.sub = 2; }
            case 0xb6 -> { modrm(i, false); i.op = Ops.MOVZX; i.size2 = 1; fixByteSource(i); }
            case 0xb7 -> { modrm(i, false); i.op = Ops.MOVZX; i.size2 = 2; }
            case 0xb8 -> { modrm(i, false); i.op = rep == 0xf3 ? Ops.POPCNT : Ops.UD; }   // without F3: JMPE (IA-64 only)
            case 0xb9 -> { modrm(i, false); i.op = Ops.UD; }   // UD1
            case 0xba -> {
                modrm(i, false); i.imm = u8();
                int r = regField;
                if (r < 4) ud(i);
                else { i.op = Ops.BT_I; i.sub = (short) (r - 4); }
            }
            case 0xbb -> { modrm(i, false); i.op = Ops.BT_R; i.sub = 3; }
            case 0xbc -> { modrm(i, false); i.op = Ops.BSF; }   // TZCNT not advertised: F3 0F BC is BSF
            case 0xbd -> { modrm(i, false); i.op = Ops.BSR; }   // LZCNT not advertised: F3 0F BD is BSR
            case 0xbe -> { modrm(i, false); i.op = Ops.MOVSX; i.size2 = 1; fixByteSource(i); }
            case 0xbf -> { modrm(i, false); i.op = Ops.MOVSX; i.size2 = 2; }
            case 0xc0 -> { setSize(i, 1); modrm(i, true); i.op = Ops.XADD; }
            case 0xc1 -> { modrm(i, false); i.op = Ops.XADD; }
            case 0xc3 -> { modrm(i, false); i.op = i.rm >= 0 || rep != 0 ? Ops.UD : Ops.MOV_RM_R; if (i.size == 2) ud(i); }
            case 0xc7 -> {
                modrm(i, false);
                int r = regField;
                if (r == 1 && i.rm < 0) i.op = (rex & 8) != 0 ? Ops.CMPXCHG16B : Ops.CMPXCHG8B;
                else ud(i);  // RDRAND/RDSEED/RDPID not advertised
            }
            case 0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf -> { i.op = Ops.BSWAP; i.reg = (byte) ((b & 7) | (rex & 1) << 3); }
            case 0x77 -> i.op = Ops.EMMS;
            case 0x38 -> {
                int b3 = u8();
                if (b3 == 0xf0 || b3 == 0xf1) crc32(i, b3);
                else sse(i, 0x100 | b3, false);
            }
            case 0x3a -> { int b3 = u8(); sse(i, 0x200 | b3, true); }
            default -> {
                if (isSse(b)) sse(i, b, hasImm8(b));
                else ud(i);
            }
        }
    }

    /** movzx/movsx with a byte source: the source register uses byte-register naming. */
    private void fixByteSource(Insn i) {
        if (i.rm >= 0) i.rm = (byte) (byteReg(i.rm));
    }

    private static boolean isSse(int b) {
        return (b >= 0x10 && b <= 0x17) || (b >= 0x28 && b <= 0x2f) || (b >= 0x50 && b <= 0x7f)
                || (b >= 0xc2 && b <= 0xc6) || b >= 0xd0;
    }

    private static boolean hasImm8(int b) {
        return (b >= 0x70 && b <= 0x73) || b == 0xc2 || b == 0xc4 || b == 0xc5 || b == 0xc6;
    }

    /** SSE/MMX: op SSE with sub = mandatory prefix << 12 | map/opcode; the unit decides what it supports. */
    private void sse(Insn i, int opcode, boolean imm8) {
        modrm(i, false);
        int mp = rep == 0xf3 ? 2 : rep == 0xf2 ? 3 : opsizePrefix ? 1 : 0;
        i.op = Ops.SSE;
        i.sub = (short) (mp << 12 | opcode);
        if (imm8) i.imm = u8();
        if ((rex & 8) != 0) i.prefixes |= Insn.REXW;
    }

    /**
     * F2 0F 38 F0/F1: CRC32 r32/r64, r/m8 (byte-register naming) or r/m16/32/64. Without F2 these are MOVBE,
     * which is not advertised.
     */
    private void crc32(Insn i, int b3) {
        modrm(i, false);
        boolean w = (rex & 8) != 0;
        if (b3 == 0xf0) {
            fixByteSource(i);
            i.size2 = 1;
        } else {
            i.size2 = (byte) (w ? 8 : opsizePrefix ? 2 : 4);
        }
        setSize(i, w ? 8 : 4);
        i.op = rep == 0xf2 ? Ops.CRC32 : Ops.UD;
    }

    private void group7(Insn i) {
        int m = u8();
        pos--;
        if (m >= 0xc0) {
            pos++;
            switch (m) {
                case 0xc8 -> i.op = Ops.MONITOR;
                case 0xc9 -> i.op = Ops.MWAIT;
                case 0xd0 -> i.op = Ops.UD;     // XGETBV: XSAVE not advertised
                case 0xf8 -> i.op = mode == MODE64 ? Ops.SWAPGS : Ops.UD;
                case 0xf9 -> i.op = Ops.RDTSCP;
                default -> {
                    int r = (m >>> 3) & 7;
                    i.rm = (byte) (m & 7 | (rex & 1) << 3);
                    if (r == 4) { i.op = Ops.SMSW; }
                    else if (r == 6) { i.op = Ops.LMSW; setSize(i, 2); }
                    else ud(i);
                }
            }
            return;
        }
        modrm(i, false);
        switch (regField) {
            case 0 -> i.op = Ops.SGDT;
            case 1 -> i.op = Ops.SIDT;
            case 2 -> i.op = Ops.LGDT;
            case 3 -> i.op = Ops.LIDT;
            case 4 -> { i.op = Ops.SMSW; setSize(i, 2); }
            case 6 -> { i.op = Ops.LMSW; setSize(i, 2); }
            case 7 -> i.op = Ops.INVLPG;
            default -> ud(i);
        }
    }

    private void group15(Insn i) {
        int m = u8();
        pos--;
        if (m >= 0xc0) {
            pos++;
            int r = (m >>> 3) & 7;
            if (rep == 0 && (r == 5 || r == 6 || r == 7)) i.op = Ops.FENCE;  // lfence, mfence, sfence
            else ud(i);  // RDFSBASE etc.: FSGSBASE not advertised
            return;
        }
        modrm(i, false);
        if (rep != 0) { ud(i); return; }
        switch (regField) {
            case 0 -> i.op = Ops.FXSAVE;
            case 1 -> i.op = Ops.FXRSTOR;
            case 2 -> i.op = Ops.LDMXCSR;
            case 3 -> i.op = Ops.STMXCSR;
            case 7 -> i.op = opsizePrefix ? Ops.UD : Ops.CLFLUSH;
            default -> ud(i);   // XSAVE family not advertised
        }
    }
}
