package org.vireo.x86.cpu;

import static org.junit.Assert.assertEquals;
import static org.junit.Assume.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * Differential test of SSE/SSE2 register forms against the host CPU: XMM0-3 and the general registers start
 * with random values (finite floating-point values for FP instructions, so NaN payload rules do not matter),
 * one instruction runs natively and in the emulator, and XMM0-3, the general registers and flags must agree.
 */
public class NativeSseDifferentialTest {
    private static NativeRunner nativeRunner;
    private static TestMachine machine;

    @BeforeClass
    public static void setUp() throws Throwable {
        if (!NativeRunner.available()) return;
        nativeRunner = new NativeRunner();
        machine = new TestMachine();
    }

    @AfterClass
    public static void tearDown() {
        if (nativeRunner != null) nativeRunner.close();
        if (machine != null) machine.close();
    }

    private final Random rnd = new Random(Long.getLong("x86.diff.seed", 0xfeed));

    // Integer SSE2 operations with the 66 prefix, xmm, xmm/m128 (no immediate).
    private static final int[] INT_OPS = {0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d,
            0x74, 0x75, 0x76, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xe1,
            0xe2, 0xe3, 0xe4, 0xe5, 0xe8, 0xe9, 0xea, 0xeb, 0xec, 0xed, 0xee, 0xef, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6,
            0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0x6f, 0x7f, 0x70, 0xd6, 0x10, 0x11, 0x28, 0x29, 0x14, 0x15, 0x54,
            0x55, 0x56, 0x57, 0xc6};
    private static final int[] FP_OPS = {0x51, 0x58, 0x59, 0x5c, 0x5d, 0x5e, 0x5f, 0x5a, 0x5b, 0xe6, 0xc2, 0x2e, 0x2f, 0x10};

    private long floatPair() {
        return (floatBits() & 0xffffffffL) | (long) floatBits() << 32;
    }

    private int floatBits() {
        float[] nice = {0f, -0f, 1f, -1f, 0.5f, 1.5f, 2.5f, -2.5f, 3f, 1e10f, -1e-10f, Float.MIN_VALUE, Float.MAX_VALUE, 1e30f, 65536.5f, 2147483648f};
        float f = rnd.nextBoolean() ? nice[rnd.nextInt(nice.length)] : (float) ((rnd.nextDouble() - 0.5) * Math.pow(10, rnd.nextInt(20) - 10));
        return Float.floatToRawIntBits(f);
    }

    private long doubleBits() {
        double[] nice = {0, -0.0, 1, -1, 0.5, 1.5, 2.5, -2.5, 3, 1e300, -1e-300, Double.MIN_VALUE, 4.9e-320, 9.2e18, -9.3e18, 2147483647.5, 1e10};
        double d = rnd.nextBoolean() ? nice[rnd.nextInt(nice.length)] : (rnd.nextDouble() - 0.5) * Math.pow(10, rnd.nextInt(40) - 20);
        return Double.doubleToRawLongBits(d);
    }

    private record Case(String name, byte[] code, long[] in, long undefinedFlags) {}

