package org.vireo.x86.cpu;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.vireo.x86.cpu.CpuState.*;

import org.junit.Test;

/** Memory operand forms, stack and call instructions, x87 and FXSAVE, with small assembled programs. */
public class InstructionTest {
    @Test
    public void registerProgramRetiresEveryInstruction() {
        try (TestMachine t = new TestMachine()) {
            t.longMode("48c7c0010000004801d8f4");   // mov rax, 1; add rax, rbx; hlt
            t.s.setGpr(RBX, 41);
            t.runToHalt();
            assertEquals(42, t.reg(RAX));
            assertEquals(3, t.cpu.instructionsRetired());
        }
    }

    @Test
    public void memoryOperandsStackAndCalls() {
        try (TestMachine t = new TestMachine()) {
            t.longMode("48c7c30000100048c7030500000048830307f0480fc103ff3359e83d00000048c7c200020000480fab53080fb633480fbf3b"
                    + "c81000004989e0c94989e14c8d54831049bb907856341200000048b8aaaaaaaa000000004c0fb15b10f44c8b2424c3");
            t.runToHalt();
            assertEquals(12, t.mem.readLong(0x100000));
            assertEquals(12, t.reg(RCX));
            assertEquals("return address", 0x1001fL, t.reg(R12));
            assertEquals("bts with a register offset beyond the operand", 1, t.mem.readLong(0x100048));
            assertEquals(12, t.reg(RSI));
            assertEquals(12, t.reg(RDI));
            assertEquals("enter 16,0", 0x7ffe8L, t.reg(R8));
            assertEquals("leave", 0x80000L, t.reg(R9));
            assertEquals(0x100040L, t.reg(R10));
            assertEquals("cmpxchg mismatch loads the accumulator", 0, t.reg(RAX));
            assertEquals(0, t.s.rflags() & ZF);
            assertEquals(0x80000L, t.reg(RSP));
        }
    }

    @Test
    public void pageStraddlingInstructionInALoopSeesItsBytesRewritten() {
        try (TestMachine t = new TestMachine()) {
            // mov ecx, 3; xor eax, eax; jmp 0x10ffe
            t.longMode("b90300000031c0e9f20f0000");
            // 0x10ffe: add rax, 1 (imm32 on the next page); 0x11004: mov byte [0x11000], 2; dec ecx; jnz 0x10ffe; hlt
            t.load(0x10ffe, "480501000000" + "c6042500100100" + "02" + "ffc9" + "75ee" + "f4");
            t.runToHalt();
            assertEquals("the first pass adds 1, the next two the rewritten 2", 5, t.reg(RAX));
        }
    }

    @Test
    public void x87ArithmeticAndFxsave() {
        try (TestMachine t = new TestMachine()) {
            t.longMode("dbe3d93c2500001000dfe0c704251000100003000000db042510001000d9e8dec1dd042520001000dec9db1c2530001000"
                    + "d9e8d9eedff1ddd80fae042500011000c7042500021000801f00000fae1425000210000fae1c2504021000f4");
            t.mem.writeLong(0x100020, Double.doubleToRawLongBits(2.5));
            t.s.setGpr(RAX, -1);
            t.runToHalt();
            assertEquals(0x37f, t.mem.readShort(0x100000));
            assertEquals("fnstsw ax after fninit", 0, t.reg(RAX) & 0xffff);
            assertEquals("(3 + 1) * 2.5", 10, t.mem.readInt(0x100030));
            assertEquals("fcomip 0 < 1 sets CF", CF, t.s.rflags() & (CF | ZF));
            assertEquals(0x37f, t.mem.readShort(0x100100));
            assertEquals("all registers empty", 0, t.mem.readByte(0x100104));
            assertEquals(0x1f80, t.mem.readInt(0x100100 + 24));
            assertEquals(FpuUnit.MXCSR_MASK, t.mem.readInt(0x100100 + 28));
            assertEquals(0x1f80, t.mem.readInt(0x100204));
        }
    }

    @Test
    public void extendedPrecisionRoundTripsThroughDouble() {
        for (double d : new double[] {0, -0.0, 1, -2.5, Math.PI, 1e300, -1e-300, Double.MIN_VALUE, Double.MAX_VALUE,
                Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY}) {
            long[] x = FpuUnit.fromDouble(d);
            assertEquals(Double.doubleToRawLongBits(d), Double.doubleToRawLongBits(FpuUnit.toDouble(x[0], (int) x[1])));
        }
        long[] one = FpuUnit.fromDouble(1.0);
        assertEquals(0x8000000000000000L, one[0]);
        assertEquals(0x3fff, one[1]);
    }

