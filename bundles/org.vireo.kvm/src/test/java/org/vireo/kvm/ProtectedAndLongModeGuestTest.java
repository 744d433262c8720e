package org.vireo.kvm;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.fail;
import static org.junit.Assume.assumeTrue;
import static org.vireo.kvm.Asm.R.AX;
import static org.vireo.kvm.Asm.R.BX;
import static org.vireo.kvm.Asm.R.DX;

import java.util.List;
import java.util.function.Supplier;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import org.vireo.kvm.Recorder.Access;

/**
 * Guests set up by the host in flat 32-bit protected mode and in 64-bit long mode with identity paging. On a host
 * whose KVM refuses such a guest these tests are skipped only if that host is PVM, naming what it refused;
 * on hardware KVM a refusal fails them.
 */
public class ProtectedAndLongModeGuestTest {
    private static final long DEVICE = 0xD000_0000L;

    private KvmStatus status;
    private TestGuest guest;
    private final Recorder device = new Recorder(offset -> 0x5EED_0000L + offset);
    private final Recorder sink = new Recorder();

    @Before
    public void setUp() {
        status = TestGuest.assumeKvm();
        guest = new TestGuest(2 << 20);
        guest.mmio.register(DEVICE, 0x1000, "device", device);
        guest.pio.register(0x500, 4, "sink", sink);
    }

    @After
    public void tearDown() {
        if (guest != null) guest.close();
    }

    /** Runs {@code setup} and the guest; skips on a PVM host that refuses, fails elsewhere. */
    private void runOrSkip(String what, Supplier<KvmVcpu> setup) {
        KvmVcpu v;
        try {
            v = setup.get();
        } catch (KvmException e) {
            refused(what, "setting the registers failed: " + e.getMessage());
            return;
        }
        StopReason r = guest.run(v);
        if (r != StopReason.HALTED) refused(what, r + ": " + v.lastError().orElse("(no detail)"));
    }

    private void refused(String what, String detail) {
        String message = "the host's KVM refused a " + what + " guest: " + detail;
        assumeTrue("PVM: " + message, !status.isPvm());
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
        assertEquals(0x1234_5678, guest.memory.readInt(0x18_0000));
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
        assertEquals(0x5EED_0010L, guest.memory.readLong(0x18_0000));
        SpecialRegisters s = guest.vcpu().specialRegisters();
        assertEquals("EFER.LMA stays set", SpecialRegisters.EFER_LMA, s.efer() & SpecialRegisters.EFER_LMA);
    }
}
