package org.vireo.x86.cpu;

import static org.vireo.x86.cpu.CpuState.*;

/**
 * Small static helpers that compiled regions call with constant operation, size and condition arguments. Each is
 * short enough for HotSpot to inline, after which the constants fold the switches away; the semantics are those
 * of the interpreter ({@link CpuState#cond}, {@link CpuState#carry}, {@link Interpreter#alu}).
 */
final class RegionSupport {
    private RegionSupport() {
    }

    /** The result of ALU operation {@code sub} (0 ADD, 1 OR, 2 ADC, 3 SBB, 4 AND, 5 SUB, 6 XOR, 7 CMP). */
    static long alu(int sub, long a, long b, long carryIn, long mask) {
        return switch (sub) {
            case 0 -> (a + b) & mask;
            case 1 -> a | b;
            case 2 -> (a + b + carryIn) & mask;
            case 3 -> (a - b - carryIn) & mask;
            case 4 -> a & b;
            case 6 -> a ^ b;
            default -> (a - b) & mask;
        };
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

    private static long sign(int szi) {
        return 1L << ((8 << szi) - 1);
    }

    private static long signExtend(long v, int szi) {
        int s = 64 - (8 << szi);
        return v << s >> s;
    }

    /** E, NE, S, NS of any lazy record (every record keeps its masked result). */
    static boolean condZS(int cc, int szi, long dst) {
        boolean t = (cc >>> 1) == 2 ? dst == 0 : (dst & sign(szi)) != 0;
        return t ^ ((cc & 1) != 0);
    }

    /** Condition {@code cc} after SUB/CMP (all but O/NO and P/NP, which go through {@link CpuState#cond}). */
    static boolean condSub(int cc, int szi, long dst, long a, long b) {
        boolean t = switch (cc >>> 1) {
            case 1 -> Long.compareUnsigned(a, b) < 0;
            case 2 -> dst == 0;
            case 3 -> Long.compareUnsigned(a, b) <= 0;
            case 4 -> (dst & sign(szi)) != 0;
            case 6 -> signExtend(a, szi) < signExtend(b, szi);
            default -> signExtend(a, szi) <= signExtend(b, szi);
        };
        return t ^ ((cc & 1) != 0);
    }

    /** Condition {@code cc} after a logical operation (OF = CF = 0); not P/NP. */
    static boolean condLogic(int cc, int szi, long dst) {
        boolean t = switch (cc >>> 1) {
            case 0, 1 -> false;
            case 2, 3 -> dst == 0;
            case 4, 6 -> (dst & sign(szi)) != 0;
            default -> dst == 0 || (dst & sign(szi)) != 0;
        };
        return t ^ ((cc & 1) != 0);
    }

    /** Which helper evaluates {@code cc} for lazy kind {@code kind}: 1 condZS, 2 condSub, 3 condLogic, 0 CpuState.cond. */
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
