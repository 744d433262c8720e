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
 * Differential test against the host CPU: random register-form integer instructions with random operands and
 * random incoming flags run natively (through {@link NativeRunner}) and in the emulator; all general registers
 * and the defined arithmetic flags must agree. Flags the SDM calls undefined for an instruction are masked.
 * Fixed seeds keep it reproducible; skipped on hosts that are not x86-64 Linux.
 */
public class NativeDifferentialTest {
    private static final long ARITH = CpuState.ARITH;
    private static final long CF = CpuState.CF, PF = CpuState.PF, AF = CpuState.AF, ZF = CpuState.ZF, SF = CpuState.SF, OF = CpuState.OF;
    private static final int[] SIZES = {1, 2, 4, 8};
    private static final long[] INTERESTING = {0, 1, 2, -1, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x7fffffffL,
            0x80000000L, 0xffffffffL, 0x100000000L, Long.MAX_VALUE, Long.MIN_VALUE, 0x8000000000000001L, 31, 32, 63, 64, 15, 16};

    private static final java.io.PrintStream TRACE = traceStream();

    private static java.io.PrintStream traceStream() {
        String f = System.getProperty("x86.diff.trace");
        try { return f == null ? null : new java.io.PrintStream(new java.io.FileOutputStream(f)); } catch (java.io.IOException e) { throw new java.io.UncheckedIOException(e); }
    }

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

    /** One generated test: code, inputs (17 longs), flags whose value is undefined. */
    private record Case(String name, byte[] code, long[] in, long undefined) {}

    private final Random rnd = new Random(Long.getLong("x86.diff.seed", 0x5eed));

    private long value() {
        return switch (rnd.nextInt(4)) {
            case 0 -> INTERESTING[rnd.nextInt(INTERESTING.length)];
            case 1 -> INTERESTING[rnd.nextInt(INTERESTING.length)] ^ (rnd.nextBoolean() ? 0 : 1L << rnd.nextInt(64));
            case 2 -> rnd.nextInt(256) - 128;
            default -> rnd.nextLong();
        };
    }

    private long[] randomInputs() {
        long[] in = new long[17];
        for (int k = 0; k < 16; k++) in[k] = value();
        in[4] = 0;
        in[16] = 0x202 | (rnd.nextLong() & ARITH);
        return in;
    }

    private int anyReg() {
        int r;
        do { r = rnd.nextInt(16); } while (r == 4);
        return r;
    }

