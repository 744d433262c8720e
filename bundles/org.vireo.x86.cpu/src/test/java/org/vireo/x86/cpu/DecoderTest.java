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
    public void x86V2Encodings() {   // lengths and operands of POPCNT, CRC32, SSE3, SSSE3, SSE4.1/4.2 forms (GNU as)
        Insn i = decode("f30fb8c1");                    // popcnt eax, ecx
        assertEquals(Ops.POPCNT, i.op);
        assertEquals(4, i.size);
        i = decode("f3480fb80c24");                     // popcnt rcx, [rsp]
        assertEquals(8, i.size);
        assertEquals(CpuState.RSP, i.base);
        i = decode("66f3440fb80d10000000");             // popcnt r9w, [rip+0x10]
        assertEquals(2, i.size);
        assertEquals(9, i.reg);
        assertTrue(i.ripRel);
        i = decode("f20f38f0c1");                       // crc32 eax, cl
        assertEquals(Ops.CRC32, i.op);
        assertEquals(1, i.size2);
        assertEquals(4, i.size);
        assertEquals("AH without REX", 0x20, decode("f20f38f0c4").rm);   // crc32 eax, ah
        assertEquals("SIL with REX", 6, decode("f2440f38f0d6").rm);      // crc32 r10d, sil
        i = decode("66f20f38f1c1");                     // crc32 eax, cx
        assertEquals(2, i.size2);
        i = decode("f2480f38f18c2480000000");           // crc32 rcx, qword [rsp+0x80]
        assertEquals(8, i.size2);
        assertEquals(8, i.size);
        assertEquals(0x80, i.disp);
        i = decode("660f3a0fc108");                     // palignr xmm0, xmm1, 8
        assertEquals(Ops.SSE, i.op);
        assertEquals(1 << 12 | 0x20f, i.sub);
        assertEquals(8, i.imm);
        i = decode("0f3a0f500803");                     // palignr mm2, [rax+8], 3
        assertEquals(0x20f, i.sub);
        assertEquals(3, i.imm);
        i = decode("66450f3a63c80c");                   // pcmpistri xmm9, xmm8, 0xc
        assertEquals(9, i.reg);
        assertEquals(8, i.rm);
        assertEquals(1 << 12 | 0x263, i.sub);
        decode("660f3a6344241010");                     // pcmpistri xmm0, [rsp+0x10], 0x10
        i = decode("66430f3a609cac0001000044");         // pcmpestrm xmm3, [r12+r13*4+0x100], 0x44
        assertEquals(12, i.base);
        assertEquals(13, i.index);
        assertEquals(0x44, i.imm);
        i = decode("66480f3a16c001");                   // pextrq rax, xmm0, 1
        assertTrue((i.prefixes & Insn.REXW) != 0);
        i = decode("66440f3a14370f");                   // pextrb [rdi], xmm14, 15
        assertEquals(14, i.reg);
        assertEquals(CpuState.RDI, i.base);
        decode("664d0f3a22fb01");                       // pinsrq xmm15, r11, 1
        assertEquals(0x100, decode("0f3800c1").sub);    // pshufb mm0, mm1
        assertEquals(10, decode("66440f380015" + "00000000").reg);   // pshufb xmm10, [rip]
        assertEquals(1 << 12 | 0x117, decode("660f38170d00000000").sub);   // ptest xmm1, [rip]
        assertEquals(3 << 12 | 0xf0, decode("f20ff00e").sub);   // lddqu xmm1, [rsi]
        assertEquals(3 << 12 | 0x12, decode("f20f1214cb").sub); // movddup xmm2, [rbx+rcx*8]
        decode("660f383222");                           // pmovzxbq xmm4, word [rdx]
        assertEquals(4, decode("660f3a0b6df804").imm);  // roundsd xmm5, [rbp-8], 4
        decode("660f3a210830");                         // insertps xmm1, [rax], 0x30
        assertEquals("pextrd eax, xmm0, 1 in 32-bit mode", 1, decode("660f3a16c001", Decoder.MODE32).imm);
        assertEquals("movbe is not advertised", Ops.UD, decode("0f38f00e").op);
        assertEquals("F3 0F 38 F0 is not CRC32", Ops.UD, decode("f30f38f0c1").op);
        assertEquals("0F B8 without F3", Ops.UD, decode("0fb8c1").op);
    }

    /** Runs {@code hex} then HLT; #UD and #GP handlers load 6 or 13 into RAX. Returns RAX (0: no fault). */
    private static long faultOf(String hex) {
        try (TestMachine t = new TestMachine()) {
            t.longMode(hex + "f4");
            t.load(TestMachine.CODE + 0x100, "b806000000f4");
            t.load(TestMachine.CODE + 0x180, "b80d000000f4");
            t.gate(6, TestMachine.CODE + 0x100, 0, 0, false);
            t.gate(13, TestMachine.CODE + 0x180, 0, 0, false);
            t.s.setGpr(CpuState.RAX, 0);
            t.s.setGpr(CpuState.RBX, TestMachine.DATA + 1);   // misaligned for 16-byte operands
            t.runToHalt();
            return t.reg(CpuState.RAX);
        }
    }

    @Test
    public void x86V2PrefixesThatMakeAnEncodingInvalid() {
        String[] invalid = {
            "0fb8c1",          // popcnt needs F3
            "0f38f0c1", "0f38f00e", "f30f38f0c1",   // movbe (not advertised), F3 instead of F2
            "f30f3800c1", "f20f3800c1",             // pshufb with F3/F2
            "0f3817c1", "0f3a63c100", "0f3a16c001", // SSE4 forms have no MMX (unprefixed) form
            "f20ff0c1", "660ff00e",                 // lddqu: memory only, F2 only
            "f30f7cc1", "0fd0c1", "f20f16c1",       // haddps with F3, addsub unprefixed, F2 0F 16
            "660f382ac1", "660f3836c1",             // movntdqa from a register; 66 0F 38 36 is not defined
            "0f380fc1", "0f3820c1",                 // no MMX form outside SSSE3
        };
        for (String hex : invalid) assertEquals(hex, 6, faultOf(hex));
        String[] valid = {"660f3800c1", "0f3800c1", "f30fb8d9", "f20f38f0d9", "660f3a63c10c", "0f3a0fc107", "f20f12c1",
            "660f3a630300", "f20ff003", "0f380003"};   // the last three: unaligned memory is fine here
        for (String hex : valid) assertEquals(hex, 0, faultOf(hex));
        assertEquals("ptest needs an aligned m128", 13, faultOf("660f381703"));
        assertEquals("pshufb xmm needs an aligned m128", 13, faultOf("660f380003"));
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
