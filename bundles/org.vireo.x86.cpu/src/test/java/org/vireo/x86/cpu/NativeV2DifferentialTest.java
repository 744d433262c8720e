package org.vireo.x86.cpu;

import static org.junit.Assert.assertEquals;
import static org.junit.Assume.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.TreeMap;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * Differential test of the x86-64-v2 additions (POPCNT, SSE3, SSSE3 in MMX and XMM forms, SSE4.1, SSE4.2) against
 * the host CPU, in register and memory forms. A memory operand is {@code [base+disp8]} with the base register
 * pointing at a native buffer on the host and at {@link TestMachine#DATA} in the emulator (the buffer's 64 bytes
 * start equal and must end equal). XMM0-3, the general registers, the flags and the buffer must agree.
 */
public class NativeV2DifferentialTest {
    private static NativeRunner nativeRunner;
    private static TestMachine machine;
    private static Arena arena;
    private static MemorySegment buffer;
    /** Data bytes compared after each case; 16 bytes of scratch (MXCSR save/load) follow. */
    private static final int DATA_BYTES = 64;

    @BeforeClass
    public static void setUp() throws Throwable {
        if (!NativeRunner.available()) return;
        nativeRunner = new NativeRunner();
        machine = new TestMachine();
        arena = Arena.ofConfined();
        buffer = arena.allocate(DATA_BYTES + 16, 64);
    }

    @AfterClass
    public static void tearDown() {
        if (nativeRunner != null) nativeRunner.close();
        if (machine != null) machine.close();
        if (arena != null) arena.close();
    }

    private final Random rnd = new Random(Long.getLong("x86.diff.seed", 0x5ee42));

    // operand kinds
    private static final int XX = 0;        // xmm, xmm/m
    private static final int STORE_G = 1;   // r/m (GPR or memory) <- xmm: pextr*, extractps
    private static final int LOAD_G = 2;    // xmm <- r/m (GPR or memory): pinsr*
    private static final int GG = 3;        // GPR <- r/m: popcnt, crc32
    private static final int MMX = 4;       // mm0, mm1/m64 (wrapped in movq from/to GPRs)
    private static final int MEM_ONLY = 5;  // xmm <- m128 only: lddqu, movntdqa
    // input values
    private static final int V_INT = 0, V_FLOAT = 1, V_DOUBLE = 2, V_STRING = 3, V_FEW = 4;
    // REX.W use
    private static final int W_NO = 0, W_YES = 1, W_ANY = 2;

    /**
     * One encoding: mandatory prefix (0 for none), map (0: 0F, 1: 0F 38, 2: 0F 3A), opcode, whether an imm8
     * follows, operand kind, the size of the memory operand (0: register form only), whether it must be 16-byte
     * aligned, the input values and REX.W use.
     */
    private record Form(String name, int prefix, int map, int op, boolean imm, int kind, int memBytes, boolean aligned,
                        int values, int rexW) {}

    private static final List<Form> FORMS = new ArrayList<>();

    private static void xx(String name, int prefix, int map, int op, boolean imm, int memBytes, int values) {
        FORMS.add(new Form(name, prefix, map, op, imm, XX, memBytes, memBytes == 16, values, W_NO));
    }