    /** Encodes prefix/REX/opcode/ModRM(register form)/immediate. */
    private static byte[] enc(int size, int[] opcode, int reg, int rm, byte[] imm) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        if (size == 2) b.write(0x66);
        int rex = (size == 8 ? 8 : 0) | (reg >= 8 ? 4 : 0) | (rm >= 8 ? 1 : 0);
        boolean byteRegHigh = size == 1 && ((reg & 7) >= 4 || (rm & 7) >= 4);
        if (rex != 0 || (byteRegHigh && (reg >= 8 || rm >= 8))) b.write(0x40 | rex);
        for (int o : opcode) b.write(o);
        b.write(0xc0 | (reg & 7) << 3 | (rm & 7));
        if (imm != null) b.writeBytes(imm);
        return b.toByteArray();
    }

    private static byte[] imm(long v, int n) {
        byte[] b = new byte[n];
        for (int k = 0; k < n; k++) b[k] = (byte) (v >>> (8 * k));
        return b;
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (byte[] p : parts) b.writeBytes(p);
        return b.toByteArray();
    }

    private int size() { return SIZES[rnd.nextInt(4)]; }

    private int sizeNot8Bit() { return SIZES[1 + rnd.nextInt(3)]; }

    /** Pick registers; with REX present, byte-register numbers 4..7 mean SPL..DIL, so avoid SPL (4). */
    private int[] regPair(int size) {
        while (true) {
            int reg = rnd.nextInt(16), rm = rnd.nextInt(16);
            boolean rex = size == 8 || reg >= 8 || rm >= 8;
            if (size == 1) {
                if (rex && (reg == 4 || rm == 4)) continue;
            } else if (reg == 4 || rm == 4) {
                continue;
            }
            return new int[] {reg, rm};
        }
    }

    private Case generate() {
        int kind = rnd.nextInt(24);
        long[] in = randomInputs();
        int size = size();
        int[] rr = regPair(size);
        int reg = rr[0], rm = rr[1];
        int w = size == 1 ? 0 : 1;
        switch (kind) {
            case 0, 1 -> {
                int op = rnd.nextInt(8);
                boolean dir = rnd.nextBoolean();
                long undef = (op == 1 || op == 4 || op == 6) ? AF : 0;
                return new Case("alu" + op + "/" + size, enc(size, new int[] {op << 3 | (dir ? 2 : 0) | w}, reg, rm, null), in, undef);
            }
            case 2 -> {
                int op = rnd.nextInt(8);
                long undef = (op == 1 || op == 4 || op == 6) ? AF : 0;
                int form = size == 1 ? 0x80 : rnd.nextBoolean() ? 0x83 : 0x81;
                int n = form == 0x81 ? Math.min(size, 4) : 1;
                return new Case("alu-imm" + op + "/" + size, enc(size, new int[] {form}, op, rm, imm(value(), n)), in, undef);
            }
            case 3 -> {
                if (rnd.nextBoolean()) return new Case("test/" + size, enc(size, new int[] {0x84 | w}, reg, rm, null), in, AF);
                return new Case("test-imm/" + size, enc(size, new int[] {0xf6 | w}, 0, rm, imm(value(), Math.min(size, 4))), in, AF);
            }
            case 4 -> {
                int op = rnd.nextInt(4); // inc dec not neg
                int[] ext = {0, 1, 2, 3};
                int opc = op < 2 ? 0xfe | w : 0xf6 | w;
                return new Case(new String[] {"inc", "dec", "not", "neg"}[op] + "/" + size, enc(size, new int[] {opc}, ext[op], rm, null), in, 0);
            }
            case 5 -> {
                int ext = 4 + rnd.nextInt(2);
                return new Case((ext == 4 ? "mul" : "imul1") + "/" + size, enc(size, new int[] {0xf6 | w}, ext, rm, null), in, SF | ZF | AF | PF);
            }
            case 6 -> {
                int sz = sizeNot8Bit();
                int[] p = regPair(sz);
                int form = rnd.nextInt(3);
                byte[] code = switch (form) {
                    case 0 -> enc(sz, new int[] {0x0f, 0xaf}, p[0], p[1], null);
                    case 1 -> enc(sz, new int[] {0x6b}, p[0], p[1], imm(value(), 1));
                    default -> enc(sz, new int[] {0x69}, p[0], p[1], imm(value(), Math.min(sz, 4)));
                };
                return new Case("imul" + form + "/" + sz, code, in, SF | ZF | AF | PF);
            }
            case 7 -> {
                boolean signed = rnd.nextBoolean();
                int d;
                do { d = rnd.nextInt(16); } while (d == 0 || d == 2 || d == 4 || (size == 1 && d >= 8 && false));
                if (size == 1 && d >= 4 && d < 8) d = 1 + rnd.nextInt(2) * 2;   // keep clear of AH/SPL confusion
                long mask = CpuState.MASK[Integer.numberOfTrailingZeros(size)];
                long dv = in[d] & mask;
                if (dv == 0) { dv = 1 + (rnd.nextLong() & 0x7f); in[d] = dv; }
                if (signed) {
                    long sdv = CpuState.signExtend(dv, Integer.numberOfTrailingZeros(size));
                    long low = CpuState.signExtend(in[0] & (size == 1 ? 0xff : mask), Integer.numberOfTrailingZeros(size));
                    if (sdv == -1 && low == CpuState.signExtend(CpuState.SIGN[Integer.numberOfTrailingZeros(size)], Integer.numberOfTrailingZeros(size))) {
                        in[0] ^= 1;
                    }
                    long high = (in[0] & CpuState.SIGN[Integer.numberOfTrailingZeros(size)]) != 0 ? -1 : 0;
                    if (size == 1) in[0] = (in[0] & ~0xff00L) | (high & 0xff00L);
                    else in[2] = (in[2] & ~mask) | (high & mask);
                } else {
                    long high = Long.remainderUnsigned(rnd.nextLong(), dv);
                    if (size == 1) in[0] = (in[0] & ~0xff00L) | (high << 8);
                    else in[2] = (in[2] & ~mask) | high;
                }
                return new Case((signed ? "idiv" : "div") + "/" + size, enc(size, new int[] {0xf6 | w}, signed ? 7 : 6, d, null), in, ARITH);
            }
            case 8, 9 -> {
                int op = rnd.nextInt(8);
                int form = rnd.nextInt(3);
                int count = form == 0 ? rnd.nextInt(72) : form == 1 ? 1 : (int) (in[1] & 0xff);
                if (form == 2 && rm == 1 && size == 1) rm = 3;
                byte[] code = switch (form) {
                    case 0 -> enc(size, new int[] {0xc0 | w}, op, rm, imm(count, 1));
                    case 1 -> enc(size, new int[] {0xd0 | w}, op, rm, null);
                    default -> enc(size, new int[] {0xd2 | w}, op, rm, null);
                };
                int masked = count & (size == 8 ? 63 : 31);
                long undef = masked == 1 ? 0 : OF;
                if (op >= 4) undef |= AF;
                if (masked == 0) undef = 0;
                if ((op == 2 || op == 3) && masked != 0 && masked % (size * 8 + 1) == 0) undef = OF;
                return new Case(new String[] {"rol", "ror", "rcl", "rcr", "shl", "shr", "sal", "sar"}[op] + "/" + size + " by " + count, code, in, undef);
            }
            case 10 -> {
                int sz = sizeNot8Bit();
                int[] p = regPair(sz);
                boolean left = rnd.nextBoolean(), cl = rnd.nextBoolean();
                int count = cl ? (int) (in[1] & 0xff) : rnd.nextInt(70);
                int masked = count & (sz == 8 ? 63 : 31);
                if (sz == 2 && masked > 16) {
                    count = rnd.nextInt(17);
                    if (cl) in[1] = (in[1] & ~0xffL) | count;
                    masked = count;
                }
                if (cl && (p[1] == 1 || p[0] == 1)) { p[0] = 3; p[1] = 6; }
                int base = left ? 0xa4 : 0xac;
                byte[] code = cl ? enc(sz, new int[] {0x0f, base + 1}, p[0], p[1], null) : enc(sz, new int[] {0x0f, base}, p[0], p[1], imm(count, 1));
                long undef = masked == 0 ? 0 : AF | (masked == 1 ? 0 : OF);
                if (sz == 2 && masked == 16) undef |= CF | OF | SF | ZF | PF;
                return new Case((left ? "shld" : "shrd") + "/" + sz + " by " + count, code, in, undef);
            }
            case 11 -> {
                int sz = sizeNot8Bit();
                int[] p = regPair(sz);
                int op = rnd.nextInt(4);
                if (rnd.nextBoolean()) {
                    return new Case("bt" + op + "/" + sz, enc(sz, new int[] {0x0f, 0xa3 | op << 3}, p[0], p[1], null), in, OF | SF | AF | PF);
                }
                return new Case("bt-imm" + op + "/" + sz, enc(sz, new int[] {0x0f, 0xba}, 4 + op, p[1], imm(rnd.nextInt(256), 1)), in, OF | SF | AF | PF);
            }
            case 12 -> {
                int sz = sizeNot8Bit();
                int[] p = regPair(sz);
                if ((in[p[1]] & CpuState.MASK[Integer.numberOfTrailingZeros(sz)]) == 0) in[p[1]] |= 1L << rnd.nextInt(sz * 8);
                boolean fwd = rnd.nextBoolean();
                return new Case((fwd ? "bsf" : "bsr") + "/" + sz, enc(sz, new int[] {0x0f, fwd ? 0xbc : 0xbd}, p[0], p[1], null), in, CF | OF | SF | AF | PF);
            }
            case 13 -> {
                int sz = rnd.nextBoolean() ? 4 : 8;
                int r = anyReg();
                byte[] code = r >= 8 || sz == 8 ? new byte[] {(byte) (0x40 | (sz == 8 ? 8 : 0) | (r >= 8 ? 1 : 0)), 0x0f, (byte) (0xc8 | (r & 7))}
                        : new byte[] {0x0f, (byte) (0xc8 | r)};
                return new Case("bswap/" + sz, code, in, 0);
            }
            case 14 -> {
                int op = rnd.nextInt(3);
                int[] opc = switch (op) {
                    case 0 -> new int[] {0x0f, 0xc0 | w};
                    case 1 -> new int[] {0x0f, 0xb0 | w};
                    default -> new int[] {0x86 | w};
                };
                if (op == 1 && rnd.nextBoolean()) in[rm] = in[0];   // make the compare succeed sometimes
                return new Case(new String[] {"xadd", "cmpxchg", "xchg"}[op] + "/" + size, enc(size, opc, reg, rm, null), in, 0);
            }
            case 15 -> {
                int cc = rnd.nextInt(16);
                if (rnd.nextBoolean()) {
                    int sz = sizeNot8Bit();
                    int[] p = regPair(sz);
                    return new Case("cmov" + cc + "/" + sz, enc(sz, new int[] {0x0f, 0x40 | cc}, p[0], p[1], null), in, 0);
                }
                return new Case("set" + cc, enc(1, new int[] {0x0f, 0x90 | cc}, 0, rm, null), in, 0);
            }
            case 16 -> {
                int sz = sizeNot8Bit();
                int src = rnd.nextInt(3);   // 0 byte, 1 word, 2 dword (movsxd)
                if (src == 2 && sz != 8) src = 0;
                boolean sign = rnd.nextBoolean() || src == 2;
                int[] p = regPair(src == 0 ? 1 : sz);
                if (src == 0 && (p[0] == 4)) p[0] = 5;
                byte[] code = switch (src) {
                    case 0 -> enc(sz, new int[] {0x0f, sign ? 0xbe : 0xb6}, p[0], p[1], null);
                    case 1 -> enc(sz, new int[] {0x0f, sign ? 0xbf : 0xb7}, p[0], p[1], null);
                    default -> enc(8, new int[] {0x63}, p[0], p[1], null);
                };
                // A byte source with REX uses SPL..DIL; without, AH..BH: both sides agree, but never SPL.
                if (src == 0 && (p[1] & 7) == 4 && (sz == 8 || p[0] >= 8 || p[1] >= 8)) return generate();
                return new Case((sign ? "movsx" : "movzx") + src + "/" + sz, code, in, 0);
            }
            case 17 -> {
                int sz = sizeNot8Bit();
                byte[] code = new byte[] {(byte) (rnd.nextBoolean() ? 0x98 : 0x99)};
                code = sz == 2 ? concat(new byte[] {0x66}, code) : sz == 8 ? concat(new byte[] {0x48}, code) : code;
                return new Case("cbw-cwd/" + sz, code, in, 0);
            }
            case 18 -> {
                return leaCase(in);
            }
            case 19 -> {
                int op = rnd.nextInt(5);
                byte[] code = new byte[] {(byte) new int[] {0x9f, 0x9e, 0xf5, 0xf8, 0xf9}[op]};
                return new Case(new String[] {"lahf", "sahf", "cmc", "clc", "stc"}[op], code, in, 0);
            }
            case 20 -> {
                int cc = rnd.nextInt(16);
                return new Case("jcc" + cc, new byte[] {(byte) (0x70 | cc), 2, (byte) 0xb0, 1}, in, 0);
            }
            case 21 -> {
                // Two dependent ALU ops: flags of the first feed ADC/SBB of the second.
                int op1 = rnd.nextInt(8), op2 = 2 + rnd.nextInt(2);
                int[] p2 = regPair(size);
                byte[] code = concat(enc(size, new int[] {op1 << 3 | w}, reg, rm, null), enc(size, new int[] {op2 << 3 | w}, p2[0], p2[1], null));
                return new Case("alu" + op1 + "+adc/sbb/" + size, code, in, 0);
            }
            case 22 -> {
                // inc/dec keep CF: follow with adc
                int[] p2 = regPair(size);
                byte[] code = concat(enc(size, new int[] {0xfe | w}, rnd.nextInt(2), rm, null), enc(size, new int[] {0x10 | w}, p2[0], p2[1], null));
                return new Case("incdec+adc/" + size, code, in, 0);
            }
            default -> {
                // mov forms
                int form = rnd.nextInt(3);
                byte[] code = switch (form) {
                    case 0 -> enc(size, new int[] {0x88 | w}, reg, rm, null);
                    case 1 -> enc(size, new int[] {0xc6 | w}, 0, rm, imm(value(), Math.min(size, 4)));
                    default -> {
                        int r = anyReg();
                        int rex = (size == 8 ? 8 : 0) | (r >= 8 ? 1 : 0);
                        byte[] pre = size == 2 ? new byte[] {0x66} : new byte[0];
                        byte[] rexB = rex != 0 ? new byte[] {(byte) (0x40 | rex)} : new byte[0];
                        if (size == 1 && rex == 0 && r >= 4 && r < 8) r = 3;
                        yield concat(pre, rexB, new byte[] {(byte) ((size == 1 ? 0xb0 : 0xb8) | (r & 7))}, imm(value(), size));
                    }
                };
                return new Case("mov" + form + "/" + size, code, in, 0);
            }
        }
    }

    private Case leaCase(long[] in) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int sz = sizeNot8Bit();
        boolean addr32 = rnd.nextInt(4) == 0;
        int reg = anyReg();
        int mod = rnd.nextInt(3);
        int rmField = rnd.nextInt(8);
        int base = rnd.nextInt(16), index = rnd.nextInt(16), scale = rnd.nextInt(4);
        if (mod == 0 && rmField == 5) rmField = 6;     // no RIP-relative: the host RIP differs
        if (rmField != 4 && (rmField == 4)) rmField = 3;
        int rexB = 0, rexX = 0;
        boolean sib = rmField == 4;
        if (!sib) {
            rexB = rnd.nextBoolean() ? 1 : 0;
            if (rmField == 4) rexB = 0;
        } else {
            if ((base & 7) == 4 && base != 12) base = 3;   // no RSP base
            if (base == 4) base = 3;
            rexB = base >> 3;
            rexX = index >> 3;
            if (index == 4) index = 5;
            rexX = index >> 3;
        }
        if (sz == 2) b.write(0x66);
        if (addr32) b.write(0x67);
        int rex = (sz == 8 ? 8 : 0) | (reg >= 8 ? 4 : 0) | rexX << 1 | rexB;
        if (rex != 0) b.write(0x40 | rex);
        b.write(0x8d);
        b.write(mod << 6 | (reg & 7) << 3 | rmField);
        if (sib) b.write(scale << 6 | (index & 7) << 3 | (base & 7));
        if (sib && mod == 0 && (base & 7) == 5) b.writeBytes(imm(rnd.nextInt(), 4));
        if (mod == 1) b.write(rnd.nextInt(256));
        if (mod == 2) b.writeBytes(imm(rnd.nextInt(), 4));
        return new Case("lea", b.toByteArray(), in, 0);
    }

    private void check(Case c) throws Throwable {
        if (TRACE != null) { TRACE.println(c.name + " " + HexFormat.of().formatHex(c.code) + " " + java.util.Arrays.toString(c.in)); TRACE.flush(); }
        long[] expected = nativeRunner.run(c.code, c.in);
        TestMachine t = machine;
        t.setupLongMode();
        byte[] code = concat(c.code, new byte[] {(byte) 0xf4});
        t.load(TestMachine.CODE, code);
        t.cpu.invalidateCode(TestMachine.CODE, code.length);
        for (int k = 0; k < 16; k++) if (k != 4) t.s.setGpr(k, c.in[k]);
        t.s.setRflags((c.in[16] & ARITH) | 2);
        StopReason r = t.cpu.run(100);
        String what = c.name + " [" + HexFormat.of().formatHex(c.code) + "]";
        assertEquals(what + ": stop", StopReason.HALTED, r);
        for (int k = 0; k < 16; k++) {
            if (k == 4) continue;
            assertEquals(what + " reg " + k + " in=" + Long.toHexString(c.in[k]), expected[k], t.s.gpr(k));
        }
        long mask = ARITH & ~c.undefined;
        assertEquals(what + " flags (in 0x" + Long.toHexString(c.in[16]) + ")", Long.toHexString(expected[16] & mask), Long.toHexString(t.s.rflags() & mask));
    }

    @Test
    public void randomIntegerInstructionsMatchTheHostCpu() throws Throwable {
        assumeTrue("needs an x86-64 Linux host", nativeRunner != null);
        machine.cpu.configureJit(false, Integer.MAX_VALUE);
        runCases();
    }

    /** The same cases through the block translator (every block compiled on first execution). */
    @Test
    public void randomIntegerInstructionsMatchTheHostCpuWhenCompiled() throws Throwable {
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

    /** The same cases through the region compiler (a region compiled on every first execution). */
    @Test
    public void randomIntegerInstructionsMatchTheHostCpuInRegions() throws Throwable {
        assumeTrue("needs an x86-64 Linux host", nativeRunner != null);
        machine.cpu.configureRegions(true, 1);
        long before = machine.cpu.regionsCompiled();
        try {
            runCases();
            org.junit.Assert.assertTrue("regions were compiled", machine.cpu.regionsCompiled() - before > 1000);
        } finally {
            machine.cpu.configureRegions(false, Integer.MAX_VALUE);
        }
    }

    private void runCases() throws Throwable {
        List<String> failures = new ArrayList<>();
        for (int n = 0, cases = Integer.getInteger("x86.diff.cases", 20000); n < cases; n++) {
            Case c = generate();
            try {
                check(c);
            } catch (AssertionError e) {
                failures.add(e.getMessage());
                if (failures.size() >= 20) break;
            }
        }
        System.out.println("differential cases: " + Integer.getInteger("x86.diff.cases", 20000) + " seed " + Long.getLong("x86.diff.seed", 0x5eed));
        if (!failures.isEmpty()) throw new AssertionError(failures.size() + " mismatches, first:\n" + String.join("\n", failures));
    }
}
