package org.vireo.virtio.ring;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;
import org.vireo.memory.GuestAllocator;
import org.vireo.memory.GuestMemory;
import org.vireo.memory.GuestRange;
import org.vireo.virtio.VirtioFeatures;
import org.vireo.virtio.device.DescriptorChain;
import org.vireo.virtio.driver.UsedBuffer;

/** Driver and device sides of the packed ring talking to each other in one guest memory. */
public class PackedQueueTest {
    private static final long MEM = 1 << 20;
    private static final long PACKED = VirtioFeatures.bit(VirtioFeatures.RING_PACKED);
    private static final long EVENT_IDX = VirtioFeatures.bit(VirtioFeatures.RING_EVENT_IDX);
    private static final long INDIRECT = VirtioFeatures.bit(VirtioFeatures.RING_INDIRECT_DESC);

    @Rule public Timeout timeout = Timeout.seconds(60);

    private Arena arena;
    private GuestMemory memory;
    private GuestAllocator allocator;
    private final AtomicInteger notifications = new AtomicInteger();

    @Before
    public void setUp() {
        arena = Arena.ofConfined();
        memory = GuestMemory.allocate(arena, MEM);
        allocator = new GuestAllocator(0x1000, MEM - 0x1000);
    }

    @After
    public void tearDown() {
        arena.close();
    }

    private record Pair(PackedQueueDriver driver, PackedQueueDevice device) {}

    private Pair pair(int size, long features) {
        PackedQueueDriver driver = new PackedQueueDriver(memory, allocator, 0, size, features | PACKED, notifications::incrementAndGet);
        PackedQueueDevice device = new PackedQueueDevice(memory, 0, size, driver.descAddress(), driver.driverAreaAddress(),
                driver.deviceAreaAddress(), features | PACKED);
        return new Pair(driver, device);
    }

    private GuestRange buffer(byte[] content) {
        long a = allocator.allocate(Math.max(1, content.length), 8);
        memory.write(a, content, 0, content.length);
        return new GuestRange(a, content.length);
    }

    private byte[] read(GuestRange r) {
        byte[] b = new byte[(int) r.length()];
        memory.read(r.address(), b, 0, b.length);
        return b;
    }

    @Test
    public void roundTripAcrossThreeDescriptors() throws Exception {
        Pair p = pair(8, 0);
        GuestRange a = buffer(new byte[] {1, 2, 3}), b = buffer(new byte[] {4, 5});
        GuestRange in = buffer(new byte[6]);
        assertTrue(p.driver.addBuf(List.of(a, b), List.of(in), "t"));
        assertEquals(5, p.driver.freeCount());
        p.driver.kick();
        assertEquals(1, notifications.get());
        DescriptorChain c = p.device.pop();
        assertNotNull(c);
        assertEquals(5, c.readableLength());
        byte[] got = new byte[5];
        assertEquals(5, c.read(0, got, 0, 5));
        assertArrayEquals(new byte[] {1, 2, 3, 4, 5}, got);
        assertEquals(6, c.write(0, new byte[] {9, 8, 7, 6, 5, 4}, 0, 6));
        assertNull(p.device.pop());
        p.device.addUsed(c.head(), 6);
        assertTrue(p.device.needsInterrupt());
        assertTrue(p.driver.hasPending());
        UsedBuffer u = p.driver.getBuf();
        assertEquals("t", u.token());
        assertEquals(6, u.length());
        assertArrayEquals(new byte[] {9, 8, 7, 6, 5, 4}, read(in));
        assertNull(p.driver.getBuf());
        assertEquals(8, p.driver.freeCount());
        assertEquals(1, p.device.usedIndex());
        assertEquals(1, p.device.lastAvailIndex());
    }

