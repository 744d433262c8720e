package org.vireo.x86.cpu;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.util.Arrays;
import org.junit.Test;

/**
 * Decoder corner cases, encodings from GNU as. (During development the decoder's lengths were also checked
 * against objdump over the 7.1 million instructions of the Debian kernel's text and the static busybox: no
 * mismatch, and #UD only for extensions the CPU does not advertise.)
 */
public class DecoderTest {
    private final Decoder decoder = new Decoder();

    private Insn decode(String hex, int mode) {
        byte[] b = TestMachine.hex(hex);
        byte[] buf = Arrays.copyOf(b, b.length + 16);
        Insn i = decoder.decode(buf, 0, buf.length, mode);
        assertEquals("length of " + hex, b.length, i.len);
        return i;
    }

    private Insn decode(String hex) { return decode(hex, Decoder.MODE64); }

    @Test
    public void prefixesRexAndAddressing() {
        Insn i = decode("65f04c0fb1bcd878563412");   // lock cmpxchg gs:[rax+rbx*8+0x12345678], r15
        assertEquals(Ops.CMPXCHG, i.op);
        assertEquals(8, i.size);
        assertEquals(15, i.reg);
        assertEquals(CpuState.GS, i.seg);
        assertEquals(CpuState.RBX, i.index);
        assertEquals(3, i.scale);
        assertEquals(0x12345678L, i.disp);
        assertTrue((i.prefixes & Insn.LOCK) != 0);

        i = decode("67668b00");                         // mov ax, [eax]
        assertEquals(Ops.MOV_R_RM, i.op);
        assertEquals(2, i.size);
        assertEquals(0xffffffffL, i.addrMask);

        i = decode("67438b0448");                       // mov eax, [r8d+r9d*2]
        assertEquals(8, i.base);
        assertEquals(9, i.index);

        i = decode("66440f700d000100001b");             // pshufd xmm9, [rip+0x100], 0x1b
        assertEquals(Ops.SSE, i.op);
        assertEquals(9, i.reg);
        assertTrue(i.ripRel);
        assertEquals(0x1b, i.imm);
        assertEquals(1 << 12 | 0x70, i.sub);
    }

    @Test
    public void immediatesAndSpecialForms() {
        Insn i = decode("48b88877665544332211");        // movabs rax, imm64
        assertEquals(0x1122334455667788L, i.imm);
        i = decode("a08877665544332211");               // movabs al, [moffs64]
        assertEquals(Ops.MOV_R_RM, i.op);
        assertEquals(0x1122334455667788L, i.disp);
        i = decode("4c6955f845230100");                 // imul r10, [rbp-8], 0x12345
        assertEquals(Ops.IMUL_R_RM_I, i.op);
        assertEquals(0x12345, i.imm);
        assertEquals(-8, i.disp);
        i = decode("ff2510000000");                     // jmp [rip+0x10]
        assertEquals(Ops.JMP_RM, i.op);
        assertEquals(8, i.size);
        i = decode("f348ab");                           // rep stosq
        assertEquals(Ops.STOS, i.op);
        assertEquals(1, i.sub);
        assertEquals(8, i.size);
        i = decode("4990");                             // xchg r8, rax (not a NOP)
        assertEquals(Ops.XCHG, i.op);
        assertEquals(Ops.NOP, decode("f30f1efa").op);   // endbr64
        assertEquals(Ops.NOP, decode("2e660f1f0400").op);
        assertEquals(Ops.PAUSE, decode("f390").op);
    }

    @Test
    public void byteRegistersDependOnRex() {
        Insn i = decode("88fc");                        // mov ah, bh
        assertEquals("BH", 0x20 | 3, i.reg);
        assertEquals("AH", 0x20, i.rm);
        i = decode("4088de");                           // mov sil, bl
        assertEquals(6, i.rm);
        assertEquals(3, i.reg);
        i = decode("f644240801");                       // test byte [rsp+8], 1: group digit is not a byte register
        assertEquals(Ops.TEST_RM_I, i.op);
        assertEquals(CpuState.RSP, i.base);
    }

    @Test
    public void invalidEncodings() {
        byte[] vex = TestMachine.hex("c5f8770000000000");
        assertEquals("VEX (vzeroupper) is not supported", Ops.UD, decoder.decode(vex, 0, vex.length, Decoder.MODE64).op);
        assertEquals(Ops.UD, decode("0f0b").op);
        assertEquals("push es is invalid in 64-bit mode", Ops.UD, decode("06").op);
        assertEquals(Ops.PUSH_SEG, decode("06", Decoder.MODE32).op);
        assertEquals("inc eax in 32-bit mode", Ops.INC, decode("40", Decoder.MODE32).op);
        byte[] longest = TestMachine.hex("6666666666666666666666666666669090");
        Insn i = decoder.decode(longest, 0, longest.length, Decoder.MODE64);
        assertEquals("more than 15 bytes: #GP", Ops.GP0, i.op);
    }

    @Test
    public void truncatedWindowAsksForMoreBytes() {
        byte[] b = TestMachine.hex("48b888776655");
        try {
            decoder.decode(b, 0, b.length, Decoder.MODE64);
            throw new AssertionError("expected Truncated");
        } catch (Decoder.Truncated expected) {
            assertFalse(expected.getMessage() != null && expected.getMessage().isEmpty());
        }
    }

    @Test
    public void sixteenBitAddressing() {
        Insn i = decode("8b4206", Decoder.MODE16);       // mov ax, [bp+si+6]
        assertEquals(2, i.size);
        assertEquals(CpuState.RBP, i.base);
        assertEquals(CpuState.RSI, i.index);
        assertEquals(CpuState.SS, i.seg);
        assertEquals(6, i.disp);
        i = decode("668b060010", Decoder.MODE16);        // mov eax, [0x1000]
        assertEquals(4, i.size);
        assertEquals(CpuState.NOREG, i.base);
        assertEquals(0x1000, i.disp);
    }
}
