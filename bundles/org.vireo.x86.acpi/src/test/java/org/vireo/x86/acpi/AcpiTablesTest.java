package org.vireo.x86.acpi;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.Test;

public class AcpiTablesTest {
    static AcpiTables.Config config(List<AcpiTables.PciRoute> routes, List<AcpiTables.MmioDevice> mmio) {
        return new AcpiTables.Config(AcpiTables.DEFAULT_BASE, 0x600, 0x604, 0x608, 9, 0xcf9, 6,
                0xc000_0000L, 0xfec0_0000L, routes, mmio);
    }

    private final AcpiTables.Image image = AcpiTables.build(config(
            List.of(new AcpiTables.PciRoute(1, 1, 5), new AcpiTables.PciRoute(2, 1, 10)),
            List.of(new AcpiTables.MmioDevice(0xd000_0000L, 0x200, 11))));
    private final ByteBuffer mem = ByteBuffer.wrap(image.bytes()).order(ByteOrder.LITTLE_ENDIAN);

    private int at(long address) { return (int) (address - image.base()); }

    private String signature(long address) {
        return new String(image.bytes(), at(address), 4, StandardCharsets.US_ASCII);
    }

    private int length(long address) { return mem.getInt(at(address) + 4); }

    @Test
    public void rsdpHasBothChecksumsAndPointsAtTheXsdt() {
        int r = at(image.rsdp());
        assertEquals(0, r);
        assertEquals("RSD PTR ", new String(image.bytes(), r, 8, StandardCharsets.US_ASCII));
        assertEquals(0, AcpiTables.sum(image.bytes(), r, r + 20));
        assertEquals(0, AcpiTables.sum(image.bytes(), r, r + 36));
        assertEquals(2, image.bytes()[r + 15]);
        assertEquals(36, mem.getInt(r + 20));
        assertEquals(image.xsdt(), mem.getLong(r + 24));
        assertEquals("the legacy scan looks at 16-byte boundaries", 0, image.rsdp() % 16);
    }

    @Test
    public void everyTableSumsToZeroAndHasItsLength() {
        for (long t : new long[] {image.xsdt(), image.fadt(), image.dsdt()}) {
            int len = length(t);
            assertTrue(signature(t), at(t) + len <= image.bytes().length);
            assertEquals(signature(t) + " checksum", 0, AcpiTables.sum(image.bytes(), at(t), at(t) + len));
            assertEquals("VIREO ", new String(image.bytes(), at(t) + 10, 6, StandardCharsets.US_ASCII));
        }
        assertEquals("XSDT", signature(image.xsdt()));
        assertEquals("FACP", signature(image.fadt()));
        assertEquals(AcpiTables.FADT_LENGTH, length(image.fadt()));
        assertEquals(AcpiTables.FADT_REVISION, image.bytes()[at(image.fadt()) + 8]);
        assertEquals("FACS", signature(image.facs()));
        assertEquals(64, length(image.facs()));
        assertEquals("the FACS is 64-byte aligned", 0, image.facs() % 64);
        assertEquals("DSDT", signature(image.dsdt()));
        assertEquals(image.bytes().length, at(image.dsdt()) + length(image.dsdt()));
    }

    @Test
    public void xsdtPointsAtTheFadtWhichPointsAtFacsAndDsdt() {
        int x = at(image.xsdt());
        assertEquals(36 + 8, length(image.xsdt()));
        assertEquals(image.fadt(), mem.getLong(x + 36));
        int f = at(image.fadt());
        assertEquals("FIRMWARE_CTRL must be zero when X_FIRMWARE_CTRL is set", 0, mem.getInt(f + 36));
        assertEquals(image.dsdt(), mem.getInt(f + 40) & 0xffff_ffffL);
        assertEquals(image.facs(), mem.getLong(f + 132));
        assertEquals(image.dsdt(), mem.getLong(f + 140));
    }

