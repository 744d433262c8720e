package org.vireo.virtio.ring;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;
import static org.junit.Assume.assumeTrue;
import static org.vireo.virtio.ring.SplitRing.DESC_F_INDIRECT;
import static org.vireo.virtio.ring.SplitRing.DESC_F_NEXT;
import static org.vireo.virtio.ring.SplitRing.DESC_F_WRITE;

import java.lang.foreign.Arena;
import java.util.List;
import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;
import org.junit.runners.Parameterized.Parameters;
import org.vireo.memory.GuestAllocator;
import org.vireo.memory.GuestMemory;
import org.vireo.virtio.VirtioFeatures;
import org.vireo.virtio.device.DescriptorChain;
import org.vireo.virtio.device.DeviceQueue;
import org.vireo.virtio.device.VirtqueueException;

/**
 * One test per kind of malformed ring a hostile guest can write: each must break the queue with VirtqueueException.
 * The kinds both layouts share run on both (NEXT, WRITE and INDIRECT have the same values in both); the kinds only
 * one layout can express (split: head and next indices, loops, the avail idx; packed: buffer ids, wrap counters,
 * chains running into buffers in flight) run on that layout.
 */
@RunWith(Parameterized.class)
public class MalformedChainTest {
    private static final long MEM = 2 << 20;
    private static final long INDIRECT = VirtioFeatures.bit(VirtioFeatures.RING_INDIRECT_DESC);
    private static final long PACKED = VirtioFeatures.bit(VirtioFeatures.RING_PACKED);

    @Parameters(name = "{0}")
    public static List<Object[]> layouts() { return List.of(new Object[] {"split"}, new Object[] {"packed"}); }

    /** Failure guard against a hang; the rule runs @Before/@After on the test's thread, so the confined arena works. */
    @Rule public Timeout timeout = Timeout.seconds(60);

    private final boolean packed;
    private Arena arena;
    private GuestMemory memory;
    private GuestAllocator allocator;
    private long buf;

    public MalformedChainTest(String layout) { this.packed = layout.equals("packed"); }

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

    /** A hand-written ring of the layout under test. */
    private final class Ring {
        final RawRing split;
        final RawPackedRing packedRing;
        private int nextFree;   // split: first descriptor not used by a published chain
        private int ids;        // packed: next buffer id

        Ring(int size, long features) {
            split = packed ? null : new RawRing(memory, allocator, size, features);
            packedRing = packed ? new RawPackedRing(memory, allocator, size, features | PACKED) : null;
        }

        DeviceQueue device() { return packed ? packedRing.device() : split.device(); }

        /** Makes one chain of {addr, len, flags} descriptors available (split: linked in order from a free descriptor). */
        Ring chain(long[]... descs) {
            if (packed) {
                packedRing.publish(ids++, descs);
            } else {
                int head = nextFree;
                for (int k = 0; k < descs.length; k++) split.desc(head + k, descs[k][0], descs[k][1], (int) descs[k][2], head + k + 1);
                nextFree += descs.length;
                split.publish(head);
            }
            return this;
        }
    }

    private static long[] d(long addr, long len, int flags) { return new long[] {addr, len, flags}; }

    /** An indirect table in the layout's descriptor format, entries linked in order (split: next = i + 1). */
    private long table(long[]... descs) {
        long t = allocator.allocate(16L * Math.max(1, descs.length), 16);
        memory.fill(t, 16L * Math.max(1, descs.length), (byte) 0);
        for (int i = 0; i < descs.length; i++) writeTableEntry(t, i, descs[i][0], descs[i][1], (int) descs[i][2], i + 1);
        return t;
    }

    private void writeTableEntry(long t, int i, long addr, long len, int flags, int next) {
        if (packed) RawPackedRing.writeDesc(memory, t, i, addr, len, 0, flags);
        else RawRing.writeDesc(memory, t, i, addr, len, flags, next);
    }