    /** Random chain lengths, completion in random order, a queue size that is not a power of two: many laps. */
    @Test
    public void outOfOrderCompletionOverManyLapsOfAnOddSizedRing() throws Exception {
        for (long features : new long[] {0, EVENT_IDX, INDIRECT, EVENT_IDX | INDIRECT}) {
            Pair p = pair(5, features);
            Random rnd = new Random(17 + features);
            GuestRange data = buffer(new byte[64]);
            Map<Integer, Integer> tokenLength = new HashMap<>();
            List<DescriptorChain> popped = new ArrayList<>();
            List<Integer> poppedToken = new ArrayList<>();
            int next = 0, done = 0;
            for (int step = 0; step < 3000; step++) {
                int n = 1 + rnd.nextInt(3);
                List<GuestRange> outs = new ArrayList<>();
                for (int i = 0; i < n - 1; i++) outs.add(new GuestRange(data.address() + i, 1));
                GuestRange in = new GuestRange(data.address() + 8 + n, 4);
                if (p.driver.addBuf(outs, List.of(in), next)) {
                    tokenLength.put(next, n);
                    next++;
                    p.driver.kick();
                }
                DescriptorChain c;
                while ((c = p.device.pop()) != null) {
                    assertEquals(4, c.writableLength());
                    popped.add(c);
                }
                if (!popped.isEmpty() && rnd.nextBoolean()) {
                    int k = rnd.nextInt(popped.size());
                    DescriptorChain u = popped.remove(k);
                    p.device.addUsed(u.head(), rnd.nextInt(5));
                    UsedBuffer b = p.driver.getBuf();
                    assertNotNull("used buffer reaches the driver, " + p.driver + " " + p.device, b);
                    assertTrue(tokenLength.remove((Integer) b.token()) != null);
                    done++;
                }
                assertFalse(p.device.broken());
                assertFalse(p.driver.broken());
            }
            assertTrue("enough laps: " + done, done > 1000);
            poppedToken.clear();
        }
    }

    @Test
    public void indirectChainTakesOneSlotAndFreesItsTable() throws Exception {
        Pair p = pair(4, INDIRECT);
        GuestRange a = buffer(new byte[] {1}), b = buffer(new byte[] {2}), in = buffer(new byte[2]);
        long before = allocator.freeBytes();
        assertTrue(p.driver.addBuf(List.of(a, b), List.of(in), "t"));
        assertEquals(3, p.driver.freeCount());
        assertTrue(allocator.freeBytes() < before);
        DescriptorChain c = p.device.pop();
        assertEquals(2, c.readableLength());
        assertEquals(2, c.writableLength());
        p.device.addUsed(c.head(), 2);
        assertEquals("t", p.driver.getBuf().token());
        assertEquals(before, allocator.freeBytes());
        assertEquals(4, p.driver.freeCount());
    }

    @Test
    public void addBufReturnsFalseWhenSlotsRunOut() {
        Pair p = pair(4, 0);
        GuestRange r = buffer(new byte[4]);
        assertTrue(p.driver.addBuf(List.of(r, r, r), List.of(), "a"));
        assertFalse(p.driver.addBuf(List.of(r, r), List.of(), "b"));
        assertTrue(p.driver.addBuf(List.of(r), List.of(), "c"));
        assertFalse(p.driver.addBuf(List.of(r), List.of(), "d"));
        assertEquals(0, p.driver.freeCount());
    }

    @Test
    public void deviceDisablingNotificationsSuppressesKicks() throws Exception {
        for (long features : new long[] {0, EVENT_IDX}) {
            notifications.set(0);
            Pair p = pair(8, features);
            GuestRange r = buffer(new byte[4]);
            p.device.setNotification(false);
            assertTrue(p.driver.addBuf(List.of(r), List.of(), "a"));
            p.driver.kick();
            assertEquals(0, notifications.get());
            p.device.setNotification(true);
            assertNotNull(p.device.pop());       // the pop after enabling finds what came while disabled
            assertNull(p.device.pop());
            assertTrue(p.driver.addBuf(List.of(r), List.of(), "b"));
            p.driver.kick();
            assertEquals(1, notifications.get());
        }
    }

    @Test
    public void eventIdxNotifiesOnlyWhenTheDeviceWaitsAtTheNewSlot() throws Exception {
        Pair p = pair(4, EVENT_IDX);
        GuestRange r = buffer(new byte[4]);
        assertNull(p.device.pop());             // the device waits at slot 0, lap 1
        for (int round = 0; round < 10; round++) {   // crosses the wrap several times
            notifications.set(0);
            assertTrue(p.driver.addBuf(List.of(r), List.of(), "a" + round));
            p.driver.kick();
            assertEquals(1, notifications.get());
            assertTrue(p.driver.addBuf(List.of(r), List.of(), "b" + round));
            p.driver.kick();
            assertEquals("the device has not caught up: no second notification", 1, notifications.get());
            DescriptorChain a = p.device.pop(), b = p.device.pop();
            assertNull(p.device.pop());
            p.device.addUsed(a.head(), 0);
            p.device.addUsed(b.head(), 0);
            assertNotNull(p.driver.getBuf());
            assertNotNull(p.driver.getBuf());
        }
    }

