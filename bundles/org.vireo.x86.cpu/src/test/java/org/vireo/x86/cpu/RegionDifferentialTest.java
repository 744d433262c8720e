package org.vireo.x86.cpu;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
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
 * Differential tests of compiled regions ({@link RegionCompiler}): random instruction sequences, with forward
 * branches (several blocks per region) and counted loops (a region's back-edge), run
 * <ul>
 * <li>natively and in regions compiled on first execution (register forms whose flags are all defined: every
 *     general register and CF, PF, ZF, SF, OF must agree, AF too where no logical operation wrote it last);</li>
 * <li>in the interpreter and in regions, with memory operands, stack operations, instructions the compiler leaves
 *     to the interpreter, and a fault injected mid-region (a load from an unmapped address): registers, flags, RIP,
 *     CR2 and the exception frame the guest sees must be the same.</li>
 * </ul>
 * Fixed seeds keep it reproducible ({@code -Dx86.region.seed}, {@code -Dx86.region.cases}).
 */
public class RegionDifferentialTest {
    private static final long ARITH = CpuState.ARITH, AF = CpuState.AF;
    private static final long HANDLER = TestMachine.CODE + 0x3000, UNMAPPED = 0x40000000L + 0x1238;

    private static NativeRunner nativeRunner;
    private static TestMachine machine;
    private final Random rnd = new Random(Long.getLong("x86.region.seed", 0x2e610));
    private final int cases = Integer.getInteger("x86.region.cases", 3000);

    @BeforeClass
    public static void setUp() throws Throwable {
        machine = new TestMachine();
        if (NativeRunner.available()) nativeRunner = new NativeRunner();
    }

    @AfterClass
    public static void tearDown() {
        if (nativeRunner != null) nativeRunner.close();
        machine.close();
    }

    // ------------------------------------------------------------------ encoding

    private static final int[] ALU_OPCODE = {0x01, 0x09, 0x11, 0x19, 0x21, 0x29, 0x31, 0x39};

    private final class Seq {
        final ByteArrayOutputStream b = new ByteArrayOutputStream();
        boolean logicLast;      // the last flag writer was a logical operation (AF undefined natively)

        void rex(boolean w, int reg, int rm) {
            int rex = (w ? 8 : 0) | (reg >= 8 ? 4 : 0) | (rm >= 8 ? 1 : 0);
            if (rex != 0) b.write(0x40 | rex);
        }

        void modrm(int reg, int rm) { b.write(0xc0 | (reg & 7) << 3 | (rm & 7)); }

        void imm32(int v) { for (int k = 0; k < 4; k++) b.write(v >>> (8 * k)); }

        byte[] bytes() { return b.toByteArray(); }
    }

    private long value() {
        long[] interesting = {0, 1, -1, 0x7f, 0x80, 0xff, 0x7fffffffL, 0x80000000L, 0xffffffffL, Long.MAX_VALUE, Long.MIN_VALUE};
        return switch (rnd.nextInt(3)) {
            case 0 -> interesting[rnd.nextInt(interesting.length)];
            case 1 -> rnd.nextInt(512) - 256;
            default -> rnd.nextLong();
        };
    }

    /** Set while generating memory programs: RBX holds the data pointer and must not be written. */
    private boolean keepRbx;

    private int reg(boolean allowRcx) {
        int r;
        do { r = rnd.nextInt(16); } while (r == 4 || (!allowRcx && r == 1) || (keepRbx && r == 3));
        return r;
    }

    /** A byte register: with REX any but SPL (the host's stack natively), without REX AL..BH; never CL/CH in loops, BL/BH while RBX is kept. */
    private int byteReg(boolean rex, boolean allowRcx) {
        if (rex) return reg(allowRcx);
        int r;
        do { r = rnd.nextInt(8); } while ((!allowRcx && (r == 1 || r == 5)) || (keepRbx && (r == 3 || r == 7)));
        return r;
    }

    /** One register-form instruction with defined flags (for the native comparison). */
    private byte[] registerInsn(Seq q, boolean allowRcx) {
        ByteArrayOutputStream saved = new ByteArrayOutputStream();
        Seq one = new Seq();
        boolean w = rnd.nextBoolean();
        int a = reg(allowRcx), b = reg(allowRcx);
        switch (rnd.nextInt(18)) {
            case 14 -> {        // byte ALU / TEST / MOV / NEG / NOT on byte registers (AL..BH without REX, SPL..R15B with)
                boolean rex = rnd.nextBoolean();
                int x = byteReg(rex, allowRcx), y = byteReg(rex, allowRcx);
                if (rex) one.b.write(0x40 | (y >= 8 ? 4 : 0) | (x >= 8 ? 1 : 0));
                switch (rnd.nextInt(6)) {
                    case 0 -> { int sub = rnd.nextInt(8); one.b.write(ALU_OPCODE[sub] - 1); one.modrm(y, x); q.logicLast = sub == 1 || sub == 4 || sub == 6; }
                    case 1 -> { int sub = rnd.nextInt(8); one.b.write(0x80); one.modrm(sub, x); one.b.write(rnd.nextInt(256)); q.logicLast = sub == 1 || sub == 4 || sub == 6; }
                    case 2 -> { one.b.write(0x84); one.modrm(y, x); q.logicLast = true; }
                    case 3 -> { one.b.write(0xf6); one.modrm(0, x); one.b.write(rnd.nextInt(256)); q.logicLast = true; }
                    case 4 -> { one.b.write(0x88); one.modrm(y, x); }
                    default -> { boolean neg = rnd.nextBoolean(); one.b.write(0xf6); one.modrm(neg ? 3 : 2, x); if (neg) q.logicLast = false; }
                }
            }
            case 15 -> {        // word ALU, NEG/NOT of 4 or 8 bytes, TEST r/m, imm32, 32-bit LEA
                switch (rnd.nextInt(4)) {
                    case 0 -> { int sub = rnd.nextInt(8); one.b.write(0x66); one.rex(false, b, a); one.b.write(ALU_OPCODE[sub]); one.modrm(b, a); q.logicLast = sub == 1 || sub == 4 || sub == 6; }
                    case 1 -> { boolean neg = rnd.nextBoolean(); one.rex(w, 0, a); one.b.write(0xf7); one.modrm(neg ? 3 : 2, a); if (neg) q.logicLast = false; }
                    case 2 -> { one.rex(w, 0, a); one.b.write(0xf7); one.modrm(0, a); one.imm32((int) value()); q.logicLast = true; }
                    default -> {
                        int base = reg(true);
                        if ((base & 7) == 4) base = 3;
                        one.rex(false, a, base); one.b.write(0x8d); one.b.write(0x40 | (a & 7) << 3 | (base & 7)); one.b.write(rnd.nextInt(256));
                    }
                }
            }
            case 0, 1, 2 -> {   // ALU r/m, r
                int sub = rnd.nextInt(8);
                one.rex(w, b, a); one.b.write(ALU_OPCODE[sub]); one.modrm(b, a);
                q.logicLast = sub == 1 || sub == 4 || sub == 6;
            }
            case 3, 4 -> {      // ALU r/m, imm8 / imm32
                int sub = rnd.nextInt(8);
                boolean small = rnd.nextBoolean();
                one.rex(w, 0, a); one.b.write(small ? 0x83 : 0x81); one.modrm(sub, a);
                if (small) one.b.write(rnd.nextInt(256)); else one.imm32((int) value());
                q.logicLast = sub == 1 || sub == 4 || sub == 6;
            }
            case 5 -> { one.rex(w, b, a); one.b.write(0x85); one.modrm(b, a); q.logicLast = true; }          // TEST
            case 6 -> { one.rex(w, 0, a); one.b.write(0xff); one.modrm(rnd.nextInt(2), a); q.logicLast = false; } // INC/DEC
            case 7 -> { one.rex(w, b, a); one.b.write(0x89); one.modrm(b, a); }                              // MOV
            case 8 -> { one.rex(false, 0, a); one.b.write(0xb8 + (a & 7)); one.imm32((int) value()); }       // MOV r32, imm
            case 9 -> {         // LEA r, [base + disp8]
                int base = reg(true);
                if ((base & 7) == 4) base = 3;
                one.rex(true, a, base); one.b.write(0x8d); one.b.write(0x40 | (a & 7) << 3 | (base & 7)); one.b.write(rnd.nextInt(256));
            }
            case 10 -> {        // SETcc r8 (interpreter fallback reading flags), low four registers
                int r = rnd.nextInt(4);
                if ((!allowRcx && r == 1) || (keepRbx && r == 3)) r = 0;
                one.b.write(0x0f); one.b.write(0x90 + rnd.nextInt(16)); one.modrm(0, r);
            }
            case 11 -> {        // CMOVcc
                one.rex(w, a, b); one.b.write(0x0f); one.b.write(0x40 + rnd.nextInt(16)); one.modrm(a, b);
            }
            case 12 -> {        // MOVZX/MOVSX r, r8/r16 (r8 with REX: SPL..R15B; without: AL..BH)
                boolean rex8 = rnd.nextBoolean();
                int opcode = new int[] {0xb6, 0xb7, 0xbe, 0xbf}[rnd.nextInt(4)];
                int src = rex8 ? b : rnd.nextInt(8);
                if ((opcode & 1) != 0 && (src & 7) == 4) src = 0;   // SP is the host's stack pointer natively
                if (rex8) one.b.write(0x40 | (w ? 8 : 0) | (a >= 8 ? 4 : 0) | (src >= 8 ? 1 : 0));
                else if (w || a >= 8) { one.b.write(0x40 | (w ? 8 : 0) | (a >= 8 ? 4 : 0)); src = src & 3; }
                one.b.write(0x0f); one.b.write(opcode); one.modrm(a, src);
            }
            case 13 -> {        // SETcc AH..BH (no REX)
                int r = 4 + rnd.nextInt(4);
                if ((!allowRcx && r == 5) || (keepRbx && r == 7)) r = 4;
                one.b.write(0x0f); one.b.write(0x90 + rnd.nextInt(16)); one.modrm(0, r);
            }
            default -> {        // shift by imm or CL, MOVSXD, MUL, IMUL r,r / r,r,imm — then an ALU op
                switch (rnd.nextInt(6)) {
                    case 0 -> { one.rex(w, 0, a); one.b.write(0xc1); one.modrm(rnd.nextInt(8), a); one.b.write(rnd.nextInt(64)); }
                    case 1 -> { one.rex(w, 0, b); one.b.write(0xf7); one.modrm(4, b); }
                    case 2 -> { one.rex(w, a, b); one.b.write(0x0f); one.b.write(0xaf); one.modrm(a, b); }
                    case 3 -> { one.rex(w, 0, a); one.b.write(0xd3); one.modrm(rnd.nextInt(8), a); }   // by CL (0 included)
                    case 4 -> { one.rex(true, a, b); one.b.write(0x63); one.modrm(a, b); }              // MOVSXD
                    default -> { one.rex(w, a, b); one.b.write(0x69); one.modrm(a, b); one.imm32((int) value()); }
                }
                // Half the time the ALU op is ADC or SBB, which reads CF: the shift's or IMUL's flags are then live
                // (computed eagerly in a region, or by the interpreter for MUL); CF is defined for all of them.
                int sub = rnd.nextBoolean() ? 2 + rnd.nextInt(2) : rnd.nextInt(8);
                one.rex(w, a, b); one.b.write(ALU_OPCODE[sub]); one.modrm(a, b);
                q.logicLast = sub == 1 || sub == 4 || sub == 6;
            }
        }
        saved.writeBytes(one.bytes());
        return saved.toByteArray();
    }

    /** A straight-line body with forward Jcc over single instructions (new blocks inside the region). */
    private byte[] body(Seq q, int n, boolean allowRcx) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int k = 0; k < n; k++) {
            byte[] insn = registerInsn(q, allowRcx);
            if (rnd.nextInt(4) == 0) {
                byte[] skipped = registerInsn(q, allowRcx);
                out.writeBytes(insn);
                out.write(0x70 + rnd.nextInt(16));
                out.write(skipped.length);
                out.writeBytes(skipped);
            } else {
                out.writeBytes(insn);
            }
        }
        return out.toByteArray();
    }

    /** Either a straight body, or {@code mov $N,%ecx; L: body; dec %ecx; jnz L}. */
    private byte[] program(Seq q) {
        if (rnd.nextBoolean()) return body(q, 1 + rnd.nextInt(12), true);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(0xb9);
        int iterations = 1 + rnd.nextInt(6);
        for (int k = 0; k < 4; k++) out.write(iterations >>> (8 * k));
        byte[] loop = body(q, 1 + rnd.nextInt(8), false);
        out.writeBytes(loop);
        out.write(0xff); out.write(0xc9);                 // dec %ecx
        int back = -(loop.length + 2 + 2);
        if (back < -128) return body(q, 4, true);
        out.write(0x75); out.write(back);                  // jnz L
        q.logicLast = false;
        return out.toByteArray();
    }

    // ------------------------------------------------------------------ runs

    private long[] randomInputs() {
        long[] in = new long[17];
        for (int k = 0; k < 16; k++) in[k] = value();
        in[4] = 0;
        in[16] = 0x202 | (rnd.nextLong() & ARITH);
        return in;
    }

    /** Runs {@code code} + HLT at CODE in the emulator; returns the GPRs, RFLAGS and RIP. */
    private long[] emulate(byte[] code, long[] in, boolean regions) {
        TestMachine t = machine;
        t.setupLongMode();
        t.cpu.configureRegions(regions, 1);
        byte[] program = concat(code, new byte[] {(byte) 0xf4});
        t.load(TestMachine.CODE, program);
        t.cpu.invalidateCode(TestMachine.CODE, program.length);
        for (int k = 0; k < 16; k++) if (k != 4) t.s.setGpr(k, in[k]);
        t.s.setRflags((in[16] & ARITH) | 2);
        StopReason r = t.cpu.run(100_000);
        assertEquals("stop of [" + HexFormat.of().formatHex(code) + "] regions " + regions, StopReason.HALTED, r);
        long[] out = new long[19];
        for (int k = 0; k < 16; k++) out[k] = t.s.gpr(k);
        out[16] = t.s.rflags();
        out[17] = t.s.rip();
        return out;
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] r = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    @Test
    public void randomSequencesInRegionsMatchTheHostCpu() throws Throwable {
        assumeTrue("needs an x86-64 Linux host", nativeRunner != null);
        long compiledBefore = machine.cpu.regionsCompiled();
        List<String> failures = new ArrayList<>();
        for (int n = 0; n < cases && failures.size() < 10; n++) {
            Seq q = new Seq();
            byte[] code = program(q);
            long[] in = randomInputs();
            long[] expected = nativeRunner.run(code, in);
            long[] got = emulate(code, in, true);
            String what = "[" + HexFormat.of().formatHex(code) + "] in=" + java.util.Arrays.toString(in);
            for (int k = 0; k < 16; k++) {
                if (k != 4 && expected[k] != got[k]) failures.add(what + ": reg " + k + " native " + Long.toHexString(expected[k]) + " region " + Long.toHexString(got[k]));
            }
            long mask = ARITH & ~(q.logicLast ? AF : 0);
            if ((expected[16] & mask) != (got[16] & mask)) {
                failures.add(what + ": flags native " + Long.toHexString(expected[16] & mask) + " region " + Long.toHexString(got[16] & mask));
            }
        }
        assertTrue("regions were compiled", machine.cpu.regionsCompiled() - compiledBefore > cases / 4);
        if (!failures.isEmpty()) throw new AssertionError(failures.size() + " mismatches, first:\n" + String.join("\n", failures));
    }

    /** Memory forms, stack operations, interpreter fallbacks and a fault: regions must match the interpreter exactly. */
    private byte[] memoryProgram() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        // mov $DATA, %rbx (RBX is the data pointer; the random forms below leave it alone)
        out.write(0x48); out.write(0xc7); out.write(0xc3);
        for (int k = 0; k < 4; k++) out.write((int) (TestMachine.DATA >>> (8 * k)));
        int n = 2 + rnd.nextInt(14);
        int faultAt = rnd.nextInt(3) == 0 ? rnd.nextInt(n) : -1;
        for (int k = 0; k < n; k++) {
            if (k == faultAt) {
                // movabs $UNMAPPED,%rsi; mov (%rsi),%rax
                out.write(0x48); out.write(0xbe);
                for (int x = 0; x < 8; x++) out.write((int) (UNMAPPED >>> (8 * x)));
                out.write(0x48); out.write(0x8b); out.write(0x06);
                continue;
            }
            int a;
            do { a = rnd.nextInt(16); } while (a == 4 || a == 3);
            int disp = rnd.nextInt(16) * 8;   // inside the data block the program starts with
            boolean w = rnd.nextBoolean();
            switch (rnd.nextInt(13)) {
                case 8 -> { // byte and word stores, TEST m8/m32 with a register or an immediate
                    int r = a & 3;   // AL..DL without REX (not BL: RBX is the data pointer)
                    if (r == 3) r = 0;
                    switch (rnd.nextInt(5)) {
                        case 0 -> { out.write(0x88); out.write(0x43 | r << 3); out.write(disp + rnd.nextInt(8)); }
                        case 1 -> { out.write(0x66); out.write(0x89); out.write(0x43 | r << 3); out.write(disp + 2 * rnd.nextInt(4)); }
                        case 2 -> { out.write(0x84); out.write(0x43 | r << 3); out.write(disp + rnd.nextInt(8)); }
                        case 3 -> { out.write(0xf6); out.write(0x43); out.write(disp + rnd.nextInt(8)); out.write(rnd.nextInt(256)); }
                        default -> { out.write(w ? 0x48 : 0x40); out.write(0xf7); out.write(0x43); out.write(disp); for (int z = 0; z < 4; z++) out.write(rnd.nextInt(256)); }
                    }
                }
                case 0 -> { out.write(w ? 0x48 | (a >= 8 ? 4 : 0) : 0x40 | (a >= 8 ? 4 : 0)); out.write(0x8b); out.write(0x43 | (a & 7) << 3); out.write(disp); } // load
                case 1 -> { out.write(w ? 0x48 | (a >= 8 ? 4 : 0) : 0x40 | (a >= 8 ? 4 : 0)); out.write(0x89); out.write(0x43 | (a & 7) << 3); out.write(disp); } // store
                case 2 -> { out.write(w ? 0x48 | (a >= 8 ? 4 : 0) : 0x40 | (a >= 8 ? 4 : 0)); out.write(0x03 + 8 * rnd.nextInt(8)); out.write(0x43 | (a & 7) << 3); out.write(disp); } // alu r, m
                case 3 -> { if (a >= 8) out.write(0x41); out.write(0x50 + (a & 7)); if (a >= 8) out.write(0x41); out.write(0x58 + (a & 7)); } // push; pop
                case 4 -> { out.write(0x48 | (a >= 8 ? 1 : 0)); out.write(0xc1); out.write(0xc0 | (4 + rnd.nextInt(4)) << 3 | (a & 7)); out.write(rnd.nextInt(64)); } // shift (fallback)
                case 5 -> { out.write(0x48 | (a >= 8 ? 5 : 0)); out.write(0x0f); out.write(0xaf); out.write(0xc0 | (a & 7) << 3 | (a & 7)); } // imul
                case 6 -> { // ALU to memory, r or imm8
                    if (rnd.nextBoolean()) { out.write(w ? 0x48 | (a >= 8 ? 4 : 0) : 0x40 | (a >= 8 ? 4 : 0)); out.write(0x01 + 8 * rnd.nextInt(8)); out.write(0x43 | (a & 7) << 3); out.write(disp); }
                    else { out.write(w ? 0x48 : 0x40); out.write(0x83); out.write(0x43 | rnd.nextInt(8) << 3); out.write(disp); out.write(rnd.nextInt(256)); }
                }
                case 7 -> { // CMOVcc / MOVZX / MOVSX from memory
                    int[][] ops = {{0x40 + rnd.nextInt(16)}, {0xb6}, {0xb7}, {0xbe}, {0xbf}};
                    out.write(w ? 0x48 | (a >= 8 ? 4 : 0) : 0x40 | (a >= 8 ? 4 : 0)); out.write(0x0f); out.write(ops[rnd.nextInt(ops.length)][0]);
                    out.write(0x43 | (a & 7) << 3); out.write(disp);
                }
                default -> {
                    keepRbx = true;
                    out.writeBytes(registerInsn(new Seq(), true));
                    keepRbx = false;
                }
            }
        }
        return out.toByteArray();
    }

    @Test
    public void memoryStackAndFaultsInRegionsMatchTheInterpreter() {
        long compiledBefore = machine.cpu.regionsCompiled();
        List<String> failures = new ArrayList<>();
        int faults = 0;
        for (int n = 0; n < cases && failures.size() < 10; n++) {
            byte[] code = memoryProgram();
            long[] in = randomInputs();
            long[] interpreted = emulateWithFaults(code, in, false);
            long[] compiled = emulateWithFaults(code, in, true);
            if (interpreted[18] != 0) faults++;
            String what = "[" + HexFormat.of().formatHex(code) + "] in=" + java.util.Arrays.toString(in);
            String[] names = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
                    "rflags", "rip", "cr2", "frame rip", "frame rflags", "data"};
            for (int k = 0; k < interpreted.length; k++) {
                if (interpreted[k] != compiled[k]) {
                    failures.add(what + ": " + names[k] + " interpreter " + Long.toHexString(interpreted[k]) + " region " + Long.toHexString(compiled[k]));
                }
            }
        }
        assertTrue("faults were injected", faults > cases / 10);
        assertTrue("regions were compiled", machine.cpu.regionsCompiled() - compiledBefore > cases / 4);
        if (!failures.isEmpty()) throw new AssertionError(failures.size() + " mismatches, first:\n" + String.join("\n", failures));
    }

    /**
     * A loop that calls a function on another page: its head region is entered once per iteration, so with a hot
     * threshold of a few instructions it is rebuilt for C2 (HotSpotTiers) while the loop runs; the result must not change.
     */
    @Test
    public void regionsRebuiltForTheOptimizingTierKeepTheirResults() {
        // mov $3000,%ecx; xor %eax,%eax; loop: call far; add %rcx,%rdx; dec %ecx; jne loop; hlt | far: lea 1(%rax),%rax; ret
        byte[] main = HexFormat.of().parseHex("b9b80b000031c0e8f40f00004801caffc975f4f4");
        byte[] far = HexFormat.of().parseHex("488d4001c3");
        long[][] out = new long[2][];
        long promotedBefore = machine.cpu.regionsPromoted();
        for (int pass = 0; pass < 2; pass++) {
            TestMachine t = machine;
            t.setupLongMode();
            t.cpu.configureRegions(pass == 1, 1, 10);
            t.load(TestMachine.CODE, main);
            t.load(TestMachine.CODE + 0x1000, far);
            t.cpu.invalidateCode(TestMachine.CODE, 0x2000);
            t.s.setGpr(2, 7);
            assertEquals(StopReason.HALTED, t.cpu.run(1_000_000));
            out[pass] = new long[] {t.s.gpr(0), t.s.gpr(1), t.s.gpr(2), t.s.rflags(), t.s.rip()};
        }
        machine.cpu.configureRegions(false, Integer.MAX_VALUE, Long.MAX_VALUE);
        assertEquals(3000, out[0][0]);
        assertEquals(java.util.Arrays.toString(out[0]), java.util.Arrays.toString(out[1]));
        assertTrue("a region was rebuilt for C2", machine.cpu.regionsPromoted() > promotedBefore);
    }

    /** As {@link #emulate}, with a #PF handler that halts; also returns CR2, the exception frame and a data checksum. */
    private long[] emulateWithFaults(byte[] code, long[] in, boolean regions) {
        TestMachine t = machine;
        t.setupLongMode();
        // Only the first GiB is mapped (1 GiB of 2 MiB pages): UNMAPPED faults.
        t.cpu.configureRegions(regions, 1);
        t.gate(CpuException.PF, HANDLER, 0, 0, false);
        t.load(HANDLER, new byte[] {(byte) 0xf4});
        byte[] program = concat(code, new byte[] {(byte) 0xf4});
        t.load(TestMachine.CODE, program);
        byte[] data = new byte[0x200];
        new Random(in[0]).nextBytes(data);
        t.load(TestMachine.DATA, data);
        t.cpu.invalidateCode(TestMachine.CODE, 0x4000);
        for (int k = 0; k < 16; k++) if (k != 4) t.s.setGpr(k, in[k]);
        t.s.setRflags((in[16] & ARITH) | 2);
        StopReason r = t.cpu.run(100_000);
        assertEquals(StopReason.HALTED, r);
        long[] out = new long[22];
        for (int k = 0; k < 16; k++) out[k] = t.s.gpr(k);
        out[16] = t.s.rflags();
        out[17] = t.s.rip();
        boolean faulted = t.s.rip() == HANDLER + 1;
        out[18] = faulted ? t.s.cr2() : 0;
        if (faulted) {
            long sp = t.s.gpr(CpuState.RSP);
            out[19] = t.mem.readLong(sp + 8);    // error code at sp, then RIP, CS, RFLAGS
            out[20] = t.mem.readLong(sp + 24);
        }
        long sum = 0;
        for (int k = 0; k < 0x200; k += 8) sum = sum * 31 + t.mem.readLong(TestMachine.DATA + k);
        out[21] = sum;
        return out;
    }
}