    private static void assertBreaks(DeviceQueue q, String expectedWords) {
        VirtqueueException e = assertThrows(VirtqueueException.class, q::pop);
        assertTrue(q.broken());
        assertTrue("message '" + e.getMessage() + "' should mention '" + expectedWords + "'", e.getMessage().contains(expectedWords));
        // Broken stays broken, whatever the guest does next.
        assertThrows(VirtqueueException.class, q::pop);
        assertTrue(q.broken());
    }

    private static DescriptorChain popOk(DeviceQueue q) {
        try {
            DescriptorChain c = q.pop();
            assertNotNull(c);
            return c;
        } catch (VirtqueueException e) {
            throw new AssertionError(e);
        }
    }

    // ---- both layouts ----

    @Test
    public void wellFormedChainPopsAsControl() throws Exception {
        Ring r = new Ring(8, 0).chain(d(buf, 16, DESC_F_NEXT), d(buf + 16, 32, DESC_F_WRITE));
        DeviceQueue q = r.device();
        DescriptorChain c = q.pop();
        assertNotNull(c);
        assertEquals(16, c.readableLength());
        assertEquals(32, c.writableLength());
        assertNull(q.pop());
        assertFalse(q.broken());
    }

    @Test
    public void chainTooLongThroughIndirectTable() {
        // Direct chains longer than the queue must repeat a descriptor; an indirect table can be longer.
        long[][] entries = new long[5][];
        for (int i = 0; i < 5; i++) entries[i] = d(buf, 8, i < 4 ? DESC_F_NEXT : 0);
        long t = table(entries);
        Ring r = new Ring(4, INDIRECT).chain(d(t, 5 * 16, DESC_F_INDIRECT));
        assertBreaks(r.device(), packed ? "more than the queue size" : "too long");
    }

    @Test
    public void addressOutsideMemory() {
        assertBreaks(new Ring(8, 0).chain(d(MEM - 8, 16, 0)).device(), "outside guest memory");
    }

    @Test
    public void addressFarOutsideMemory() {
        assertBreaks(new Ring(8, 0).chain(d(1L << 40, 1, 0)).device(), "outside guest memory");
    }

    @Test
    public void addrPlusLenOverflowsUnsigned() {
        assertBreaks(new Ring(8, 0).chain(d(0xffff_ffff_ffff_ff00L, 0x1000, 0)).device(), "overflows");
    }

    @Test
    public void addrPlusLenOverflowsSigned() {
        assertBreaks(new Ring(8, 0).chain(d(Long.MAX_VALUE - 4, 16, 0)).device(), "overflows");
    }

    @Test
    public void badAddressInTheMiddleOfAChain() {
        Ring r = new Ring(8, 0).chain(d(buf, 16, DESC_F_NEXT), d(MEM, 16, DESC_F_NEXT), d(buf, 16, 0));
        assertBreaks(r.device(), "outside guest memory");
    }

    @Test
    public void readableAfterWritable() {
        Ring r = new Ring(8, 0).chain(d(buf, 16, DESC_F_WRITE | DESC_F_NEXT), d(buf + 16, 16, 0));
        assertBreaks(r.device(), packed ? "after a writable" : "readable descriptor 1 after a writable");
    }

    @Test
    public void indirectWithoutFeature() {
        long t = table(d(buf, 16, 0));
        assertBreaks(new Ring(8, 0).chain(d(t, 16, DESC_F_INDIRECT)).device(), "RING_INDIRECT_DESC was not negotiated");
    }

    @Test
    public void indirectWithNext() {
        long t = table(d(buf, 16, 0));
        Ring r = new Ring(8, INDIRECT).chain(d(t, 16, DESC_F_INDIRECT | DESC_F_NEXT), d(buf, 16, 0));
        assertBreaks(r.device(), "both INDIRECT and NEXT");
    }

    @Test
    public void nestedIndirect() {
        long inner = table(d(buf, 16, 0));
        long outer = table(d(buf, 16, DESC_F_NEXT), d(inner, 16, DESC_F_INDIRECT));
        assertBreaks(new Ring(8, INDIRECT).chain(d(outer, 32, DESC_F_INDIRECT)).device(), "nested indirect");
    }