    static {
        FORMS.add(new Form("popcnt", 0xf3, 0, 0xb8, false, GG, 8, false, V_INT, W_ANY));
        // SSE3
        xx("addsubps", 0xf2, 0, 0xd0, false, 16, V_FLOAT);
        xx("addsubpd", 0x66, 0, 0xd0, false, 16, V_DOUBLE);
        xx("haddps", 0xf2, 0, 0x7c, false, 16, V_FLOAT);
        xx("haddpd", 0x66, 0, 0x7c, false, 16, V_DOUBLE);
        xx("hsubps", 0xf2, 0, 0x7d, false, 16, V_FLOAT);
        xx("hsubpd", 0x66, 0, 0x7d, false, 16, V_DOUBLE);
        xx("movsldup", 0xf3, 0, 0x12, false, 16, V_INT);
        xx("movshdup", 0xf3, 0, 0x16, false, 16, V_INT);
        xx("movddup", 0xf2, 0, 0x12, false, 8, V_INT);
        FORMS.add(new Form("lddqu", 0xf2, 0, 0xf0, false, MEM_ONLY, 16, false, V_INT, W_NO));
        // SSSE3, both forms
        String[] ssse3 = {"pshufb", "phaddw", "phaddd", "phaddsw", "pmaddubsw", "phsubw", "phsubd", "phsubsw",
                "psignb", "psignw", "psignd", "pmulhrsw"};
        for (int k = 0; k < ssse3.length; k++) {
            xx(ssse3[k], 0x66, 1, k, false, 16, V_INT);
            FORMS.add(new Form(ssse3[k] + " mm", 0, 1, k, false, MMX, 8, false, V_INT, W_NO));
        }
        String[] abs = {"pabsb", "pabsw", "pabsd"};
        for (int k = 0; k < abs.length; k++) {
            xx(abs[k], 0x66, 1, 0x1c + k, false, 16, V_INT);
            FORMS.add(new Form(abs[k] + " mm", 0, 1, 0x1c + k, false, MMX, 8, false, V_INT, W_NO));
        }
        xx("palignr", 0x66, 2, 0x0f, true, 16, V_INT);
        FORMS.add(new Form("palignr mm", 0, 2, 0x0f, true, MMX, 8, false, V_INT, W_NO));
        // SSE4.1
        xx("pblendvb", 0x66, 1, 0x10, false, 16, V_INT);
        xx("blendvps", 0x66, 1, 0x14, false, 16, V_INT);
        xx("blendvpd", 0x66, 1, 0x15, false, 16, V_INT);
        xx("ptest", 0x66, 1, 0x17, false, 16, V_FEW);
        String[] ext = {"bw", "bd", "bq", "wd", "wq", "dq"};
        int[] extBytes = {8, 4, 2, 8, 4, 8};
        for (int k = 0; k < 6; k++) {
            xx("pmovsx" + ext[k], 0x66, 1, 0x20 + k, false, extBytes[k], V_INT);
            xx("pmovzx" + ext[k], 0x66, 1, 0x30 + k, false, extBytes[k], V_INT);
        }
        xx("pmuldq", 0x66, 1, 0x28, false, 16, V_INT);
        xx("pcmpeqq", 0x66, 1, 0x29, false, 16, V_FEW);
        FORMS.add(new Form("movntdqa", 0x66, 1, 0x2a, false, MEM_ONLY, 16, true, V_INT, W_NO));
        xx("packusdw", 0x66, 1, 0x2b, false, 16, V_INT);
        String[] minMax = {"pminsb", "pminsd", "pminuw", "pminud", "pmaxsb", "pmaxsd", "pmaxuw", "pmaxud", "pmulld", "phminposuw"};
        for (int k = 0; k < minMax.length; k++) xx(minMax[k], 0x66, 1, 0x38 + k, false, 16, k < 8 ? V_FEW : V_INT);
        xx("roundps", 0x66, 2, 0x08, true, 16, V_FLOAT);
        xx("roundpd", 0x66, 2, 0x09, true, 16, V_DOUBLE);
        xx("roundss", 0x66, 2, 0x0a, true, 4, V_FLOAT);
        xx("roundsd", 0x66, 2, 0x0b, true, 8, V_DOUBLE);
        xx("blendps", 0x66, 2, 0x0c, true, 16, V_INT);
        xx("blendpd", 0x66, 2, 0x0d, true, 16, V_INT);
        xx("pblendw", 0x66, 2, 0x0e, true, 16, V_INT);
        FORMS.add(new Form("pextrb", 0x66, 2, 0x14, true, STORE_G, 1, false, V_INT, W_ANY));
        FORMS.add(new Form("pextrw", 0x66, 2, 0x15, true, STORE_G, 2, false, V_INT, W_ANY));
        FORMS.add(new Form("pextrd/q", 0x66, 2, 0x16, true, STORE_G, 8, false, V_INT, W_ANY));
        FORMS.add(new Form("extractps", 0x66, 2, 0x17, true, STORE_G, 4, false, V_INT, W_ANY));
        FORMS.add(new Form("pinsrb", 0x66, 2, 0x20, true, LOAD_G, 1, false, V_INT, W_NO));
        xx("insertps", 0x66, 2, 0x21, true, 4, V_INT);
        FORMS.add(new Form("pinsrd/q", 0x66, 2, 0x22, true, LOAD_G, 8, false, V_INT, W_ANY));
        xx("dpps", 0x66, 2, 0x40, true, 16, V_FLOAT);
        xx("dppd", 0x66, 2, 0x41, true, 16, V_DOUBLE);
        xx("mpsadbw", 0x66, 2, 0x42, true, 16, V_INT);
        // SSE4.2
        xx("pcmpgtq", 0x66, 1, 0x37, false, 16, V_FEW);
        String[] str = {"pcmpestrm", "pcmpestri", "pcmpistrm", "pcmpistri"};
        for (int k = 0; k < 4; k++) {
            for (int copy = 0; copy < 4; copy++) {   // many modes: give them a larger share
                FORMS.add(new Form(str[k], 0x66, 2, 0x60 + k, true, XX, 16, false, V_STRING, W_ANY));
            }
        }
        FORMS.add(new Form("crc32b", 0xf2, 1, 0xf0, false, GG, 1, false, V_INT, W_ANY));
        FORMS.add(new Form("crc32", 0xf2, 1, 0xf1, false, GG, 8, false, V_INT, W_ANY));
    }