    @Test
    public void sseByteHelpers() {
        assertEquals(0xff000000000000ffL, SseUnit.cmpeqBytes(0x1100000000000022L, 0x1133333333333322L));
        assertEquals(0b10000001, SseUnit.moveMask(0x8000000000000080L));
        assertEquals(0xff, SseUnit.moveMask(0x8080808080808080L));
    }

    @Test
    public void wideDivision() {
        assertEquals(0x5555555555555555L, Wide.divideUnsigned(1, 0, 3));   // 2^64 / 3, remainder 1
        assertEquals(Long.MIN_VALUE, Wide.divideUnsigned(0x7fffffffffffffffL, -1L, -1L));
        assertEquals(-3, Wide.divideSigned(-1, -7, 2));   // -7 / 2 = -3 remainder -1
        assertEquals(Long.MIN_VALUE, Wide.divideSigned(0, Long.MIN_VALUE, -1));   // +2^63 / -1 fits
        assertDivideError(() -> Wide.divideSigned(-1, Long.MIN_VALUE, -1));        // -2^63 / -1 does not
        assertDivideError(() -> Wide.divideSigned(0, 5, 0));
        assertDivideError(() -> Wide.divideSigned(0, Long.MIN_VALUE, 1));          // +2^63 does not fit
        assertEquals(Long.MIN_VALUE, Wide.divideSigned(-1, Long.MIN_VALUE, 1));    // -2^63 does
    }

    private static void assertDivideError(Runnable r) {
        try {
            r.run();
            org.junit.Assert.fail("no #DE");
        } catch (CpuException e) {
            assertEquals(CpuException.DE, e.vector);
        }
    }

    /** Both divisions against BigInteger, on random and on edge-case operands (normalisation shifts 0..63). */
    @Test
    public void wideDivisionAgainstBigInteger() {
        java.util.Random rnd = new java.util.Random(11);
        java.math.BigInteger two64 = java.math.BigInteger.ONE.shiftLeft(64);
        long[] edge = {1, 2, 3, 0xffffffffL, 0x100000000L, 0x100000001L, Long.MAX_VALUE, Long.MIN_VALUE, -1, -2, 0x80000000L};
        for (int k = 0; k < 200_000; k++) {
            long d = k < 121 ? edge[k % 11] : rnd.nextLong() >>> rnd.nextInt(64);
            long hi = k < 121 ? edge[k / 11] : rnd.nextLong() >>> rnd.nextInt(64);
            long lo = rnd.nextLong();
            if (d == 0) d = 1;
            if (k % 3 == 0 && Long.compareUnsigned(hi, d) >= 0) hi = Long.remainderUnsigned(hi, d);
            java.math.BigInteger n = new java.math.BigInteger(Long.toUnsignedString(hi)).shiftLeft(64)
                    .or(new java.math.BigInteger(Long.toUnsignedString(lo)));
            java.math.BigInteger ud = new java.math.BigInteger(Long.toUnsignedString(d));
            if (Long.compareUnsigned(hi, d) < 0) {
                java.math.BigInteger[] qr = n.divideAndRemainder(ud);
                long q = Wide.divideUnsigned(hi, lo, d);
                assertEquals(hi + ":" + lo + "/" + d, qr[0].longValue(), q);
                assertEquals(qr[1].longValue(), lo - q * d);
            }
            java.math.BigInteger sn = n.testBit(127) ? n.subtract(two64.shiftLeft(64)) : n;
            java.math.BigInteger[] sqr = sn.divideAndRemainder(java.math.BigInteger.valueOf(d));
            boolean fits = sqr[0].bitLength() <= 63;
            try {
                long q = Wide.divideSigned(hi, lo, d);
                assertTrue("quotient should overflow: " + hi + ":" + lo + "/" + d, fits);
                assertEquals(sqr[0].longValue(), q);
                assertEquals(sqr[1].longValue(), lo - q * d);
            } catch (CpuException e) {
                assertFalse("unexpected #DE: " + hi + ":" + lo + "/" + d, fits);
            }
        }
    }
}