    @Test
    public void indirectLengthNotMultipleOf16() {
        long t = table(d(0, 0, 0), d(0, 0, 0));
        assertBreaks(new Ring(8, INDIRECT).chain(d(t, 24, DESC_F_INDIRECT)).device(), "not a nonzero multiple of 16");
    }

    @Test
    public void indirectLengthZero() {
        long t = table(d(0, 0, 0));
        assertBreaks(new Ring(8, INDIRECT).chain(d(t, 0, DESC_F_INDIRECT)).device(), "not a nonzero multiple of 16");
    }

    @Test
    public void indirectTableOutsideMemory() {
        assertBreaks(new Ring(8, INDIRECT).chain(d(MEM - 16, 32, DESC_F_INDIRECT)).device(), "outside guest memory");
    }

    @Test
    public void indirectEntryOutsideMemory() {
        long t = table(d(buf, 16, DESC_F_NEXT), d(MEM - 1, 2, 0));
        assertBreaks(new Ring(8, INDIRECT).chain(d(t, 32, DESC_F_INDIRECT)).device(), "outside guest memory");
    }

    @Test
    public void indirectReadableAfterWritable() {
        long t = table(d(buf, 16, DESC_F_NEXT | DESC_F_WRITE), d(buf, 16, 0));
        assertBreaks(new Ring(8, INDIRECT).chain(d(t, 32, DESC_F_INDIRECT)).device(), "after a writable");
    }

    @Test
    public void totalByteLengthOverflowingIntIsRefused() {
        // 2049 descriptors of 1 MiB each (all the same bytes) add up to more than 2^31 - 1.
        int n = 2049;
        long[][] entries = new long[n][];
        for (int i = 0; i < n; i++) entries[i] = d(0, 1 << 20, i + 1 < n ? DESC_F_NEXT : 0);
        long t = table(entries);
        assertBreaks(new Ring(4096, INDIRECT).chain(d(t, 16L * n, DESC_F_INDIRECT)).device(), "bytes");
    }

    @Test
    public void breakingIsPerQueueInstanceAndANewInstanceStartsClean() throws Exception {
        Ring r = new Ring(8, 0).chain(d(MEM, 16, 0));
        assertBreaks(r.device(), "outside guest memory");
        // The transport builds a fresh device queue after reset; the guest has rewritten its ring by then.
        if (packed) memory.fill(r.packedRing.desc, PackedRing.descRingSize(8), (byte) 0);
        else memory.fill(r.split.avail, SplitRing.availSize(8), (byte) 0);
        DeviceQueue fresh = r.device();
        assertFalse(fresh.broken());
        assertNull(fresh.pop());
    }

    // ---- split only: indices into the table, the avail idx ----

    @Test
    public void headOutOfRange() {
        assumeTrue(!packed);
        RawRing r = new RawRing(memory, allocator, 8, 0);
        r.publish(8);
        assertBreaks(r.device(), "head index 8 out of range");
    }

    @Test
    public void nextOutOfRange() {
        assumeTrue(!packed);
        RawRing r = new RawRing(memory, allocator, 8, 0);
        r.desc(0, buf, 16, DESC_F_NEXT, 8).publish(0);
        assertBreaks(r.device(), "next 8 out of range");
    }

    @Test
    public void loop() {
        assumeTrue(!packed);
        RawRing r = new RawRing(memory, allocator, 8, 0);
        r.desc(0, buf, 16, DESC_F_NEXT, 1).desc(1, buf, 16, DESC_F_NEXT, 2).desc(2, buf, 16, DESC_F_NEXT, 1).publish(0);
        assertBreaks(r.device(), "loop");
    }

    @Test
    public void selfLoop() {
        assumeTrue(!packed);
        RawRing r = new RawRing(memory, allocator, 8, 0);
        r.desc(3, buf, 16, DESC_F_NEXT, 3).publish(3);
        assertBreaks(r.device(), "loop");
    }