    @Test
    public void fadtPowerManagementBlocksResetAndFlags() {
        int f = at(image.fadt());
        assertEquals(9, mem.getShort(f + 46));                      // SCI_INT
        assertEquals(0, mem.getInt(f + 48));                        // no SMI_CMD: always in ACPI mode
        assertEquals(0x600, mem.getInt(f + 56));
        assertEquals(0x604, mem.getInt(f + 64));
        assertEquals(0x608, mem.getInt(f + 76));
        assertEquals(4, mem.get(f + 88));
        assertEquals(2, mem.get(f + 89));
        assertEquals(4, mem.get(f + 91));
        int flags = mem.getInt(f + 112);
        assertTrue("32-bit PM timer", (flags & AcpiTables.TMR_VAL_EXT) != 0);
        assertTrue("reset register", (flags & AcpiTables.RESET_REG_SUP) != 0);
        assertEquals("no fixed power button flag: the button is there", 0, flags & 1 << 4);
        int boot = mem.getShort(f + 109);
        assertTrue("i8042", (boot & AcpiTables.I8042) != 0);
        assertTrue("no MSI without a local APIC", (boot & AcpiTables.MSI_NOT_SUPPORTED) != 0);
        // RESET_REG: I/O space, 8 bits, byte access, 0xcf9; value 6.
        assertArrayEquals(new byte[] {1, 8, 0, 1, (byte) 0xf9, 0x0c, 0, 0, 0, 0, 0, 0},
                java.util.Arrays.copyOfRange(image.bytes(), f + 116, f + 128));
        assertEquals(6, image.bytes()[f + 128]);
        // The 64-bit blocks match the 32-bit ones, with widths PM1_EVT_LEN * 8 etc.
        assertEquals(1, mem.get(f + 148));
        assertEquals(32, mem.get(f + 149));
        assertEquals(0x600, mem.getLong(f + 152));
        assertEquals(16, mem.get(f + 173));
        assertEquals(0x604, mem.getLong(f + 176));
        assertEquals(32, mem.get(f + 209));
        assertEquals(0x608, mem.getLong(f + 212));
    }

    @Test
    public void dsdtHoldsS5ThePciRootItsRoutesAndTheMmioDevices() {
        byte[] aml = java.util.Arrays.copyOfRange(image.bytes(), at(image.dsdt()) + 36, image.bytes().length);
        assertTrue(contains(aml, Aml.name("\\_S5", Aml.pkg(Aml.integer(5), Aml.integer(5), Aml.integer(0), Aml.integer(0)))));
        assertTrue(contains(aml, Aml.name("_HID", Aml.eisaId("PNP0A03"))));
        assertTrue(contains(aml, Aml.pkg(Aml.integer(0x1_ffff), Aml.integer(0), Aml.integer(0), Aml.integer(5))));
        assertTrue(contains(aml, Aml.pkg(Aml.integer(0x2_ffff), Aml.integer(0), Aml.integer(0), Aml.integer(10))));
        assertTrue(contains(aml, Aml.name("_HID", Aml.string("LNRO0005"))));
        assertTrue(contains(aml, new ResourceTemplate().memory32Fixed(0xd000_0000L, 0x200).interrupt(true, false, false, 11).toAml()));
        // The whole definition block is one Scope(\_SB) and one Name: nothing trails.
        assertEquals(0x10, aml[0]);
    }

    @Test
    public void withoutRoutesOrDevicesThereIsNoPrt() {
        AcpiTables.Image plain = AcpiTables.build(config(List.of(), List.of()));
        byte[] aml = java.util.Arrays.copyOfRange(plain.bytes(), (int) (plain.dsdt() - plain.base()) + 36, plain.bytes().length);
        assertTrue(!contains(aml, Aml.nameString("_PRT")));
        assertTrue(!contains(aml, Aml.string("LNRO0005")));
    }