    private long floatPair() {
        return (floatBits() & 0xffffffffL) | (long) floatBits() << 32;
    }

    private int floatBits() {
        float[] nice = {0f, -0f, 1f, -1f, 0.5f, 1.5f, 2.5f, -2.5f, 3f, -3.5f, 1e10f, -1e-10f, Float.MIN_VALUE, 1e30f, 65536.5f, 8388607.5f};
        float f = rnd.nextBoolean() ? nice[rnd.nextInt(nice.length)] : (float) ((rnd.nextDouble() - 0.5) * Math.pow(10, rnd.nextInt(20) - 10));
        return Float.floatToRawIntBits(f);
    }

    private long doubleBits() {
        double[] nice = {0, -0.0, 1, -1, 0.5, 1.5, 2.5, -2.5, 3, -3.5, 1e300, -1e-300, Double.MIN_VALUE, 4.9e-320, 9.2e18, 2147483647.5, 4503599627370495.5};
        double d = rnd.nextBoolean() ? nice[rnd.nextInt(nice.length)] : (rnd.nextDouble() - 0.5) * Math.pow(10, rnd.nextInt(40) - 20);
        return Double.doubleToRawLongBits(d);
    }

    /** Bytes from a small alphabet (so string comparisons find matches), zero with probability {@code zeros}. */
    private long stringBits(double zeros) {
        int[] alphabet = {'a', 'b', 'c', 'A', 0x7f, 0x80, 0xff, 0x01};
        long v = 0;
        for (int k = 0; k < 8; k++) {
            int b = rnd.nextDouble() < zeros ? 0 : rnd.nextInt(8) == 0 ? rnd.nextInt(256) : alphabet[rnd.nextInt(alphabet.length)];
            v |= (long) b << (8 * k);
        }
        return v;
    }

    private long intBits() {
        return switch (rnd.nextInt(5)) {
            case 0 -> (rnd.nextInt(3) - 1) * 0x0101010101010101L & rnd.nextLong();
            case 1 -> rnd.nextInt(512) - 256;
            case 2 -> rnd.nextLong() & 0x8080808080808080L | (rnd.nextInt(3) == 0 ? 0x7f7f7f7f7f7f7f7fL & rnd.nextLong() : 0);
            default -> rnd.nextLong();
        };
    }