    @Test
    public void directPlusIndirectTooLong() {
        assumeTrue(!packed);
        RawRing r = new RawRing(memory, allocator, 4, INDIRECT);
        long t = table(d(buf, 8, DESC_F_NEXT), d(buf, 8, DESC_F_NEXT), d(buf, 8, 0));
        r.desc(0, buf, 8, DESC_F_NEXT, 1).desc(1, buf, 8, DESC_F_NEXT, 2).desc(2, t, 3 * 16, DESC_F_INDIRECT, 0).publish(0);
        assertBreaks(r.device(), "too long");
    }

    @Test
    public void indirectNextOutOfTable() {
        assumeTrue(!packed);
        RawRing r = new RawRing(memory, allocator, 8, INDIRECT);
        long t = table(d(0, 0, 0), d(0, 0, 0));
        RawRing.writeDesc(memory, t, 0, buf, 16, DESC_F_NEXT, 2);
        r.desc(0, t, 32, DESC_F_INDIRECT, 0).publish(0);
        assertBreaks(r.device(), "next 2 out of range 2");
    }

    @Test
    public void indirectLoop() {
        assumeTrue(!packed);
        RawRing r = new RawRing(memory, allocator, 8, INDIRECT);
        long t = table(d(0, 0, 0), d(0, 0, 0));
        RawRing.writeDesc(memory, t, 0, buf, 16, DESC_F_NEXT, 1);
        RawRing.writeDesc(memory, t, 1, buf, 16, DESC_F_NEXT, 0);
        r.desc(0, t, 32, DESC_F_INDIRECT, 0).publish(0);
        assertBreaks(r.device(), "loop in indirect table");
    }

    @Test
    public void availIdxJumpsAheadByMoreThanSize() {
        assumeTrue(!packed);
        RawRing r = new RawRing(memory, allocator, 8, 0);
        r.desc(0, buf, 16, 0, 0).availIdx(9);
        assertBreaks(r.device(), "ahead");
    }

    @Test
    public void availIdxGoingBackwardsIsAJump() {
        assumeTrue(!packed);
        RawRing r = new RawRing(memory, allocator, 8, 0);
        r.desc(0, buf, 16, 0, 0).publish(0);
        SplitQueueDevice q = r.device();
        popOk(q);
        r.availIdx(0);  // one step back looks like 65535 new entries
        assertBreaks(q, "ahead");
    }

    // ---- packed only: buffer ids, wrap counters, the ring itself ----

    @Test
    public void packedBufferIdOutOfRange() {
        assumeTrue(packed);
        RawPackedRing r = new RawPackedRing(memory, allocator, 8, PACKED);
        r.publish(8, d(buf, 16, 0));
        assertBreaks(r.device(), "buffer id 8");
    }

    @Test
    public void packedBufferIdOfTheLastDescriptorCounts() {
        assumeTrue(packed);
        RawPackedRing r = new RawPackedRing(memory, allocator, 8, PACKED);
        r.publish(1, d(buf, 16, DESC_F_NEXT), d(buf, 16, 0));
        r.desc(1, buf, 16, 0xffff, PackedRing.availFlags(true));     // the id is in the last descriptor (2.8.6)
        assertBreaks(r.device(), "buffer id 65535");
    }

    @Test
    public void packedBufferIdAlreadyInFlight() {
        assumeTrue(packed);
        RawPackedRing r = new RawPackedRing(memory, allocator, 8, PACKED);
        r.publish(3, d(buf, 16, 0)).publish(3, d(buf, 16, 0));
        PackedQueueDevice q = r.device();
        assertEquals(3, popOk(q).head());
        assertBreaks(q, "already in flight");
    }

    @Test
    public void packedChainAroundTheWholeRing() {
        // The packed ring's loop: every descriptor has NEXT, so the chain runs round the ring back to its head.
        assumeTrue(packed);
        RawPackedRing r = new RawPackedRing(memory, allocator, 4, PACKED);
        for (int i = 0; i < 4; i++) r.desc(i, buf, 16, 0, DESC_F_NEXT | PackedRing.availFlags(true));
        assertBreaks(r.device(), "runs past 4 free slots");
    }