    @Test
    public void badConfigurationsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new AcpiTables.Config(0xE0001, 0x600, 0x604, 0x608, 9, 0xcf9, 6,
                0xc000_0000L, 0xfec0_0000L, List.of(), List.of()));
        assertThrows(IllegalArgumentException.class, () -> new AcpiTables.PciRoute(32, 1, 5));
        assertThrows(IllegalArgumentException.class, () -> new AcpiTables.PciRoute(1, 0, 5));
        assertThrows(IllegalArgumentException.class, () -> new AcpiTables.MmioDevice(0xffff_ff00L, 0x200, 5));
    }

    static boolean contains(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) if (haystack[i + j] != needle[j]) continue outer;
            return true;
        }
        return false;
    }

    @Test
    public void withApicsTheXsdtListsAMadtWithTheLocalApicTheIoApicTheOverridesAndLint1AsNmi() {
        AcpiTables.Config c = config(List.of(), List.of());
        AcpiTables.Apics apics = new AcpiTables.Apics(0xfee0_0000L, List.of(0), 0, 0xfec0_0000L,
                List.of(new AcpiTables.InterruptOverride(0, 2, 0), new AcpiTables.InterruptOverride(9, 9, AcpiTables.InterruptOverride.LEVEL_HIGH)), 1);
        AcpiTables.Image im = AcpiTables.build(new AcpiTables.Config(c.base(), c.pm1aEvent(), c.pm1aControl(), c.pmTimer(), c.sci(),
                c.resetPort(), c.resetValue(), c.pciMmioBase(), c.pciMmioEnd(), c.pciRoutes(), c.mmioDevices(), apics));
        ByteBuffer b = ByteBuffer.wrap(im.bytes()).order(ByteOrder.LITTLE_ENDIAN);
        int x = (int) (im.xsdt() - im.base());
        assertEquals("two entries", 36 + 16, b.getInt(x + 4));
        assertEquals(im.fadt(), b.getLong(x + 36));
        assertEquals(im.madt(), b.getLong(x + 44));
        int m = (int) (im.madt() - im.base());
        assertEquals("APIC", new String(im.bytes(), m, 4, StandardCharsets.US_ASCII));
        int len = b.getInt(m + 4);
        assertEquals(44 + 8 + 12 + 10 + 10 + 6, len);
        assertEquals(0, AcpiTables.sum(im.bytes(), m, m + len));
        assertEquals(0xfee0_0000, b.getInt(m + 36));
        assertEquals("PCAT_COMPAT", 1, b.getInt(m + 40));
        // Processor local APIC: type 0, length 8, UID 0, APIC ID 0, enabled.
        assertArrayEquals(new byte[] {0, 8, 0, 0, 1, 0, 0, 0}, java.util.Arrays.copyOfRange(im.bytes(), m + 44, m + 52));
        assertEquals(1, im.bytes()[m + 52]);
        assertEquals(12, im.bytes()[m + 53]);
        assertEquals(0xfec0_0000, b.getInt(m + 56));
        assertEquals("GSI base", 0, b.getInt(m + 60));
        // Overrides: IRQ 0 -> GSI 2 conforming; IRQ 9 -> GSI 9 level, active high.
        assertEquals(2, im.bytes()[m + 64]);
        assertEquals(0, im.bytes()[m + 67]);
        assertEquals(2, b.getInt(m + 68));
        assertEquals(9, im.bytes()[m + 77]);
        assertEquals(0x000d, b.getShort(m + 82));
        // Local APIC NMI: all processors, LINT1.
        assertArrayEquals(new byte[] {4, 6, (byte) 0xff, 0, 0, 1}, java.util.Arrays.copyOfRange(im.bytes(), m + 84, m + 90));
        assertEquals("MSIs are allowed with a local APIC", 0, b.getShort((int) (im.fadt() - im.base()) + 109) & AcpiTables.MSI_NOT_SUPPORTED);
        assertEquals("no MADT without APICs", 0, image.madt());
    }
}