    private long value(int kind, double zeros) {
        return switch (kind) {
            case V_FLOAT -> floatPair();
            case V_DOUBLE -> doubleBits();
            case V_STRING -> stringBits(zeros);
            case V_FEW -> new long[] {0, -1, 1, Long.MIN_VALUE, Long.MAX_VALUE, 0x80000000L, 0xff00ff00ff00ff00L, 0x0080ff7f00018000L}[rnd.nextInt(8)]
                    ^ (rnd.nextInt(4) == 0 ? 1L << rnd.nextInt(64) : 0);
            default -> intBits();
        };
    }

    private record Case(String name, byte[] code, long[] in, int base, byte[] mem) {}

    private static final int[] BASES = {CpuState.RBX, CpuState.RSI, CpuState.RBP, 9, 13, 14};

    /** A GPR other than RSP and {@code avoid}; high registers need REX. */
    private int gpr(int avoid, boolean allowHigh) {
        int r;
        do { r = rnd.nextInt(allowHigh ? 16 : 8); } while (r == CpuState.RSP || r == avoid);
        return r;
    }

    private Case generate(Form f) {
        long[] in = new long[NativeRunner.LONGS];
        double zeros = rnd.nextInt(3) == 0 ? 0 : rnd.nextDouble() * 0.2;
        for (int k = 0; k < 16; k++) in[k] = rnd.nextBoolean() ? rnd.nextLong() : rnd.nextInt(512) - 256;
        in[CpuState.RSP] = 0;
        in[16] = 0x202 | (rnd.nextLong() & CpuState.ARITH);
        for (int k = 18; k < 26; k++) in[k] = value(f.values, zeros);
        boolean mem = f.memBytes > 0 && (f.kind == MEM_ONLY || rnd.nextInt(3) == 0);
        int base = mem ? BASES[rnd.nextInt(BASES.length)] : -1;
        byte[] data = null;
        int disp = 0;
        if (mem) {
            data = new byte[DATA_BYTES];
            for (int k = 0; k < DATA_BYTES; k += 8) {
                long v = value(f.values, zeros);
                for (int j = 0; j < 8; j++) data[k + j] = (byte) (v >>> (8 * j));
            }
            disp = f.aligned ? 16 * rnd.nextInt(4) : rnd.nextInt(DATA_BYTES - f.memBytes + 1);
        }
        int imm = -1;
        if (f.imm) imm = f.name.startsWith("palignr") && rnd.nextBoolean() ? rnd.nextInt(34) : rnd.nextInt(256);
        if (f.name.startsWith("pcmpestr")) { // lengths in RAX and RDX: mostly in range, sometimes negative or huge
            for (int r : new int[] {CpuState.RAX, CpuState.RDX}) {
                in[r] = switch (rnd.nextInt(6)) {
                    case 0 -> rnd.nextLong();
                    case 1 -> new long[] {Long.MIN_VALUE, 0x80000000L, 0xffffffff80000000L, 0x100000005L, -16, 17}[rnd.nextInt(6)];
                    default -> rnd.nextInt(41) - 20;
                };
            }
        }
        // ROUNDxx with imm[2] uses MXCSR.RC: sometimes run it between stmxcsr/ldmxcsr that set another mode
        boolean mxcsr = f.name.startsWith("round") && (imm & 4) != 0 && rnd.nextBoolean();
        if (mxcsr && base < 0) base = BASES[rnd.nextInt(BASES.length)];
        if (base >= 0 && data == null) data = new byte[DATA_BYTES];
        if (data != null) data = java.util.Arrays.copyOf(data, DATA_BYTES + 16);
        int rc = rnd.nextInt(4);
        if (mxcsr) {
            int v = 0x1f80 | rc << 13;
            for (int j = 0; j < 4; j++) data[DATA_BYTES + j] = (byte) (v >>> (8 * j));
        }
        boolean w = f.rexW == W_YES || (f.rexW == W_ANY && rnd.nextBoolean());
        boolean emptyRex = rnd.nextInt(8) == 0;   // a REX without bits changes nothing here (but SPL..DIL naming)
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int reg, rm;
        String name = f.name;
        switch (f.kind) {
            case GG -> {
                int size = w ? 8 : rnd.nextBoolean() ? 4 : 2;
                boolean byteSource = f.map == 1 && f.op == 0xf0;
                if (byteSource) size = w ? 8 : 4;
                name += "/" + size;
                if (size == 2) b.write(0x66);
                reg = gpr(base, true);
                rm = mem ? base : byteSource ? rnd.nextInt(16) : gpr(reg, true);
                if (byteSource && rm == 4 && (w || reg >= 8 || emptyRex)) rm = 5;   // SPL would read the (differing) RSP
            }
            case STORE_G, LOAD_G -> {
                reg = rnd.nextInt(4);
                rm = mem ? base : gpr(base, true);
            }
            case MMX -> {
                reg = 0;
                rm = mem ? base : 1;
                in[0] = value(f.values, zeros);
                in[2] = value(f.values, zeros);
                b.writeBytes(new byte[] {0x48, 0x0f, 0x6e, (byte) 0xc0, 0x48, 0x0f, 0x6e, (byte) 0xca});   // movq mm0, rax; movq mm1, rdx
            }
            default -> {
                reg = rnd.nextInt(4);
                rm = mem ? base : rnd.nextInt(4);
            }
        }
        byte[] saveMxcsr = mxcsrOp(3, base, DATA_BYTES + 4), loadMxcsr = mxcsrOp(2, base, DATA_BYTES);
        if (mxcsr) { b.writeBytes(saveMxcsr); b.writeBytes(loadMxcsr); }
        if (f.prefix != 0) b.write(f.prefix);
        int rex = (w ? 8 : 0) | (reg >= 8 ? 4 : 0) | (rm >= 8 ? 1 : 0);
        if (rex != 0 || emptyRex) b.write(0x40 | rex);
        b.write(0x0f);
        if (f.map == 1) b.write(0x38);
        if (f.map == 2) b.write(0x3a);
        b.write(f.op);
        if (mem) {
            b.write(0x40 | (reg & 7) << 3 | (rm & 7));
            b.write(disp);
        } else {
            b.write(0xc0 | (reg & 7) << 3 | (rm & 7));
        }
        if (imm >= 0) b.write(imm);
        if (f.kind == MMX) b.writeBytes(new byte[] {0x48, 0x0f, 0x7e, (byte) 0xc0, 0x0f, 0x77});   // movq rax, mm0; emms
        if (mxcsr) b.writeBytes(mxcsrOp(2, base, DATA_BYTES + 4));
        name += (mem ? " [m+" + disp + "]" : "") + (imm >= 0 ? " imm " + imm : "") + (w ? " w" : "") + (mxcsr ? " rc " + rc : "");
        return new Case(name, b.toByteArray(), in, base, data);
    }