    @Test
    public void packedChainRunningIntoBuffersInFlight() {
        assumeTrue(packed);
        RawPackedRing r = new RawPackedRing(memory, allocator, 4, PACKED);
        r.publish(0, d(buf, 16, DESC_F_NEXT), d(buf, 16, 0));
        PackedQueueDevice q = r.device();
        popOk(q);
        // Slots 2, 3 and then 0 (next lap, still in flight): three descriptors where only two slots are free.
        r.publish(1, d(buf, 16, DESC_F_NEXT), d(buf, 16, DESC_F_NEXT), d(buf, 16, 0));
        assertBreaks(q, "into buffers in flight");
    }

    @Test
    public void packedDescriptorsMadeAvailableAgainWhileInFlight() {
        // A driver that marks every slot available again for the next lap while the device still holds them all.
        assumeTrue(packed);
        RawPackedRing r = new RawPackedRing(memory, allocator, 2, PACKED);
        r.publish(0, d(buf, 16, 0)).publish(1, d(buf, 16, 0));
        PackedQueueDevice q = r.device();
        popOk(q);
        popOk(q);
        r.publish(2, d(buf, 16, 0));
        assertBreaks(q, "runs past 0 free slots");
    }

    @Test
    public void packedWrapCounterGarbageInsideAChain() {
        assumeTrue(packed);
        RawPackedRing r = new RawPackedRing(memory, allocator, 8, PACKED);
        r.publish(0, d(buf, 16, DESC_F_NEXT), d(buf, 16, 0));
        r.desc(1, buf, 16, 0, PackedRing.availFlags(false));    // marked for the next lap, not this one
        assertBreaks(r.device(), "not available in lap 1");
    }

    @Test
    public void packedUsedFlagsInsideAChain() {
        assumeTrue(packed);
        RawPackedRing r = new RawPackedRing(memory, allocator, 8, PACKED);
        r.publish(0, d(buf, 16, DESC_F_NEXT), d(buf, 16, 0));
        r.desc(1, buf, 16, 0, PackedRing.DESC_F_AVAIL | PackedRing.DESC_F_USED);
        assertBreaks(r.device(), "not available");
    }

    @Test
    public void packedIndirectInsideAChain() {
        assumeTrue(packed);
        long t = table(d(buf, 16, 0));
        RawPackedRing r = new RawPackedRing(memory, allocator, 8, PACKED | INDIRECT);
        r.publish(0, d(buf, 16, DESC_F_NEXT), d(t, 16, DESC_F_INDIRECT));
        assertBreaks(r.device(), "inside a chain");
    }

    @Test
    public void packedHeadFlagsOfTheWrongLapAreNotAvailable() throws Exception {
        // Not an error: a descriptor marked for another lap is simply not there yet.
        assumeTrue(packed);
        RawPackedRing r = new RawPackedRing(memory, allocator, 8, PACKED);
        r.desc(0, buf, 16, 0, PackedRing.availFlags(false));
        r.desc(1, buf, 16, 0, 0xffff);
        PackedQueueDevice q = r.device();
        assertNull(q.pop());
        r.desc(0, buf, 16, 0, 0xffff);      // AVAIL and USED both set: used, not available
        assertNull(q.pop());
        assertFalse(q.broken());
    }

    @Test
    public void packedGarbageInTheDriverEventStructureIsHarmless() throws Exception {
        assumeTrue(packed);
        RawPackedRing r = new RawPackedRing(memory, allocator, 8, PACKED | VirtioFeatures.bit(VirtioFeatures.RING_EVENT_IDX));
        r.publish(0, d(buf, 16, DESC_F_WRITE));
        PackedQueueDevice q = r.device();
        DescriptorChain c = popOk(q);
        for (int garbage : new int[] {0xffff_ffff, 0x0003_7fff, 0x0002_ffff, 0x0002_1234}) {
            memory.writeInt(r.driverEvent, garbage);
            q.addUsed(c.head(), 0);
            q.needsInterrupt();         // any answer, but no exception and no read outside the ring
            r.publish(0, d(buf, 16, DESC_F_WRITE));
            c = popOk(q);
        }
        assertFalse(q.broken());
    }
}
