package org.vireo.difftest;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.util.HexFormat;
import org.junit.Test;

public class InsnInfoTest {
    private static InsnInfo classify(String hex, int bits, long rcx) {
        RegisterSet r = new RegisterSet();
        for (String g : RegisterSet.GPRS) r.put(g, 0);
        r.put("rcx", rcx);
        return InsnInfo.classify(HexFormat.of().parseHex(hex), bits, r);
    }

    private static InsnInfo classify(String hex) { return classify(hex, 64, 0); }

    @Test
    public void shiftByMaskedZeroComparesAllFlags() {
        assertEquals(0, classify("48d3e0", 64, 64).undefinedFlags());     // shl rax, cl=64: masked to 0
        assertEquals(0, classify("d3e0", 64, 32).undefinedFlags());       // shl eax, cl=32: masked to 0
    }

    @Test
    public void shiftByOneLeavesOnlyAf() {
        assertEquals(InsnInfo.AF, classify("48d1e0").undefinedFlags());          // shl rax, 1
        assertEquals(InsnInfo.AF, classify("48d3e0", 64, 65).undefinedFlags());  // cl=65 masks to 1
    }

    @Test
    public void longerShiftsLeaveOfUndefined() {
        assertEquals(InsnInfo.AF | InsnInfo.OF, classify("48c1e01f").undefinedFlags());     // shl rax, 31
        assertEquals(InsnInfo.AF | InsnInfo.OF | InsnInfo.CF, classify("c0e010").undefinedFlags()); // shl al, 16
        assertEquals(InsnInfo.OF, classify("48c1d33f").undefinedFlags());                    // rcl rbx, 63
        assertEquals(0, classify("d0c0").undefinedFlags());                                  // rol al, 1
    }

    @Test
    public void multiplyAndDivide() {
        assertEquals(InsnInfo.SF | InsnInfo.ZF | InsnInfo.AF | InsnInfo.PF, classify("48f7e3").undefinedFlags()); // mul rbx
        assertEquals(InsnInfo.ALL_ARITH, classify("48f7f1").undefinedFlags());                                  // div rcx
        assertEquals(InsnInfo.SF | InsnInfo.ZF | InsnInfo.AF | InsnInfo.PF, classify("4869d3ffffff7f").undefinedFlags());
        assertEquals(0, classify("48f7d8").undefinedFlags());                                                   // neg rax
    }

    @Test
    public void logicLeavesAfUndefinedAndArithmeticDoesNot() {
        assertEquals(InsnInfo.AF, classify("4821d8").undefinedFlags());       // and rax, rbx
        assertEquals(InsnInfo.AF, classify("4883e00f").undefinedFlags());     // and rax, 0xf
        assertEquals(0, classify("4883c00f").undefinedFlags());               // add rax, 0xf
        assertEquals(InsnInfo.AF, classify("664281f03412").undefinedFlags()); // 66 REX xor ax-form with imm16
    }

    @Test
    public void repStringsAndTheirLength() {
        InsnInfo i = classify("f3aa");
        assertTrue(i.repString());
        assertEquals(2, i.length());
        InsnInfo q = classify("f348a5");
        assertTrue(q.repString());
        assertEquals(3, q.length());
        assertFalse(classify("aa").repString());
    }

    @Test
    public void hostDependentInstructionsAreResynced() {
        assertTrue(classify("0fa2").hostDependent());      // cpuid
        assertTrue(classify("0f31").hostDependent());      // rdtsc
        assertTrue(classify("0f01f9").hostDependent());    // rdtscp
        assertTrue(classify("ec").hostDependent());        // in al, dx
        assertTrue(classify("48 0fc7f0".replace(" ", "")).hostDependent());  // rdrand rax
        assertFalse(classify("0f01d0").hostDependent());   // xgetbv-class 0f 01 forms are not
    }

    @Test
    public void shldPastSixteenBitsHasUndefinedResult() {
        assertTrue(classify("660fa4d011").undefinedResult());    // shld ax, dx, 17
        assertFalse(classify("0fa4d011").undefinedResult());     // shld eax, edx, 17
        assertEquals(0, classify("480fa5d0", 64, 64).undefinedFlags());   // shld rax, rdx, cl=64 -> 0
    }

    @Test
    public void sixteenBitCodeUsesSixteenBitOperands() {
        // In real mode, 66 makes the group-1 immediate 32 bits; the classification must still find the logic op.
        assertEquals(InsnInfo.AF, classify("6625ffffff9f", 16, 0).undefinedFlags());
        assertTrue(classify("f4", 16, 0).halt());
    }
}