    @Test
    public void driverEventSuppressionControlsInterrupts() throws Exception {
        for (long features : new long[] {0, EVENT_IDX}) {
            Pair p = pair(4, features);
            GuestRange r = buffer(new byte[4]);
            p.driver.disableCallbacks();
            for (int round = 0; round < 6; round++) {
                assertTrue(p.driver.addBuf(List.of(r), List.of(), round));
                p.device.addUsed(p.device.pop().head(), 0);
                assertFalse(p.device.needsInterrupt());
                assertFalse("used buffer pending: restart says poll again", p.driver.enableCallbacks());
                assertNotNull(p.driver.getBuf());
                assertTrue(p.driver.enableCallbacks());
                assertTrue(p.driver.addBuf(List.of(r), List.of(), round));
                p.device.addUsed(p.device.pop().head(), 0);
                assertTrue(p.device.needsInterrupt());
                assertFalse(p.device.needsInterrupt());     // nothing new since
                assertNotNull(p.driver.getBuf());
                p.driver.disableCallbacks();
            }
        }
    }

    @Test
    public void detachUnusedReturnsTokensTheDeviceNeverUsed() throws Exception {
        Pair p = pair(4, INDIRECT);
        GuestRange r = buffer(new byte[4]);
        assertTrue(p.driver.addBuf(List.of(r, r), List.of(), "a"));
        assertTrue(p.driver.addBuf(List.of(r), List.of(), "b"));
        List<Object> tokens = new ArrayList<>();
        Object t;
        while ((t = p.driver.detachUnused()) != null) tokens.add(t);
        assertEquals(List.of("a", "b"), tokens);
        assertEquals(4, p.driver.freeCount());
        p.driver.release();
    }

    @Test
    public void impossibleUsedDescriptorsBreakTheDriverQueueWithoutThrowing() throws Exception {
        // an id not in flight, an id beyond the ring, a length beyond the writable part
        int[][] cases = {{3, 0}, {9, 0}, {0, 5}};
        for (int[] bad : cases) {
            Pair p = pair(4, 0);
            GuestRange in = buffer(new byte[4]);
            assertTrue(p.driver.addBuf(List.of(), List.of(in), "t"));
            p.device.pop();
            long at = p.driver.descAddress();
            memory.writeInt(at + 8, bad[1]);
            memory.writeShort(at + 12, (short) bad[0]);
            memory.writeShort(at + 14, (short) (PackedRing.DESC_F_AVAIL | PackedRing.DESC_F_USED));
            assertNull(p.driver.getBuf());
            assertTrue(p.driver.broken());
            assertThrows(IllegalStateException.class, () -> p.driver.addBuf(List.of(), List.of(in), "u"));
        }
    }

    @Test
    public void addUsedOfABufferNotInFlightIsADeviceBug() {
        Pair p = pair(4, 0);
        assertThrows(IllegalArgumentException.class, () -> p.device.addUsed(0, 0));
        assertThrows(IllegalArgumentException.class, () -> p.device.addUsed(4, 0));
    }

    @Test
    public void deviceConstructorRejectsBadRings() {
        assertThrows(IllegalArgumentException.class, () -> new PackedQueueDevice(memory, 0, 0, 0x1000, 0x2000, 0x3000, PACKED));
        assertThrows(IllegalArgumentException.class, () -> new PackedQueueDevice(memory, 0, 32769, 0x1000, 0x2000, 0x3000, PACKED));
        assertThrows(IllegalArgumentException.class, () -> new PackedQueueDevice(memory, 0, 8, 0x1008, 0x2000, 0x3000, PACKED));
        assertThrows(IllegalArgumentException.class, () -> new PackedQueueDevice(memory, 0, 8, 0x1000, 0x2002, 0x3000, PACKED));
        assertThrows(IllegalArgumentException.class, () -> new PackedQueueDevice(memory, 0, 8, 0x1000, 0x2000, MEM, PACKED));
        assertThrows(IllegalArgumentException.class, () -> new PackedQueueDevice(memory, 0, 8, MEM - 64, 0x2000, 0x3000, PACKED));
        assertNotNull(new PackedQueueDevice(memory, 0, 3, 0x1000, 0x2000, 0x3000, PACKED));   // any size, not only powers of two
    }

    @Test
    public void ringsPicksTheLayoutFromFeatureBit34() {
        assertTrue(Rings.driver(memory, allocator, 0, 8, PACKED, () -> {}) instanceof PackedQueueDriver);
        assertTrue(Rings.driver(memory, allocator, 0, 8, 0, () -> {}) instanceof SplitQueueDriver);
        assertTrue(Rings.validSize(PACKED, 3));
        assertFalse(Rings.validSize(0, 3));
    }
}
