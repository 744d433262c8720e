package org.vireo.kvm;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/**
 * What the host's KVM cannot emulate ends in a plain ERROR naming it (PVM); elsewhere the same guest triple-faults.
 * The triple fault itself is checked on both accelerators in {@link ProtectedAndLongModeGuestTest}.
 */
public class FaultGuestTest {
    private KvmStatus status;
    private TestGuest guest;

    @Before
    public void setUp() {
        status = TestGuest.assumeKvm();
        guest = new TestGuest(2 << 20);
    }

    @After
    public void tearDown() {
        if (guest != null) guest.close();
    }

    /** Long mode with an empty IDT: any exception becomes a double fault and then a triple fault. */
    private KvmVcpu longModeWithoutIdt(byte[] code) {
        KvmVcpu v = guest.longMode(code);
        SpecialRegisters s = v.specialRegisters();
        v.setSpecialRegisters(s.withTables(s.tr(), s.ldt(), s.gdt(), new DescriptorTable(0, 0)));
        return v;
    }

    @Test
    public void anInstructionTheHostCannotEmulateIsReportedPlainly() {
        // int3 with no IDT: a triple fault on hardware KVM; PVM cannot emulate the int3 at all.
        KvmVcpu v = longModeWithoutIdt(Asm.long64().raw(0xCC).hlt().bytes());
        StopReason r = guest.run(v);
        if (r == StopReason.ERROR) {
            String message = v.lastError().orElseThrow();
            assertTrue("only PVM refuses this guest: " + message, status.isPvm());
            assertTrue(message, message.contains("KVM could not emulate an instruction (bytes cc f4"));
            assertTrue(message, message.contains("The host's KVM cannot run this guest"));
            assertTrue(message, message.contains(KvmStatus.PVM_REASON));
            assertTrue(message, message.contains("rip 0x1000"));
        } else {
            assertEquals(StopReason.SHUTDOWN, r);
        }
    }
}
