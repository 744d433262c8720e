package org.vireo.x86.acpi;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

import org.junit.Test;

/** Descriptor layouts of ACPI 6.5 section 6.4, byte for byte. */
public class ResourceTemplateTest {
    private static byte[] b(int... v) {
        byte[] out = new byte[v.length];
        for (int i = 0; i < v.length; i++) out[i] = (byte) v[i];
        return out;
    }

    @Test
    public void emptyTemplateIsAnEndTagSummingToZero() {
        byte[] t = new ResourceTemplate().bytes();
        assertArrayEquals(b(0x79, 0x87), t);
        assertEquals(0, AcpiTables.sum(t, 0, t.length));
    }

    @Test
    public void ioDescriptor() {
        byte[] t = new ResourceTemplate().io(0xcf8, 0xcf8, 1, 8).bytes();
        assertArrayEquals(b(0x47, 0x01, 0xf8, 0x0c, 0xf8, 0x0c, 0x01, 0x08), java.util.Arrays.copyOf(t, 8));
        assertEquals(10, t.length);
        assertEquals(0, AcpiTables.sum(t, 0, t.length));
    }

    @Test
    public void memory32FixedAndInterrupt() {
        byte[] t = new ResourceTemplate().memory32Fixed(0xd000_0000L, 0x200).interrupt(true, false, false, 5).bytes();
        assertArrayEquals(b(0x86, 0x09, 0x00, 0x01, 0x00, 0x00, 0x00, 0xd0, 0x00, 0x02, 0x00, 0x00), java.util.Arrays.copyOfRange(t, 0, 12));
        // Extended interrupt: consumer, level, active high, exclusive; one interrupt, 5.
        assertArrayEquals(b(0x89, 0x06, 0x00, 0x01, 0x01, 0x05, 0x00, 0x00, 0x00), java.util.Arrays.copyOfRange(t, 12, 21));
        assertEquals(0, AcpiTables.sum(t, 0, t.length));
        byte[] edgeLowShared = new ResourceTemplate().interrupt(false, true, true, 9).bytes();
        assertEquals(0x0f, edgeLowShared[3]);
    }

    @Test
    public void addressSpaceDescriptors() {
        byte[] bus = new ResourceTemplate().wordBusNumber(0, 0xff).bytes();
        assertArrayEquals(b(0x88, 0x0d, 0x00, 0x02, 0x0c, 0x00, 0, 0, 0, 0, 0xff, 0, 0, 0, 0x00, 0x01), java.util.Arrays.copyOf(bus, 16));
        byte[] io = new ResourceTemplate().wordIo(0x0d00, 0xffff).bytes();
        assertArrayEquals(b(0x88, 0x0d, 0x00, 0x01, 0x0c, 0x03, 0, 0, 0x00, 0x0d, 0xff, 0xff, 0, 0, 0x00, 0xf3), java.util.Arrays.copyOf(io, 16));
        byte[] mem = new ResourceTemplate().dwordMemory(0xc000_0000L, 0xfebf_ffffL).bytes();
        assertEquals(26 + 2, mem.length);
        assertArrayEquals(b(0x87, 0x17, 0x00, 0x00, 0x0c, 0x01), java.util.Arrays.copyOf(mem, 6));
        assertArrayEquals(b(0x00, 0x00, 0x00, 0xc0, 0xff, 0xff, 0xbf, 0xfe), java.util.Arrays.copyOfRange(mem, 10, 18));
        assertArrayEquals(b(0x00, 0x00, 0xc0, 0x3e), java.util.Arrays.copyOfRange(mem, 22, 26));
        assertEquals(0, AcpiTables.sum(mem, 0, mem.length));
        assertThrows(IllegalArgumentException.class, () -> new ResourceTemplate().wordIo(0x10, 0x0f));
        assertThrows(IllegalArgumentException.class, () -> new ResourceTemplate().io(0x10000, 0, 1, 1));
    }

    @Test
    public void toAmlIsABuffer() {
        byte[] aml = new ResourceTemplate().toAml();
        assertArrayEquals(b(0x11, 0x05, 0x0a, 0x02, 0x79, 0x87), aml);
    }
}