    /** ldmxcsr (ext 2) or stmxcsr (ext 3) [base+disp8]. */
    private static byte[] mxcsrOp(int ext, int base, int disp) {
        if (base < 0) return new byte[0];
        byte[] op = {0x0f, (byte) 0xae, (byte) (0x40 | ext << 3 | (base & 7)), (byte) disp};
        if (base < 8) return op;
        byte[] r = new byte[5];
        r[0] = 0x41;
        System.arraycopy(op, 0, r, 1, 4);
        return r;
    }

    private void check(Case c) throws Throwable {
        long[] in = c.in.clone();
        long nativeBase = buffer.address();
        if (c.mem != null) {
            MemorySegment.copy(c.mem, 0, buffer, ValueLayout.JAVA_BYTE, 0, c.mem.length);
            in[c.base] = nativeBase;
        }
        long[] expected = nativeRunner.run(c.code, in);
        byte[] expectedMem = c.mem == null ? null : buffer.asSlice(0, DATA_BYTES).toArray(ValueLayout.JAVA_BYTE);

        TestMachine t = machine;
        t.setupLongMode();
        byte[] code = new byte[c.code.length + 1];
        System.arraycopy(c.code, 0, code, 0, c.code.length);
        code[c.code.length] = (byte) 0xf4;
        t.load(TestMachine.CODE, code);
        t.cpu.invalidateCode(TestMachine.CODE, code.length);
        for (int k = 0; k < 16; k++) if (k != CpuState.RSP) t.s.setGpr(k, c.in[k]);
        if (c.mem != null) {
            t.s.setGpr(c.base, TestMachine.DATA);
            t.load(TestMachine.DATA, c.mem);
            if (expected[c.base] == nativeBase) expected[c.base] = TestMachine.DATA;
        }
        t.s.setRflags((c.in[16] & CpuState.ARITH) | 2);
        for (int k = 0; k < 4; k++) t.s.setXmm(k, c.in[18 + 2 * k], c.in[19 + 2 * k]);
        StopReason r = t.cpu.run(100);
        String what = c.name + " [" + HexFormat.of().formatHex(c.code) + "]";
        assertEquals(what + ": stop", StopReason.HALTED, r);
        for (int k = 0; k < 4; k++) {
            assertEquals(what + " xmm" + k + ".lo", Long.toHexString(expected[18 + 2 * k]), Long.toHexString(t.s.xmmLow(k)));
            assertEquals(what + " xmm" + k + ".hi", Long.toHexString(expected[19 + 2 * k]), Long.toHexString(t.s.xmmHigh(k)));
        }
        for (int k = 0; k < 16; k++) {
            if (k != CpuState.RSP) assertEquals(what + " reg " + k, Long.toHexString(expected[k]), Long.toHexString(t.s.gpr(k)));
        }
        assertEquals(what + " flags", Long.toHexString(expected[16] & CpuState.ARITH), Long.toHexString(t.s.rflags() & CpuState.ARITH));
        if (c.mem != null) {
            byte[] actual = new byte[DATA_BYTES];
            t.mem.read(TestMachine.DATA, actual, 0, DATA_BYTES);
            assertEquals(what + " memory", HexFormat.of().formatHex(expectedMem), HexFormat.of().formatHex(actual));
        }
    }

