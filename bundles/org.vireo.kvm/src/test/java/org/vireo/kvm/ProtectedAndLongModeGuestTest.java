package org.vireo.kvm;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.fail;
import static org.junit.Assume.assumeTrue;
import static org.vireo.kvm.Asm.R.AX;
import static org.vireo.kvm.Asm.R.BX;
import static org.vireo.kvm.Asm.R.CX;
import static org.vireo.kvm.Asm.R.DI;
import static org.vireo.kvm.Asm.R.DX;
import static org.vireo.kvm.Asm.R.SI;

import java.util.List;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;
import org.junit.runners.Parameterized.Parameter;
import org.junit.runners.Parameterized.Parameters;
import org.vireo.kvm.Recorder.Access;
import org.vireo.kvm.TestAccelerator.Exit;

/**
 * Guests set up by the host in flat 32-bit protected mode and in 64-bit long mode with identity paging, on KVM and
 * on the CPU emulator. On a host whose KVM refuses such a guest the KVM case is skipped only if that host is PVM,
 * naming what it refused; on hardware KVM, and always on the emulator, a refusal fails.
 */
@RunWith(Parameterized.class)
public class ProtectedAndLongModeGuestTest {
    private static final long DEVICE = 0xD000_0000L;

    @Parameters(name = "{0}")
    public static List<TestAccelerator.Kind> accelerators() { return TestAccelerator.both(); }

    @Parameter
    public TestAccelerator.Kind kind;

    private TestAccelerator guest;
    private final Recorder device = new Recorder(offset -> 0x5EED_0000L + offset);
    private final Recorder sink = new Recorder();

    @Before
    public void setUp() {
        guest = kind.open(2 << 20);
        guest.mmio().register(DEVICE, 0x1000, "device", device);
        guest.pio().register(0x500, 4, "sink", sink);
    }

    @After
    public void tearDown() {
        if (guest != null) guest.close();
    }

    /** Runs {@code setup} and the guest to its HLT; skips on a PVM host that refuses, fails elsewhere. */
    private void runOrSkip(String what, Runnable setup) {
        try {
            setup.run();
        } catch (KvmException e) {
            refused(what, "setting the registers failed: " + e.getMessage());
            return;
        }
        Exit r = guest.runToEnd();
        if (r != Exit.HALTED) refused(what, r + ": " + guest.describe());
    }

    private void refused(String what, String detail) {
        String message = kind + " refused a " + what + " guest: " + detail;
        assumeTrue("PVM: " + message, !(guest instanceof KvmTestAccelerator k && k.status.isPvm()));
        fail(message);
    }

    @Test
    public void flatProtectedModeReachesRamAbove1MiBAndMmioAt3_25GiB() {
        byte[] code = Asm.prot32()
                .mov(BX, 0x18_0000, 32)         // mov ebx, 0x180000 (RAM above 1 MiB)
                .mov(AX, 0x1234_5678, 32)       // mov eax, 0x12345678
                .storeIndirectBx(32)            // mov [ebx], eax
                .mov(BX, DEVICE, 32)            // mov ebx, 0xd0000000
                .loadIndirectBx(32)             // mov eax, [ebx]
                .mov(DX, 0x500, 16)             // mov dx, 0x500 (66 BA)
                .outDx(32)                      // out dx, eax
                .storeIndirectBx(32, 8)         // mov [ebx+8], eax
                .hlt()
                .bytes();
        runOrSkip("32-bit protected mode", () -> guest.protectedMode32(code));
        assertEquals(0x1234_5678, guest.memory().readInt(0x18_0000));
        assertEquals(List.of(new Access(false, 0, 4, 0x5EED_0000L), new Access(true, 8, 4, 0x5EED_0000L)), device.accesses());
        assertEquals(List.of(new Access(true, 0, 4, 0x5EED_0000L)), sink.accesses());
    }

    @Test
    public void longModeWithIdentityPagingRunsSixtyFourBitCode() {
        byte[] code = Asm.long64()
                .mov(AX, 0x1122_3344_5566_7788L, 64) // mov rax, 0x1122334455667788
                .mov(DX, 0x500, 16)                  // mov dx, 0x500
                .outDx(32)                           // out dx, eax        (low half)
                .shr(AX, 64, 32)                     // shr rax, 32
                .outDx(32)                           // out dx, eax        (high half)
                .mov(BX, DEVICE + 0x10, 64)          // mov rbx, 0xd0000010
                .loadIndirectBx(64)                  // mov rax, [rbx]     (an 8-byte MMIO load)
                .outDx(32)                           // out dx, eax
                .mov(BX, 0x18_0000, 64)              // mov rbx, 0x180000
                .storeIndirectBx(64)                 // mov [rbx], rax
                .hlt()
                .bytes();
        runOrSkip("64-bit long mode", () -> guest.longMode(code));
        assertEquals(List.of(new Access(true, 0, 4, 0x5566_7788L), new Access(true, 0, 4, 0x1122_3344L),
                new Access(true, 0, 4, 0x5EED_0010L)), sink.accesses());
        assertEquals(List.of(new Access(false, 0x10, 8, 0x5EED_0010L)), device.accesses());
        assertEquals(0x5EED_0010L, guest.memory().readLong(0x18_0000));
        assertEquals("EFER.LMA stays set", SpecialRegisters.EFER_LMA, guest.efer() & SpecialRegisters.EFER_LMA);
    }

    @Test
    public void longModeStringIoUsesTheSixtyFourBitRegisters() {
        int[] counter = {0};
        guest.pio().register(0x402, 1, "bytes", new Recorder(offset -> 'a' + counter[0]++));
        Recorder uart = new Recorder();
        guest.pio().register(0x3F8, 1, "uart", uart);
        byte[] code = Asm.long64()
                .cld()
                .mov(DI, 0x18_0000, 64)              // mov rdi, 0x180000 (RAM above 1 MiB)
                .mov(CX, 5, 64)                      // mov rcx, 5
                .mov(DX, 0x402, 16)                  // mov dx, 0x402
                .repInsb()                           // rep insb: "abcde" into RAM
                .mov(SI, 0x18_0000, 64)              // mov rsi, 0x180000
                .mov(CX, 5, 64)                      // mov rcx, 5
                .mov(DX, 0x3F8, 16)                  // mov dx, 0x3f8
                .repOutsb()                          // rep outsb: back out
                .hlt()
                .bytes();
        runOrSkip("64-bit long mode string I/O", () -> guest.longMode(code));
        assertEquals("abcde", uart.text());
        assertEquals(0x18_0005L, guest.gpr(SI));
        assertEquals(0x18_0005L, guest.gpr(DI));
        assertEquals(0L, guest.gpr(CX));
    }

    @Test
    public void aFaultWithAnEmptyIdtEscalatesToATripleFaultAndShutsDown() {
        guest.longMode(Asm.long64().raw(0x0F, 0x0B).hlt().bytes());   // ud2: #UD, then #DF, then a triple fault
        guest.setIdt(0, 0);
        Exit exit = guest.runToEnd();
        assertEquals(guest.describe(), Exit.SHUTDOWN, exit);
    }
}
