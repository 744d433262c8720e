package org.vireo.memory;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;
import static org.junit.Assume.assumeTrue;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import org.junit.Test;

/**
 * Guest RAM is reserved, not committed, and discarded pages go back to the host. The resident size is the
 * kernel's own count of the mapping's pages in RAM ({@code mincore}), so other allocations of the test JVM cannot
 * disturb it.
 */
public class HostPagesTest {
    private static final long MIB = 1 << 20;

    @Test
    public void discardedPagesReadAsZeroAndObserversAreTold() {
        try (Arena arena = Arena.ofConfined()) {
            GuestMemory m = GuestMemory.allocate(arena, 16 * MIB);
            m.fill(0, 16 * MIB, (byte) 0x5a);
            List<long[]> told = new ArrayList<>();
            m.setDeviceWriteObserver((address, length) -> told.add(new long[] {address, length}));
            m.discard(4 * MIB, 2 * MIB);
            assertEquals(0, m.readLong(4 * MIB));
            assertEquals(0, m.readLong(6 * MIB - 8));
            assertEquals(0x5a, m.readByte(4 * MIB - 1));
            assertEquals(0x5a, m.readByte(6 * MIB));
            assertEquals(1, told.size());
            assertEquals(4 * MIB, told.get(0)[0]);
            assertEquals(2 * MIB, told.get(0)[1]);
            m.writeByte(4 * MIB, (byte) 7); // a discarded page is usable again
            assertEquals(7, m.readByte(4 * MIB));
        }
    }

    @Test
    public void discardRefusesPartialPagesAndNonRam() {
        try (Arena arena = Arena.ofConfined()) {
            GuestMemory m = GuestMemory.allocate(arena, 1 * MIB);
            expectIllegalArgument(() -> m.discard(100, 4096));
            expectIllegalArgument(() -> m.discard(4096, 100));
            expectIllegalArgument(() -> m.discard(4096, -4096));
            try {
                m.discard(MIB - 4096, 8192);
                fail("a range past the end of RAM was discarded");
            } catch (GuestMemoryException expected) {
            }
            m.discard(0, 0); // nothing to do, and no error
        }
    }

    @Test
    public void ramIsCommittedOnlyWhenTouchedAndReturnedWhenDiscarded() {
        assumeTrue("needs Linux's lazily mapped pages (mmap, mincore)", HostPages.lazy());
        try (Arena arena = Arena.ofConfined()) {
            GuestMemory m = GuestMemory.allocate(arena, 512 * MIB);
            assertTrue("untouched 512 MiB guest is resident: " + residentKib(m) + " KiB", residentKib(m) < 1024);
            m.fill(0, 64 * MIB, (byte) 1);
            long touched = residentKib(m);
            assertTrue("64 MiB written but " + touched + " KiB resident", touched >= 64 * 1024 && touched < 66 * 1024);
            m.discard(0, 48 * MIB);
            long after = residentKib(m);
            assertTrue("48 MiB discarded but " + after + " KiB resident", after <= 16 * 1024 + 256);
        }
    }

    private static long residentKib(GuestMemory m) {
        return m.residentBytes() / 1024;
    }

    private static void expectIllegalArgument(Runnable r) {
        try {
            r.run();
            fail("expected IllegalArgumentException");
        } catch (IllegalArgumentException expected) {
        }
    }
}