    @Test
    public void randomV2InstructionsMatchTheHostCpu() throws Throwable {
        assumeTrue("needs an x86-64 Linux host", nativeRunner != null);
        machine.cpu.configureJit(false, Integer.MAX_VALUE);
        runCases();
    }

    /** The same cases through the block translator (every block compiled on first execution). */
    @Test
    public void randomV2InstructionsMatchTheHostCpuWhenCompiled() throws Throwable {
        assumeTrue("needs an x86-64 Linux host", nativeRunner != null);
        machine.cpu.configureJit(true, 1);
        try {
            runCases();
        } finally {
            machine.cpu.configureJit(false, Integer.MAX_VALUE);
        }
    }

    private void runCases() throws Throwable {
        List<String> failures = new ArrayList<>();
        TreeMap<String, Integer> perForm = new TreeMap<>();
        int cases = Integer.getInteger("x86.diff.cases", 20000);
        for (int n = 0; n < cases; n++) {
            Form f = FORMS.get(n % FORMS.size());   // round robin: every form gets its share
            Case c = generate(f);
            perForm.merge(f.name, 1, Integer::sum);
            try {
                check(c);
            } catch (AssertionError e) {
                failures.add(e.getMessage() + " in=" + java.util.Arrays.toString(java.util.Arrays.copyOfRange(c.in, 16, 26))
                        + " rax/rcx/rdx=" + Long.toHexString(c.in[0]) + "/" + Long.toHexString(c.in[1]) + "/" + Long.toHexString(c.in[2])
                        + (c.mem == null ? "" : " mem=" + HexFormat.of().formatHex(c.mem)));
                if (failures.size() >= 20) break;
            }
        }
        System.out.println("v2 differential cases: " + cases + " over " + perForm.size() + " forms, seed "
                + Long.getLong("x86.diff.seed", 0x5ee42));
        if (!failures.isEmpty()) throw new AssertionError(failures.size() + " mismatches, first:\n" + String.join("\n", failures));
    }
}
