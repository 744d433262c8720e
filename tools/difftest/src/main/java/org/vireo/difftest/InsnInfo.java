package org.vireo.difftest;

/**
 * Just enough decoding of one instruction to compare fairly: which arithmetic flags the architecture leaves
 * undefined for it (Intel SDM, "Flags Affected"), whether it is a REP string instruction (QEMU single-steps those
 * one iteration at a time), and whether its results legitimately differ between two correct CPUs (CPUID, RDTSC,
 * port input...), in which case the reference's registers are copied over instead of compared.
 *
 * @param undefinedFlags  RFLAGS bits not to compare after this instruction
 * @param repString       a REP/REPE/REPNE-prefixed string instruction
 * @param hostDependent   what it reads differs by design (CPU model, time, devices): resync instead of compare
 * @param undefinedResult its destination is architecturally undefined for these operands: resync instead of compare
 * @param halt            HLT
 * @param description     mnemonic-level summary, e.g. "shl 64-bit by cl=65 (masked 1)"
 * @param length          the instruction's length in bytes where it was worked out (string instructions), else -1
 */
public record InsnInfo(long undefinedFlags, boolean repString, boolean hostDependent, boolean undefinedResult,
                       boolean halt, String description, int length) {
    InsnInfo(long undefinedFlags, boolean repString, boolean hostDependent, boolean undefinedResult, boolean halt,
             String description) {
        this(undefinedFlags, repString, hostDependent, undefinedResult, halt, description, -1);
    }

    public static final long CF = 1, PF = 4, AF = 0x10, ZF = 0x40, SF = 0x80, OF = 0x800;
    static final long ALL_ARITH = CF | PF | AF | ZF | SF | OF;

    /**
     * Classifies the instruction in {@code code} (at least its first 15 bytes if available) for code of
     * {@code bits} (16, 32, 64) with the pre-execution registers {@code regs} (for CL shift counts).
     */
    public static InsnInfo classify(byte[] code, int bits, RegisterSet regs) {
        try {
            return new Parser(code, bits, regs).parse();
        } catch (ArrayIndexOutOfBoundsException e) {
            return new InsnInfo(0, false, false, false, false, "(truncated)");
        }
    }

    private static final class Parser {
        final byte[] b;
        final int bits;
        final RegisterSet regs;
        int p;
        boolean opsize, adsize, rep, repne, rexW;
        
        Parser(byte[] b, int bits, RegisterSet regs) {
            this.b = b;
            this.bits = bits;
            this.regs = regs;
        }

        int u8() { return b[p++] & 0xff; }

        static boolean isPrefix(int c) {
            return switch (c) {
                case 0x66, 0x67, 0xf3, 0xf2, 0xf0, 0x2e, 0x36, 0x3e, 0x26, 0x64, 0x65 -> true;
                default -> false;
            };
        }

        InsnInfo parse() {
            // Legacy prefixes.
            while (isPrefix(b[p] & 0xff)) {
                switch (u8()) {
                    case 0x66 -> opsize = true;
                    case 0x67 -> adsize = true;
                    case 0xf3 -> { rep = true; repne = false; }
                    case 0xf2 -> { repne = true; rep = false; }
                    default -> { }   // lock and segment overrides do not matter here
                }
            }
            if (bits == 64 && (b[p] & 0xf0) == 0x40) rexW = (u8() & 8) != 0;
            int op = u8();
            if (op == 0x0f) return twoByte(u8());
            return oneByte(op);
        }

        /** Operand width in bits for a non-byte operation. */
        int opBits() {
            if (rexW) return 64;
            if (bits == 16) return opsize ? 32 : 16;
            return opsize ? 16 : 32;
        }

        /** Skips ModRM, SIB and displacement; returns the ModRM byte. */
        int modrm() {
            int m = u8();
            int mod = m >> 6, rm = m & 7;
            if (mod == 3) return m;
            boolean addr16 = bits == 16 ? !adsize : false;
            if (addr16) {
                if (mod == 1) p += 1;
                else if (mod == 2 || (mod == 0 && rm == 6)) p += 2;
                return m;
            }
            if (rm == 4) {
                int sib = u8();
                if (mod == 0 && (sib & 7) == 5) p += 4;
            }
            if (mod == 1) p += 1;
            else if (mod == 2 || (mod == 0 && rm == 5)) p += 4;
            return m;
        }

        InsnInfo info(long undefined, String what) {
            return new InsnInfo(undefined, false, false, false, false, what);
        }

        InsnInfo oneByte(int op) {
            switch (op) {
                case 0xf4 -> { return new InsnInfo(0, false, false, false, true, "hlt"); }
                case 0xa4, 0xa5, 0xa6, 0xa7, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf, 0x6c, 0x6d, 0x6e, 0x6f -> {
                    boolean input = op == 0x6c || op == 0x6d;
                    return new InsnInfo(0, rep || repne, input, false, false,
                            (rep ? "rep " : repne ? "repne " : "") + "string op " + Integer.toHexString(op), p);
                }
                case 0xe4, 0xe5, 0xec, 0xed -> { if (op < 0xe8) p++; return new InsnInfo(0, false, true, false, false, "in"); }
                case 0x20, 0x21, 0x22, 0x23, 0x08, 0x09, 0x0a, 0x0b, 0x30, 0x31, 0x32, 0x33, 0x84, 0x85 -> {
                    modrm();
                    return info(AF, "logic r/m, r");
                }
                case 0x24, 0x0c, 0x34, 0xa8 -> { p += 1; return info(AF, "logic al, imm8"); }
                case 0x25, 0x0d, 0x35, 0xa9 -> { p += opBits() == 16 ? 2 : 4; return info(AF, "logic eax, imm"); }
                case 0x80, 0x81, 0x83 -> {
                    int m = modrm();
                    int reg = (m >> 3) & 7;
                    p += op == 0x81 ? (opBits() == 16 ? 2 : 4) : 1;
                    boolean logic = reg == 1 || reg == 4 || reg == 6;
                    return info(logic ? AF : 0, "group1 /" + reg);
                }
                case 0xc0, 0xc1, 0xd0, 0xd1, 0xd2, 0xd3 -> { return shift(op); }
                case 0xf6, 0xf7 -> {
                    int m = modrm();
                    int reg = (m >> 3) & 7;
                    switch (reg) {
                        case 0, 1 -> { p += op == 0xf6 ? 1 : opBits() == 16 ? 2 : 4; return info(AF, "test r/m, imm"); }
                        case 4, 5 -> { return info(SF | ZF | AF | PF, reg == 4 ? "mul" : "imul"); }
                        case 6, 7 -> { return info(ALL_ARITH, reg == 6 ? "div" : "idiv"); }
                        default -> { return info(0, reg == 2 ? "not" : "neg"); }
                    }
                }
                case 0x69 -> { modrm(); p += opBits() == 16 ? 2 : 4; return info(SF | ZF | AF | PF, "imul r, r/m, imm"); }
                case 0x6b -> { modrm(); p += 1; return info(SF | ZF | AF | PF, "imul r, r/m, imm8"); }
                default -> { return info(0, String.format("opcode %02x", op)); }
            }
        }

        InsnInfo shift(int op) {
            int m = modrm();
            int reg = (m >> 3) & 7;
            boolean byteOp = (op & 1) == 0;
            int width = byteOp ? 8 : opBits();
            long raw;
            String countText;
            if (op == 0xc0 || op == 0xc1) { raw = u8(); countText = "imm " + raw; }
            else if (op == 0xd0 || op == 0xd1) { raw = 1; countText = "1"; }
            else { raw = regs.gpr(1) & 0xff; countText = "cl=" + raw; }
            int count = (int) (raw & (width == 64 ? 0x3f : 0x1f));
            String[] names = {"rol", "ror", "rcl", "rcr", "shl", "shr", "sal", "sar"};
            String what = names[reg] + " " + width + "-bit by " + countText + (count != raw ? " (masked " + count + ")" : "");
            if (count == 0) return info(0, what);            // flags unchanged: compare all
            long undefined = count == 1 ? 0 : OF;
            if (reg >= 4) {
                undefined |= AF;
                if (count >= width) undefined |= CF;        // 8/16-bit shifts past the width
            }
            return info(undefined, what);
        }

        InsnInfo twoByte(int op) {
            switch (op) {
                case 0xa2 -> { return new InsnInfo(0, false, true, false, false, "cpuid"); }
                case 0x31 -> { return new InsnInfo(0, false, true, false, false, "rdtsc"); }
                case 0x32 -> { return new InsnInfo(0, false, true, false, false, "rdmsr"); }
                case 0x33 -> { return new InsnInfo(0, false, true, false, false, "rdpmc"); }
                case 0x01 -> {
                    int m = b[p] & 0xff;
                    if (m == 0xf9) { p++; return new InsnInfo(0, false, true, false, false, "rdtscp"); }
                    modrm();
                    return info(0, "0f 01 /" + ((m >> 3) & 7));
                }
                case 0xc7 -> {
                    int m = modrm();
                    int reg = (m >> 3) & 7;
                    if ((m >> 6) == 3 && (reg == 6 || reg == 7)) {
                        return new InsnInfo(0, false, true, false, false, reg == 6 ? "rdrand" : "rdseed");
                    }
                    return info(0, "cmpxchg8b/16b");
                }
                case 0xaf -> { modrm(); return info(SF | ZF | AF | PF, "imul r, r/m"); }
                case 0xbc, 0xbd -> { modrm(); return info(CF | OF | SF | AF | PF, op == 0xbc ? "bsf" : "bsr"); }
                case 0xa3, 0xab, 0xb3, 0xbb -> { modrm(); return info(OF | SF | AF | PF, "bt* r/m, r"); }
                case 0xba -> { int m = modrm(); p++; return info(OF | SF | AF | PF, "bt* r/m, imm8 /" + ((m >> 3) & 7)); }
                case 0xa4, 0xa5, 0xac, 0xad -> {
                    int m = modrm();
                    long raw = (op & 1) == 0 ? u8() : regs.gpr(1) & 0xff;
                    int width = opBits();
                    int count = (int) (raw & (width == 64 ? 0x3f : 0x1f));
                    String what = (op < 0xac ? "shld" : "shrd") + " " + width + "-bit by " + raw;
                    if (count == 0) return info(0, what);
                    if (count > width) {
                        // 16-bit operand shifted by more than 16: result and flags undefined.
                        return new InsnInfo(ALL_ARITH, false, false, true, false, what + " (undefined result)");
                    }
                    return info(AF | (count == 1 ? 0 : OF), what);
                }
                default -> { return info(0, String.format("opcode 0f %02x", op)); }
            }
        }
    }
}
