package org.vireo.memory;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.lang.foreign.Arena;
import java.util.List;
import org.junit.After;
import org.junit.Test;

public class GuestMemoryTest {
    private final Arena arena = Arena.ofConfined();

    @After
    public void close() { arena.close(); }

    private GuestMemory twoRegions() {
        // RAM below a hole and above it, as on a PC.
        return new GuestMemory(List.of(
                new MemoryRegion(0x10000, arena.allocate(0x1000)),
                new MemoryRegion(0, arena.allocate(0x1000))));
    }

    @Test
    public void valuesAreLittleEndian() {
        GuestMemory m = GuestMemory.allocate(arena, 4096);
        m.writeInt(8, 0x11223344);
        assertEquals(0x44, m.readByte(8));
        assertEquals(0x3344, m.readShort(8));
        m.writeLong(16, 0x0102030405060708L);
        assertEquals(0x0102030405060708L, m.readLong(16));
        assertEquals(0x05060708, m.readInt(16));
    }

    @Test
    public void regionsAreSortedAndLookedUp() {
        GuestMemory m = twoRegions();
        assertEquals(0x2000, m.size());
        assertEquals(0, m.regions().get(0).base());
        m.writeInt(0x10ffc, 7);
        assertEquals(7, m.readInt(0x10ffc));
        assertTrue(m.contains(0x10000, 0x1000));
        assertFalse(m.contains(0x1000, 1));
    }

    @Test
    public void accessesOutsideRegionsAreRefused() {
        GuestMemory m = twoRegions();
        long[] bad = {0x1000, 0xffe, 0x10ffd, 0x11000, -1, Long.MAX_VALUE, Long.MIN_VALUE};
        for (long a : bad) {
            try {
                m.readInt(a);
                fail("read at " + Long.toHexString(a) + " should fail");
            } catch (GuestMemoryException expected) {
                assertEquals(a, expected.address());
            }
        }
    }

    @Test
    public void rangesSpanningTwoRegionsOrWrappingAreRefused() {
        GuestMemory m = new GuestMemory(List.of(
                new MemoryRegion(0, arena.allocate(0x1000)), new MemoryRegion(0x1000, arena.allocate(0x1000))));
        assertNull(m.find(0xff0, 0x20));
        assertNull(m.find(0x10, Long.MAX_VALUE));
        assertNull(m.find(0x10, -1));
        try {
            m.slice(0xff0, 0x20);
            fail();
        } catch (GuestMemoryException expected) {
        }
    }

    @Test
    public void zeroLengthAtTheEndIsInside() {
        GuestMemory m = GuestMemory.allocate(arena, 4096);
        assertTrue(m.contains(4096, 0));
        assertFalse(m.contains(4097, 0));
    }

    @Test
    public void bulkCopiesAndSlicesShareBytes() {
        GuestMemory m = GuestMemory.allocate(arena, 4096);
        byte[] data = {1, 2, 3, 4, 5};
        m.write(100, data, 0, 5);
        byte[] back = new byte[5];
        m.read(100, back, 0, 5);
        assertArrayEquals(data, back);
        assertEquals(3, m.slice(100, 5).get(java.lang.foreign.ValueLayout.JAVA_BYTE, 2));
        m.fill(100, 5, (byte) 9);
        assertEquals(9, m.readByte(104));
    }

    @Test(expected = IllegalArgumentException.class)
    public void overlappingRegionsAreRejected() {
        new GuestMemory(List.of(new MemoryRegion(0, arena.allocate(0x1000)), new MemoryRegion(0x800, arena.allocate(0x1000))));
    }
}
