package org.vireo.vmm;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.io.ByteArrayOutputStream;
import java.util.HashSet;
import java.util.Set;
import org.junit.Test;

public class X86MachineTest {
    @Test
    public void aPcWithPicLinesForPci() {
        try (X86Machine m = new X86Machine("t", 64L << 20, new ByteArrayOutputStream(), () -> { })) {
            assertEquals(64L << 20, m.memory().size());
            assertFalse(m.javaGuest().isPresent());
            assertTrue(m.interrupts() == m.platform().pic());
            Set<Integer> irqs = new HashSet<>();
            for (int i = 0; i < X86Machine.PCI_IRQS.length; i++) irqs.add(m.allocateIrq());
            assertTrue(irqs.containsAll(Set.of(5, 9, 10, 11)));
            assertEquals(X86Machine.PCI_IRQS.length, irqs.size());
            assertFalse("legacy lines are never handed out", irqs.contains(0) || irqs.contains(1) || irqs.contains(2)
                    || irqs.contains(4) || irqs.contains(8) || irqs.contains(12));
            assertThrows(IllegalStateException.class, m::allocateIrq);
            assertEquals("PCI lines are level triggered", 0x20, m.pio().read(0x4d0, 1) & 0x20);
            m.releaseIrq(5);
            assertEquals(0, m.pio().read(0x4d0, 1) & 0x20);
            assertEquals(5, m.allocateIrq());
            m.interrupts().line(10).raise();
            assertEquals(1 << 10, m.platform().pic().requested() & 1 << 10);
        }
    }

    @Test
    public void withAcpiLine9IsTheSciAndTheGuestProgramsTheElcr() {
        try (X86Machine m = new X86Machine("t", 64L << 20, new ByteArrayOutputStream(), () -> { }, () -> { }, true)) {
            assertTrue(m.acpi());
            Set<Integer> irqs = new HashSet<>();
            for (int i = 0; i < X86Machine.PCI_IRQS.length - 1; i++) irqs.add(m.allocateIrq());
            assertFalse("9 is the SCI", irqs.contains(9));
            assertThrows(IllegalStateException.class, m::allocateIrq);
            assertEquals("only the SCI is level: Linux sets the routed lines itself", 0x0200,
                    m.pio().read(0x4d0, 1) | m.pio().read(0x4d1, 1) << 8);
            org.vireo.x86.acpi.AcpiTables.Image image = m.writeAcpiTables();
            byte[] signature = new byte[8];
            m.memory().read(X86Machine.ACPI_TABLES, signature, 0, 8);
            assertEquals("RSD PTR ", new String(signature, java.nio.charset.StandardCharsets.US_ASCII));
            assertEquals(X86Machine.ACPI_TABLES, image.rsdp());
            assertTrue(image.bytes().length <= 0x2_0000);
        }
        try (X86Machine m = new X86Machine("t", 64L << 20, new ByteArrayOutputStream(), () -> { }, () -> { }, true)) {
            m.addHotplugSlot();
            int line = m.hotplugSlot().get().configRead(0x3c, 1);
            assertEquals("with a hot-plug slot (pci=noacpi) PCI lines are level as without ACPI", 0x0200 | 1 << line,
                    m.pio().read(0x4d0, 1) | m.pio().read(0x4d1, 1) << 8);
            assertTrue("bridges have no route", m.pciRoutes().isEmpty());
        }
    }

    @Test
    public void noHotplugSlotUnlessAsked() {
        try (X86Machine m = new X86Machine("t", 32L << 20, new ByteArrayOutputStream(), () -> { })) {
            assertFalse(m.hotplugSlot().isPresent());
            assertEquals(null, m.pci().function(1));
        }
    }

    @Test
    public void aHotplugSlotIsARootPortOnBusZeroWithWindowAndLevelLine() {
        try (X86Machine m = new X86Machine("t", 32L << 20, new ByteArrayOutputStream(), () -> { })) {
            org.vireo.bus.pci.PcieRootPort port = m.addHotplugSlot();
            assertTrue(port == m.addHotplugSlot());
            assertTrue(port == m.pci().function(1));
            m.pio().write(0xcf8, 4, 0x8000_0800L);                    // 00:01.0, through the host bridge
            assertEquals(0x000c_1b36L, m.pio().read(0xcfc, 4));
            long[] window = port.memoryWindow();
            assertTrue(window[0] >= X86Machine.MMIO_BASE && window[1] < X86Machine.MMIO_END);
            assertEquals(X86Machine.HOTPLUG_WINDOW, window[1] - window[0] + 1);
            int line = port.configRead(0x3c, 1);
            assertEquals("the slot's line is level triggered", 1 << line, (m.pio().read(0x4d0, 1) | m.pio().read(0x4d1, 1) << 8) & 1 << line);
            long next = m.mmioSpace().allocate(0x1000, 0x1000);
            assertTrue("the window is reserved", next > window[1] || next + 0x1000 <= window[0]);
            m.pio().write(0xcf8, 4, 0x8001_0000L);                    // 01:00.0: empty slot
            assertEquals(0xffff_ffffL, m.pio().read(0xcfc, 4));
        }
    }

