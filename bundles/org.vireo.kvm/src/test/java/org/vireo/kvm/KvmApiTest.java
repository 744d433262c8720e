package org.vireo.kvm;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.OptionalLong;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import org.vireo.memory.GuestMemory;
import org.vireo.memory.MemoryRegion;

/** The host-facing API on a live KVM: capabilities, CPUID, memory slot checks, and misuse refused with reasons. */
public class KvmApiTest {
    private TestGuest guest;

    @Before
    public void setUp() {
        TestGuest.assumeKvm();
        guest = new TestGuest(1 << 20);
    }

    @After
    public void tearDown() {
        if (guest != null) guest.close();
    }

    @Test
    public void capabilitiesAndCpuidAreReported() {
        Kvm kvm = guest.kvm;
        assertEquals(12, kvm.apiVersion());
        assertTrue(kvm.has(KvmCapability.USER_MEMORY));
        assertTrue(kvm.check(KvmCapability.NR_MEMSLOTS) > 0);
        assertTrue(kvm.vcpuMmapSize() >= 4096);
        List<CpuidEntry> cpuid = kvm.supportedCpuid();
        assertTrue("leaf 0 is always there", cpuid.stream().anyMatch(e -> e.function() == 0));
        assertTrue(cpuid == kvm.supportedCpuid());
        assertEquals(KvmStatus.pvmModuleLoaded(), kvm.isPvm());
    }

    @Test
    public void guestMemoryMustBeNativeAndPageAligned() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment heap = MemorySegment.ofArray(new byte[8192]);
            assertThrows(IllegalArgumentException.class, () -> guest.vm.setMemoryRegion(5, 0x200000, heap, false));
            MemorySegment page = arena.allocate(8192, 4096);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> guest.vm.setMemoryRegion(5, 0x200000, page.asSlice(16, 4096), false));
            assertTrue(e.getMessage(), e.getMessage().contains("not page aligned"));
            assertThrows(IllegalArgumentException.class, () -> guest.vm.setMemoryRegion(5, 0x200800, page.asSlice(0, 4096), false));
            assertThrows(IllegalArgumentException.class, () -> guest.vm.setMemoryRegion(5, 0x200000, page.asSlice(0, 100), false));
        }
    }

    @Test
    public void overlappingSlotsAreRefusedByKvmWithTheIoctlNamed() {
        try (Arena arena = Arena.ofConfined()) {
            GuestMemory overlapping = new GuestMemory(List.of(new MemoryRegion(0x80000, arena.allocate(0x10000, 4096))));
            KvmException e = assertThrows(KvmException.class, () -> guest.vm.mapMemory(overlapping));
            assertTrue(e.getMessage(), e.getMessage().startsWith("KVM_SET_USER_MEMORY_REGION slot 1 [0x80000, +0x10000) failed: EEXIST"));
            assertEquals(17, e.errno());
        }
    }

    @Test
    public void interruptMisuseIsRefusedWithAReason() {
        assertFalse(guest.vm.hasIrqchip());
        IllegalStateException noChip = assertThrows(IllegalStateException.class, () -> guest.vm.setIrqLine(4, true));
        assertTrue(noChip.getMessage(), noChip.getMessage().contains("needs the in-kernel irqchip"));
        assertThrows(IllegalStateException.class, () -> guest.vm.irqfd(4));
        assertThrows(IllegalArgumentException.class, () -> guest.vm.ioeventfd(IoSpace.PIO, 0x600, 3, OptionalLong.empty()));
        assertThrows(IllegalArgumentException.class, () -> guest.vm.ioeventfd(IoSpace.PIO, 0x600, 0, OptionalLong.of(1)));
        KvmVcpu v = guest.vcpu();
        assertThrows(IllegalArgumentException.class, () -> v.queueInterrupt(256));
        IllegalStateException late = assertThrows(IllegalStateException.class, guest.vm::createInKernelDevices);
        assertTrue(late.getMessage(), late.getMessage().contains("before the vCPUs"));
    }

    @Test
    public void inKernelDevicesAreCreatedOrExplained() {
        InKernelDevices d = guest.vm.createInKernelDevices();
        assertEquals(d.irqchip(), guest.vm.hasIrqchip());
        assertEquals(d.pit(), guest.vm.hasPit());
        if (!d.irqchip() || !d.pit()) assertFalse("a refusal carries a note", d.notes().isEmpty());
        assertEquals("a second call is harmless", d, guest.vm.createInKernelDevices());
        if (d.irqchip()) {
            KvmVcpu v = guest.vcpu();
            assertThrows(IllegalStateException.class, () -> v.queueInterrupt(0x20));
            guest.vm.interruptController().line(3).pulse();
        }
    }

    @Test
    public void registersRoundTrip() {
        KvmVcpu v = guest.realMode(Asm.real().hlt().bytes());
        Registers r = Registers.fromArray(new long[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, TestGuest.CODE, 0x2});
        v.setRegisters(r);
        assertEquals(r, v.registers());
        SpecialRegisters s = v.specialRegisters();
        v.setSpecialRegisters(s);
        assertEquals(s, v.specialRegisters());
        assertEquals(StopReason.HALTED, guest.run(v));
        assertEquals("general registers survive a run", 12, v.registers().r11());
    }

    @Test
    public void virtualThreadsMayNotRunAVcpu() throws Exception {
        KvmVcpu v = guest.realMode(Asm.real().hlt().bytes());
        Throwable[] thrown = new Throwable[1];
        Thread t = Thread.ofVirtual().start(() -> {
            try {
                v.run();
            } catch (Throwable e) {
                thrown[0] = e;
            }
        });
        t.join(10_000);
        assertTrue(String.valueOf(thrown[0]), thrown[0] instanceof IllegalStateException);
        assertEquals("a platform thread may", StopReason.HALTED, guest.run(v));
    }

    @Test
    public void aClosedVcpuRefusesUseAndIgnoresStops() {
        KvmVcpu v = guest.vcpu();
        v.close();
        v.requestStop();
        assertThrows(IllegalStateException.class, v::run);
        assertThrows(IllegalStateException.class, v::registers);
        assertTrue(guest.vm.vcpus().isEmpty());
        v.close();
    }
}
