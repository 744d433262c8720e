package org.vireo.virtio.ring;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;
import static org.vireo.virtio.ring.SplitRing.DESC_F_INDIRECT;
import static org.vireo.virtio.ring.SplitRing.DESC_F_NEXT;
import static org.vireo.virtio.ring.SplitRing.DESC_F_WRITE;

import java.lang.foreign.Arena;
import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;
import org.vireo.memory.GuestAllocator;
import org.vireo.memory.GuestMemory;
import org.vireo.virtio.VirtioFeatures;
import org.vireo.virtio.device.DescriptorChain;
import org.vireo.virtio.device.VirtqueueException;

/** One test per kind of malformed ring a hostile guest can write: each must break the queue with VirtqueueException. */
public class MalformedChainTest {
    private static final long MEM = 2 << 20;
    private static final long INDIRECT = VirtioFeatures.bit(VirtioFeatures.RING_INDIRECT_DESC);

    /** Failure guard against a hang; the rule runs @Before/@After on the test's thread, so the confined arena works. */
    @Rule public Timeout timeout = Timeout.seconds(60);

    private Arena arena;
    private GuestMemory memory;
    private GuestAllocator allocator;
    private long buf;

    @Before
    public void setUp() {
        arena = Arena.ofConfined();
        memory = GuestMemory.allocate(arena, MEM);
        allocator = new GuestAllocator(0x1000, MEM - 0x1000);
        buf = allocator.allocate(4096, 16);
    }

    @After
    public void tearDown() {
        arena.close();
    }

    private RawRing ring(int size, long features) {
        return new RawRing(memory, allocator, size, features);
    }

    private long table(int entries) {
        long t = allocator.allocate(16L * entries, 16);
        memory.fill(t, 16L * entries, (byte) 0);
        return t;
    }

    private static void assertBreaks(SplitQueueDevice q, String expectedWords) {
        VirtqueueException e = assertThrows(VirtqueueException.class, q::pop);
        assertTrue(q.broken());
        assertTrue("message '" + e.getMessage() + "' should mention '" + expectedWords + "'", e.getMessage().contains(expectedWords));
        // Broken stays broken, whatever the guest does next.
        assertThrows(VirtqueueException.class, q::pop);
        assertTrue(q.broken());
    }

    @Test
    public void wellFormedChainPopsAsControl() throws Exception {
        RawRing r = ring(8, 0);
        r.desc(0, buf, 16, DESC_F_NEXT, 1).desc(1, buf + 16, 32, DESC_F_WRITE, 0).publish(0);
        SplitQueueDevice q = r.device();
        DescriptorChain c = q.pop();
        assertNotNull(c);
        assertEquals(16, c.readableLength());
        assertEquals(32, c.writableLength());
        assertNull(q.pop());
        assertFalse(q.broken());
    }

    @Test
    public void headOutOfRange() {
        RawRing r = ring(8, 0);
        r.publish(8);
        assertBreaks(r.device(), "head index 8 out of range");
    }

    @Test
    public void nextOutOfRange() {
        RawRing r = ring(8, 0);
        r.desc(0, buf, 16, DESC_F_NEXT, 8).publish(0);
        assertBreaks(r.device(), "next 8 out of range");
    }

    @Test
    public void loop() {
        RawRing r = ring(8, 0);
        r.desc(0, buf, 16, DESC_F_NEXT, 1).desc(1, buf, 16, DESC_F_NEXT, 2).desc(2, buf, 16, DESC_F_NEXT, 1).publish(0);
        assertBreaks(r.device(), "loop");
    }

    @Test
    public void selfLoop() {
        RawRing r = ring(8, 0);
        r.desc(3, buf, 16, DESC_F_NEXT, 3).publish(3);
        assertBreaks(r.device(), "loop");
    }

