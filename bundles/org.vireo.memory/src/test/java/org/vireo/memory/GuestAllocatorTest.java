package org.vireo.memory;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.Test;

public class GuestAllocatorTest {
    @Test
    public void allocationsAreAlignedDisjointAndCoalesceWhenFreed() {
        GuestAllocator a = new GuestAllocator(0x1000, 0x10000);
        Random random = new Random(42);
        List<long[]> live = new ArrayList<>();
        for (int round = 0; round < 2000; round++) {
            if (live.isEmpty() || random.nextBoolean()) {
                long len = 1 + random.nextInt(700);
                long align = 1L << random.nextInt(8);
                try {
                    long at = a.allocate(len, align);
                    assertEquals(0, at % align);
                    assertTrue(at >= 0x1000 && at + len <= 0x11000);
                    for (long[] o : live) assertTrue("overlap", at + len <= o[0] || o[0] + o[1] <= at);
                    live.add(new long[] {at, len});
                } catch (IllegalStateException full) {
                    // fine: the random walk filled it
                }
            } else {
                long[] victim = live.remove(random.nextInt(live.size()));
                a.free(victim[0]);
            }
        }
        for (long[] o : live) a.free(o[0]);
        assertEquals(0x10000, a.freeBytes());
        assertEquals(0x1000, a.allocate(0x10000, 1));
    }

    @Test(expected = IllegalArgumentException.class)
    public void freeingUnknownAddressFails() {
        new GuestAllocator(0, 4096).free(16);
    }

    @Test(expected = IllegalStateException.class)
    public void exhaustionIsAClearError() {
        new GuestAllocator(0, 4096).allocate(4097, 1);
    }
}