    @Test
    public void busesAndWindows() {
        try (X86Machine m = new X86Machine("t", 32L << 20, new ByteArrayOutputStream(), () -> { })) {
            m.pio().write(0xcf8, 4, 0x8000_0000L);
            assertEquals(0x1237_8086L, m.pio().read(0xcfc, 4));
            long window = m.mmioSpace().allocate(0x1000, 0x1000);
            assertTrue(window >= X86Machine.MMIO_BASE && window + 0x1000 <= X86Machine.MMIO_END);
            assertEquals(1, m.pci().attach(new org.vireo.bus.pci.PciFunction() {
                @Override public int configRead(int offset, int size) { return 0; }
                @Override public void configWrite(int offset, int size, int value) { }
            }));
        }
    }

    @Test
    public void memoryMustFitBelowTheHole() {
        assertThrows(IllegalArgumentException.class, () -> new X86Machine("t", (3L << 30) + 4096, new ByteArrayOutputStream(), () -> { }));
        assertThrows(IllegalArgumentException.class, () -> new X86Machine("t", 1L << 20, new ByteArrayOutputStream(), () -> { }));
    }

    @Test
    public void withApicsTheLocalApicAndIoApicAreMappedMsisReachTheCpuAndTheTablesHaveAMadt() {
        try (X86Machine m = new X86Machine("t", 64L << 20, new ByteArrayOutputStream(), () -> { }, () -> { }, true, true)) {
            assertTrue(m.localApic().isPresent());
            assertEquals("the local APIC's version register", 0x0005_0014L, m.mmio().read(0xFEE0_0030L, 4));
            assertEquals("the IOAPIC's version register", 0x0017_0020L, ioApicRegister(m, 1));
            m.mmio().write(0xFEE0_00F0L, 4, 0x1ff);                  // software enable
            m.interrupts().sendMsi(0xFEE0_0000L, 0x41);
            assertTrue(m.localApic().get().interruptPending());
            assertEquals(0x41, m.localApic().get().acknowledgeInterrupt());
            org.vireo.x86.acpi.AcpiTables.Image image = m.writeAcpiTables();
            byte[] signature = new byte[4];
            m.memory().read(image.madt(), signature, 0, 4);
            assertEquals("APIC", new String(signature, java.nio.charset.StandardCharsets.US_ASCII));
        }
        try (X86Machine m = new X86Machine("t", 64L << 20, new ByteArrayOutputStream(), () -> { }, () -> { }, true)) {
            assertFalse(m.localApic().isPresent());
            assertEquals("no MADT", 0, m.writeAcpiTables().madt());
        }
        assertThrows("the MADT is ACPI's", IllegalArgumentException.class,
                () -> new X86Machine("t", 64L << 20, new ByteArrayOutputStream(), () -> { }, () -> { }, false, true));
    }

    private static long ioApicRegister(X86Machine m, int index) {
        m.mmio().write(0xFEC0_0000L, 4, index);
        return m.mmio().read(0xFEC0_0010L, 4);
    }

    @Test
    public void virtioMmioDevicesDescribedToTheMachineAreInTheDsdtUntilWithdrawn() throws Exception {
        try (X86Machine m = new X86Machine("t", 64L << 20, new ByteArrayOutputStream(), () -> { }, () -> { }, true, true)) {
            org.vireo.bus.Registration r = m.describeVirtioMmio(0xC000_0000L, 0x200, 5);
            assertTrue(dsdtContains(m, "LNRO0005"));
            r.close();
            assertFalse(dsdtContains(m, "LNRO0005"));
        }
    }

    private static boolean dsdtContains(X86Machine m, String text) {
        org.vireo.x86.acpi.AcpiTables.Image image = m.writeAcpiTables();
        int from = (int) (image.dsdt() - image.base());
        String dsdt = new String(image.bytes(), from, image.bytes().length - from, java.nio.charset.StandardCharsets.ISO_8859_1);
        return dsdt.contains(text);
    }
}
