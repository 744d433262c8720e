package org.vireo.x86.cpu;

import static org.vireo.x86.cpu.CpuState.*;

/**
 * Small static helpers that compiled regions call with constant operation, size and condition arguments. Each is
 * short enough for HotSpot to inline, after which the constants fold the switches away; the semantics are those
 * of the interpreter ({@link CpuState#cond}, {@link CpuState#carry}). C2 inlines them; C1 (where regions start) only the smallest.
 */
final class RegionSupport {
    private RegionSupport() {
    }

    /**
     * The result of shift/rotate {@code sub} (0 ROL, 1 ROR, 4/6 SHL, 5 SHR, 7 SAR) of the masked value {@code a} by a
     * nonzero masked {@code count} (what the interpreter's shift computes; compiled regions use it only where the
     * flags it would set are never observed).
     */
    static long shift(long a, int sub, int count, int szi) {
        int bits = 8 << szi;
        long mask = szi == 3 ? -1L : (1L << bits) - 1;
        return switch (sub) {
            case 0 -> { int c = count & (bits - 1); yield c == 0 ? a : ((a << c) | (a >>> (bits - c))) & mask; }
            case 1 -> { int c = count & (bits - 1); yield c == 0 ? a : ((a >>> c) | (a << (bits - c))) & mask; }
            case 4, 6 -> (a << count) & mask;
            case 5 -> a >>> count;
            default -> (signExtend(a, szi) >> count) & mask;
        };
    }

    /** The lazy-flag kind ALU operation {@code sub} records. */
    static int aluKind(int sub) {
        return switch (sub) {
            case 0 -> K_ADD;
            case 2 -> K_ADC;
            case 3 -> K_SBB;
            case 1, 4, 6 -> K_LOGIC;
            default -> K_SUB;
        };
    }

    /** CF (0 or 1) of a lazy record known at translation time. */
    static long carryIn(int op, long dst, long a, long b) {
        return switch (op >>> 2) {
            case K_SUB -> Long.compareUnsigned(a, b) < 0 ? 1 : 0;
            case K_ADD -> Long.compareUnsigned(dst, a) < 0 ? 1 : 0;
            case K_LOGIC -> 0;
            case K_INC, K_DEC -> b & CF;
            default -> CpuState.carry(op, dst, a, b) ? 1 : 0;
        };
    }

    private static long signExtend(long v, int szi) {
        int s = 64 - (8 << szi);
        return v << s >> s;
    }

    /**
     * How a region evaluates {@code cc} for lazy kind {@code kind}: 1 from the result (ZF, SF), 2 from a SUB record's
     * operands, 3 for a logical record (CF = OF = 0), all inline (RegionCompiler.inlineCondition); 0 through CpuState.cond.
     */
    static int condHelper(int kind, int cc) {
        int base = cc >>> 1;
        if (base == 2 || base == 4) return 1;
        if (kind == K_SUB && base != 0 && base != 5) return 2;
        if (kind == K_LOGIC && base != 5) return 3;
        return 0;
    }

    /** Stores a lazy record into the CPU state (what the interpreter's ALU does). */
    static void setFlags(CpuState s, int op, long dst, long a, long b) {
        s.ccOp = op;
        s.ccDst = dst;
        s.ccSrc1 = a;
        s.ccSrc2 = b;
    }
}