    @Test
    public void chainTooLongThroughIndirectTable() {
        // Direct chains longer than the queue must repeat a descriptor (a loop); an indirect table can be longer.
        RawRing r = ring(4, INDIRECT);
        long t = table(5);
        for (int i = 0; i < 5; i++) RawRing.writeDesc(memory, t, i, buf, 8, i < 4 ? DESC_F_NEXT : 0, i + 1);
        r.desc(0, t, 5 * 16, DESC_F_INDIRECT, 0).publish(0);
        assertBreaks(r.device(), "too long");
    }

    @Test
    public void directPlusIndirectTooLong() {
        RawRing r = ring(4, INDIRECT);
        long t = table(3);
        for (int i = 0; i < 3; i++) RawRing.writeDesc(memory, t, i, buf, 8, i < 2 ? DESC_F_NEXT : 0, i + 1);
        r.desc(0, buf, 8, DESC_F_NEXT, 1).desc(1, buf, 8, DESC_F_NEXT, 2).desc(2, t, 3 * 16, DESC_F_INDIRECT, 0).publish(0);
        assertBreaks(r.device(), "too long");
    }

    @Test
    public void addressOutsideMemory() {
        RawRing r = ring(8, 0);
        r.desc(0, MEM - 8, 16, 0, 0).publish(0);
        assertBreaks(r.device(), "outside guest memory");
    }

    @Test
    public void addressFarOutsideMemory() {
        RawRing r = ring(8, 0);
        r.desc(0, 1L << 40, 1, 0, 0).publish(0);
        assertBreaks(r.device(), "outside guest memory");
    }

    @Test
    public void addrPlusLenOverflowsUnsigned() {
        RawRing r = ring(8, 0);
        r.desc(0, 0xffff_ffff_ffff_ff00L, 0x1000, 0, 0).publish(0);
        assertBreaks(r.device(), "overflows");
    }

    @Test
    public void addrPlusLenOverflowsSigned() {
        RawRing r = ring(8, 0);
        r.desc(0, Long.MAX_VALUE - 4, 16, 0, 0).publish(0);
        assertBreaks(r.device(), "overflows");
    }

    @Test
    public void readableAfterWritable() {
        RawRing r = ring(8, 0);
        r.desc(0, buf, 16, DESC_F_WRITE | DESC_F_NEXT, 1).desc(1, buf + 16, 16, 0, 0).publish(0);
        assertBreaks(r.device(), "readable descriptor 1 after a writable");
    }

    @Test
    public void indirectWithoutFeature() {
        RawRing r = ring(8, 0);
        long t = table(1);
        RawRing.writeDesc(memory, t, 0, buf, 16, 0, 0);
        r.desc(0, t, 16, DESC_F_INDIRECT, 0).publish(0);
        assertBreaks(r.device(), "RING_INDIRECT_DESC was not negotiated");
    }

    @Test
    public void indirectWithNext() {
        RawRing r = ring(8, INDIRECT);
        long t = table(1);
        RawRing.writeDesc(memory, t, 0, buf, 16, 0, 0);
        r.desc(0, t, 16, DESC_F_INDIRECT | DESC_F_NEXT, 1).desc(1, buf, 16, 0, 0).publish(0);
        assertBreaks(r.device(), "both INDIRECT and NEXT");
    }

    @Test
    public void nestedIndirect() {
        RawRing r = ring(8, INDIRECT);
        long inner = table(1);
        RawRing.writeDesc(memory, inner, 0, buf, 16, 0, 0);
        long outer = table(2);
        RawRing.writeDesc(memory, outer, 0, buf, 16, DESC_F_NEXT, 1);
        RawRing.writeDesc(memory, outer, 1, inner, 16, DESC_F_INDIRECT, 0);
        r.desc(0, outer, 32, DESC_F_INDIRECT, 0).publish(0);
        assertBreaks(r.device(), "nested indirect");
    }