    private static byte[] enc(int prefix, boolean rexW, int op, int reg, int rm, int imm) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        if (prefix != 0) b.write(prefix);
        if (rexW) b.write(0x48);
        b.write(0x0f);
        b.write(op);
        b.write(0xc0 | reg << 3 | rm);
        if (imm >= 0) b.write(imm);
        return b.toByteArray();
    }

    private Case generate() {
        long[] in = new long[NativeRunner.LONGS];
        for (int k = 0; k < 16; k++) in[k] = rnd.nextBoolean() ? rnd.nextLong() : rnd.nextInt(512) - 256;
        in[4] = 0;
        in[16] = 0x202 | (rnd.nextLong() & CpuState.ARITH);
        int reg = rnd.nextInt(4), rm = rnd.nextInt(4);
        int kind = rnd.nextInt(10);
        if (kind < 5) {
            for (int k = 18; k < 26; k++) in[k] = rnd.nextInt(3) == 0 ? (rnd.nextInt(3) - 1) * 0x0101010101010101L & rnd.nextLong() : rnd.nextLong();
            int op = INT_OPS[rnd.nextInt(INT_OPS.length)];
            int prefix = 0x66;
            if ((op == 0x6f || op == 0x7f) && rnd.nextBoolean()) prefix = 0xf3;
            if (op == 0x10 || op == 0x11) prefix = new int[] {0, 0x66, 0xf3, 0xf2}[rnd.nextInt(4)];
            if ((op >= 0x54 && op <= 0x57) || op == 0x28 || op == 0x29 || op == 0x14 || op == 0x15 || op == 0xc6) prefix = rnd.nextBoolean() ? 0 : 0x66;
            int imm = -1;
            if (op == 0x70) { imm = rnd.nextInt(256); prefix = new int[] {0x66, 0xf3, 0xf2}[rnd.nextInt(3)]; }
            if (op == 0xc6) imm = rnd.nextInt(256);
            if (op >= 0xd1 && op <= 0xf3 && (op & 0xf) <= 3 && rnd.nextInt(3) == 0) in[18 + 2 * rm] = rnd.nextInt(70);   // useful shift counts
            return new Case(String.format("%02x 0f %02x", prefix, op), enc(prefix, false, op, reg, rm, imm), in, 0);
        }
        if (kind == 5) { // shifts by immediate: 71/72/73
            for (int k = 18; k < 26; k++) in[k] = rnd.nextLong();
            int op = 0x71 + rnd.nextInt(3);
            int ext = op == 0x73 ? new int[] {2, 6, 3, 7}[rnd.nextInt(4)] : new int[] {2, 4, 6}[rnd.nextInt(3)];
            if (op == 0x73 && ext == 4) ext = 2;
            int imm = rnd.nextBoolean() ? rnd.nextInt(20) : rnd.nextInt(256);
            return new Case(String.format("66 0f %02x /%d ib %d", op, ext, imm), enc(0x66, false, op, ext, rm, imm), in, 0);
        }
        if (kind == 6) { // GPR <-> xmm
            for (int k = 18; k < 26; k++) in[k] = rnd.nextLong();
            int form = rnd.nextInt(6);
            int g = new int[] {0, 1, 2, 3, 5, 6, 7}[rnd.nextInt(7)];
            byte[] code = switch (form) {
                case 0 -> enc(0x66, rnd.nextBoolean(), 0x6e, reg, g, -1);
                case 1 -> enc(0x66, rnd.nextBoolean(), 0x7e, reg, g, -1);
                case 2 -> enc(0x66, false, 0xd7, g, rm, -1);
                case 3 -> enc(0x66, false, 0xc4, reg, g, rnd.nextInt(256));
                case 4 -> enc(0x66, false, 0xc5, g, rm, rnd.nextInt(256));
                default -> enc(0xf3, false, 0x7e, reg, rm, -1);
            };
            return new Case("gpr-xmm form " + form, code, in, 0);
        }
        // floating point
        boolean dbl = rnd.nextBoolean();
        for (int k = 18; k < 26; k++) in[k] = dbl ? doubleBits() : floatPair();
        if (kind == 7) { // conversions with GPRs
            int form = rnd.nextInt(3);
            int g = new int[] {0, 1, 2, 3, 5, 6, 7}[rnd.nextInt(7)];
            boolean w = rnd.nextBoolean();
            int prefix = dbl ? 0xf2 : 0xf3;
            byte[] code = switch (form) {
                case 0 -> enc(prefix, w, 0x2a, reg, g, -1);
                case 1 -> enc(prefix, w, 0x2c, g, rm, -1);
                default -> enc(prefix, w, 0x2d, g, rm, -1);
            };
            return new Case(String.format("%02x cvt form %d w=%b", prefix, form, w), code, in, 0);
        }
        int op = FP_OPS[rnd.nextInt(FP_OPS.length)];
        int prefix = new int[] {0, 0x66, 0xf3, 0xf2}[rnd.nextInt(4)];
        if (op == 0x2e || op == 0x2f) prefix = dbl ? 0x66 : 0;
        if (op == 0x5b && prefix == 0xf2) prefix = 0x66;
        if (op == 0xe6 && prefix == 0) prefix = 0xf3;
        if (op == 0x5a || op == 0x5b || op == 0xe6) { // conversions take the other width as input sometimes
            for (int k = 18; k < 26; k++) in[k] = rnd.nextBoolean() ? doubleBits() : floatPair();
            if (op == 0x5b || op == 0xe6) for (int k = 18; k < 26; k++) if (rnd.nextBoolean()) in[k] = rnd.nextLong();
        } else {
            boolean d = prefix == 0x66 || prefix == 0xf2;
            for (int k = 18; k < 26; k++) in[k] = d ? doubleBits() : floatPair();
        }
        int imm = op == 0xc2 ? rnd.nextInt(8) : -1;
        return new Case(String.format("%02x 0f %02x", prefix, op), enc(prefix, false, op, reg, rm, imm), in, 0);
    }

    private void check(Case c) throws Throwable {
        long[] expected = nativeRunner.run(c.code, c.in);
        TestMachine t = machine;
        t.setupLongMode();
        byte[] code = new byte[c.code.length + 1];
        System.arraycopy(c.code, 0, code, 0, c.code.length);
        code[c.code.length] = (byte) 0xf4;
        t.load(TestMachine.CODE, code);
        for (int k = 0; k < 16; k++) if (k != 4) t.s.setGpr(k, c.in[k]);
        t.s.setRflags((c.in[16] & CpuState.ARITH) | 2);
        for (int k = 0; k < 4; k++) t.s.setXmm(k, c.in[18 + 2 * k], c.in[19 + 2 * k]);
        StopReason r = t.cpu.run(100);
        String what = c.name + " [" + HexFormat.of().formatHex(c.code) + "]";
        assertEquals(what + ": stop", StopReason.HALTED, r);
        for (int k = 0; k < 4; k++) {
            assertEquals(what + " xmm" + k + ".lo", Long.toHexString(expected[18 + 2 * k]), Long.toHexString(t.s.xmmLow(k)));
            assertEquals(what + " xmm" + k + ".hi", Long.toHexString(expected[19 + 2 * k]), Long.toHexString(t.s.xmmHigh(k)));
        }
        for (int k = 0; k < 16; k++) if (k != 4) assertEquals(what + " reg " + k, expected[k], t.s.gpr(k));
        long mask = CpuState.ARITH & ~c.undefinedFlags;
        assertEquals(what + " flags", Long.toHexString(expected[16] & mask), Long.toHexString(t.s.rflags() & mask));
    }

    @Test
    public void randomSseInstructionsMatchTheHostCpu() throws Throwable {
        assumeTrue("needs an x86-64 Linux host", nativeRunner != null);
        machine.cpu.configureJit(false, Integer.MAX_VALUE);
        runCases();
    }

    /** The same cases through the block translator (every block compiled on first execution). */
    @Test
    public void randomSseInstructionsMatchTheHostCpuWhenCompiled() throws Throwable {
        assumeTrue("needs an x86-64 Linux host", nativeRunner != null);
        machine.cpu.configureJit(true, 1);
        long before = machine.cpu.compiledBlocks();
        try {
            runCases();
            org.junit.Assert.assertTrue("blocks were compiled", machine.cpu.compiledBlocks() - before > 1000);
        } finally {
            machine.cpu.configureJit(false, Integer.MAX_VALUE);
        }
    }

    private void runCases() throws Throwable {
        List<String> failures = new ArrayList<>();
        for (int n = 0, cases = Integer.getInteger("x86.diff.cases", 20000); n < cases; n++) {
            Case c = generate();
            try {
                check(c);
            } catch (AssertionError e) {
                failures.add(e.getMessage() + " in=" + java.util.Arrays.toString(java.util.Arrays.copyOfRange(c.in, 18, 26)));
                if (failures.size() >= 20) break;
            }
        }
        if (!failures.isEmpty()) throw new AssertionError(failures.size() + " mismatches, first:\n" + String.join("\n", failures));
    }
}