    @Test
    public void indirectLengthNotMultipleOf16() {
        RawRing r = ring(8, INDIRECT);
        long t = table(2);
        r.desc(0, t, 24, DESC_F_INDIRECT, 0).publish(0);
        assertBreaks(r.device(), "not a nonzero multiple of 16");
    }

    @Test
    public void indirectLengthZero() {
        RawRing r = ring(8, INDIRECT);
        long t = table(1);
        r.desc(0, t, 0, DESC_F_INDIRECT, 0).publish(0);
        assertBreaks(r.device(), "not a nonzero multiple of 16");
    }

    @Test
    public void indirectTableOutsideMemory() {
        RawRing r = ring(8, INDIRECT);
        r.desc(0, MEM - 16, 32, DESC_F_INDIRECT, 0).publish(0);
        assertBreaks(r.device(), "outside guest memory");
    }

    @Test
    public void indirectNextOutOfTable() {
        RawRing r = ring(8, INDIRECT);
        long t = table(2);
        RawRing.writeDesc(memory, t, 0, buf, 16, DESC_F_NEXT, 2);
        r.desc(0, t, 32, DESC_F_INDIRECT, 0).publish(0);
        assertBreaks(r.device(), "next 2 out of range 2");
    }

    @Test
    public void indirectLoop() {
        RawRing r = ring(8, INDIRECT);
        long t = table(2);
        RawRing.writeDesc(memory, t, 0, buf, 16, DESC_F_NEXT, 1);
        RawRing.writeDesc(memory, t, 1, buf, 16, DESC_F_NEXT, 0);
        r.desc(0, t, 32, DESC_F_INDIRECT, 0).publish(0);
        assertBreaks(r.device(), "loop in indirect table");
    }

    @Test
    public void indirectReadableAfterWritable() {
        RawRing r = ring(8, INDIRECT);
        long t = table(2);
        RawRing.writeDesc(memory, t, 0, buf, 16, DESC_F_NEXT | DESC_F_WRITE, 1);
        RawRing.writeDesc(memory, t, 1, buf, 16, 0, 0);
        r.desc(0, t, 32, DESC_F_INDIRECT, 0).publish(0);
        assertBreaks(r.device(), "after a writable");
    }

    @Test
    public void availIdxJumpsAheadByMoreThanSize() {
        RawRing r = ring(8, 0);
        r.desc(0, buf, 16, 0, 0).availIdx(9);
        assertBreaks(r.device(), "ahead");
    }

    @Test
    public void availIdxGoingBackwardsIsAJump() {
        RawRing r = ring(8, 0);
        r.desc(0, buf, 16, 0, 0).publish(0);
        SplitQueueDevice q = r.device();
        try {
            assertNotNull(q.pop());
        } catch (VirtqueueException e) {
            throw new AssertionError(e);
        }
        r.availIdx(0);  // one step back looks like 65535 new entries
        assertBreaks(q, "ahead");
    }

    @Test
    public void totalByteLengthOverflowingIntIsRefused() {
        // 2049 descriptors of 1 MiB each (all the same bytes) add up to more than 2^31 - 1.
        RawRing r = ring(4096, INDIRECT);
        int n = 2049;
        long t = table(n);
        for (int i = 0; i < n; i++) RawRing.writeDesc(memory, t, i, 0, 1 << 20, i + 1 < n ? DESC_F_NEXT : 0, i + 1);
        r.desc(0, t, 16L * n, DESC_F_INDIRECT, 0).publish(0);
        assertBreaks(r.device(), "bytes");
    }

    @Test
    public void breakingIsPerQueueInstanceAndANewInstanceStartsClean() throws Exception {
        RawRing r = ring(8, 0);
        r.publish(9);
        assertBreaks(r.device(), "out of range");
        // The transport builds a fresh device queue after reset; the guest has rewritten its ring by then.
        memory.fill(r.avail, SplitRing.availSize(8), (byte) 0);
        SplitQueueDevice fresh = r.device();
        assertFalse(fresh.broken());
        assertNull(fresh.pop());
    }
}
