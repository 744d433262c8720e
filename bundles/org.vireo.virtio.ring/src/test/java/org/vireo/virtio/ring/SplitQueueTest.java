package org.vireo.virtio.ring;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
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
import org.vireo.virtio.device.VirtqueueException;
import org.vireo.virtio.driver.UsedBuffer;

/** Driver and device sides of the split ring talking to each other in one guest memory. */
public class SplitQueueTest {
    private static final long MEM = 1 << 20;
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

    private record Pair(SplitQueueDriver driver, SplitQueueDevice device) {}

    private Pair pair(int size, long features) {
        SplitQueueDriver driver = new SplitQueueDriver(memory, allocator, 0, size, features, notifications::incrementAndGet);
        SplitQueueDevice device = new SplitQueueDevice(memory, 0, size, driver.descAddress(), driver.availAddress(),
                driver.usedAddress(), features);
        return new Pair(driver, device);
    }

    private GuestRange buffer(byte[] content) {
        long a = allocator.allocate(content.length, 8);
        memory.write(a, content, 0, content.length);
        return new GuestRange(a, content.length);
    }

    private GuestRange empty(int length) {
        long a = allocator.allocate(length, 8);
        memory.fill(a, length, (byte) 0);
        return new GuestRange(a, length);
    }

    private byte[] read(GuestRange r) {
        byte[] b = new byte[(int) r.length()];
        memory.read(r.address(), b, 0, b.length);
        return b;
    }

    @Test
    public void roundTripOfOneDescriptor() throws Exception {
        Pair p = pair(8, 0);
        GuestRange out = buffer("hello device".getBytes());
        assertTrue(p.driver.addBuf(List.of(out), List.of(), "t1"));
        assertEquals(7, p.driver.freeCount());
        assertNull("nothing is visible before kick", p.device.pop());
        p.driver.kick();
        assertEquals(1, notifications.get());

        DescriptorChain c = p.device.pop();
        assertNotNull(c);
        assertEquals(List.of(out), c.readable());
        assertEquals(List.of(), c.writable());
        byte[] got = new byte[12];
        assertEquals(12, c.read(0, got, 0, 12));
        assertArrayEquals("hello device".getBytes(), got);
        assertNull(p.device.pop());

        assertNull(p.driver.getBuf());
        p.device.addUsed(c.head(), 0);
        assertEquals(new UsedBuffer("t1", 0), p.driver.getBuf());
        assertNull(p.driver.getBuf());
        assertEquals(8, p.driver.freeCount());
        assertFalse(p.driver.broken());
        assertEquals(1, p.device.usedIndex());
        assertEquals(1, p.device.lastAvailIndex());
        assertEquals(1, p.device.availIndex());
    }

    @Test
    public void roundTripOfThreeDescriptorsCopiesAcrossRanges() throws Exception {
        Pair p = pair(8, 0);
        GuestRange header = buffer(new byte[] {1, 2, 3, 4});
        GuestRange data = buffer(new byte[] {5, 6, 7, 8, 9});
        GuestRange status = empty(6);
        assertTrue(p.driver.addBuf(List.of(header, data), List.of(status), "req"));
        assertEquals(5, p.driver.freeCount());
        p.driver.kick();

        DescriptorChain c = p.device.pop();
        assertEquals(List.of(header, data), c.readable());
        assertEquals(List.of(status), c.writable());
        assertEquals(9, c.readableLength());
        assertEquals(6, c.writableLength());
        byte[] all = new byte[20];
        assertEquals("copies stop at the end of the readable part", 6, c.read(3, all, 0, 20));
        assertArrayEquals(new byte[] {4, 5, 6, 7, 8, 9}, java.util.Arrays.copyOf(all, 6));
        assertEquals(0, c.read(9, all, 0, 1));
        assertEquals(4, c.write(2, new byte[] {10, 11, 12, 13, 14}, 0, 5));
        p.device.addUsed(c.head(), 6);

        assertEquals(new UsedBuffer("req", 6), p.driver.getBuf());
        assertArrayEquals(new byte[] {0, 0, 10, 11, 12, 13}, read(status));
        assertEquals(8, p.driver.freeCount());
    }

    @Test
    public void wrapsAroundTheSixteenBitIndicesWithASmallQueue() throws Exception {
        for (long features : new long[] {0, EVENT_IDX, INDIRECT, EVENT_IDX | INDIRECT}) {
            setUpFresh();
            Pair p = pair(4, features);
            GuestRange a = buffer(new byte[] {1}), b = buffer(new byte[] {2}), w = empty(4);
            long freeBytes = allocator.freeBytes();
            int nextToken = 0, expectToken = 0;
            int ops = 70_000;                         // more than 2^16: every index wraps
            while (expectToken < ops) {
                // Fill with chains of 1, 2 and 3 descriptors in turn until the ring refuses.
                while (nextToken < ops) {
                    int kind = nextToken % 3;
                    List<GuestRange> out = kind == 0 ? List.of(a) : List.of(a, b);
                    List<GuestRange> in = kind == 2 ? List.of(w) : List.of();
                    if (!p.driver.addBuf(out, in, nextToken)) break;
                    nextToken++;
                }
                p.driver.kick();
                DescriptorChain c;
                while ((c = p.device.pop()) != null) {
                    p.device.addUsed(c.head(), (int) c.writableLength());
                }
                UsedBuffer u;
                while ((u = p.driver.getBuf()) != null) {
                    assertEquals(expectToken, u.token());
                    assertEquals(expectToken % 3 == 2 ? 4 : 0, u.length());
                    expectToken++;
                }
            }
            assertEquals(4, p.driver.freeCount());
            assertEquals(freeBytes, allocator.freeBytes());
            assertEquals(ops & 0xffff, p.device.usedIndex());
            assertFalse(p.device.broken());
            assertFalse(p.driver.broken());
            tearDown();
        }
        setUp();
    }

    private void setUpFresh() {
        if (arena != null && arena.scope().isAlive()) arena.close();
        setUp();
    }

    @Test
    public void indirectChainUsesOneRingDescriptorAndFreesItsTable() throws Exception {
        Pair p = pair(4, INDIRECT);
        GuestRange h = buffer(new byte[] {1}), d = buffer(new byte[] {2, 3}), s = empty(1);
        long before = allocator.freeBytes();
        assertTrue(p.driver.addBuf(List.of(h, d), List.of(s), "ind"));
        assertEquals(3, p.driver.freeCount());
        assertTrue("the table came from the allocator", allocator.freeBytes() < before);
        // Head descriptor is an indirect pointer to a 3-entry table.
        int flags = memory.readShort(p.driver.descAddress() + 12) & 0xffff;
        assertEquals(SplitRing.DESC_F_INDIRECT, flags);
        assertEquals(48, memory.readInt(p.driver.descAddress() + 8));
        p.driver.kick();

        DescriptorChain c = p.device.pop();
        assertEquals(List.of(h, d), c.readable());
        assertEquals(List.of(s), c.writable());
        c.write(0, new byte[] {42}, 0, 1);
        p.device.addUsed(c.head(), 1);
        assertEquals(new UsedBuffer("ind", 1), p.driver.getBuf());
        assertEquals(42, read(s)[0]);
        assertEquals(before, allocator.freeBytes());
        assertEquals(4, p.driver.freeCount());
    }

    @Test
    public void singleDescriptorNeverUsesIndirect() throws Exception {
        Pair p = pair(4, INDIRECT);
        GuestRange one = buffer(new byte[] {1});
        long before = allocator.freeBytes();
        assertTrue(p.driver.addBuf(List.of(one), List.of(), "one"));
        assertEquals("no table allocated", before, allocator.freeBytes());
        assertEquals(0, memory.readShort(p.driver.descAddress() + 12));
    }

    @Test
    public void addBufReturnsFalseWhenDescriptorsRunOut() {
        Pair p = pair(4, 0);
        GuestRange a = buffer(new byte[] {1});
        assertTrue(p.driver.addBuf(List.of(a, a, a), List.of(), 1));
        assertFalse(p.driver.addBuf(List.of(a, a), List.of(), 2));
        assertEquals(1, p.driver.freeCount());
        assertTrue(p.driver.addBuf(List.of(a), List.of(), 3));
        assertFalse(p.driver.addBuf(List.of(a), List.of(), 4));
        assertThrows(IllegalArgumentException.class, () -> p.driver.addBuf(List.of(a, a, a, a, a), List.of(), 5));
        assertThrows(IllegalArgumentException.class, () -> p.driver.addBuf(List.of(), List.of(), 6));
        assertThrows(IllegalArgumentException.class, () -> p.driver.addBuf(List.of(new GuestRange(MEM, 1)), List.of(), 7));
    }

    @Test
    public void withIndirectOneFreeDescriptorTakesAnyChain() {
        Pair p = pair(4, INDIRECT);
        GuestRange a = buffer(new byte[] {1});
        for (int i = 0; i < 4; i++) assertTrue(p.driver.addBuf(List.of(a, a, a), List.of(), i));
        assertEquals(0, p.driver.freeCount());
        assertFalse(p.driver.addBuf(List.of(a, a), List.of(), 9));
    }

    @Test
    public void eventIdxSuppressesDriverNotifications() throws Exception {
        Pair p = pair(8, EVENT_IDX);
        GuestRange a = buffer(new byte[] {1});
        p.driver.addBuf(List.of(a), List.of(), 0);
        p.driver.kick();
        assertEquals("avail_event 0 is crossed by the first buffer", 1, notifications.get());
        p.driver.addBuf(List.of(a), List.of(), 1);
        p.driver.kick();
        assertEquals("the device has not caught up: no second notification", 1, notifications.get());

        assertNotNull(p.device.pop());
        assertNotNull(p.device.pop());
        assertNull(p.device.pop());     // caught up: asks to be notified for avail entry 2
        p.driver.addBuf(List.of(a), List.of(), 2);
        p.driver.kick();
        assertEquals(2, notifications.get());

        p.device.setNotification(false);
        assertNotNull(p.device.pop());
        assertNull(p.device.pop());
        p.driver.addBuf(List.of(a), List.of(), 3);
        p.driver.kick();
        assertEquals("notifications are off", 2, notifications.get());
        p.device.setNotification(true);
        assertNotNull("after enabling the device pops again and finds the buffer", p.device.pop());
        assertNull(p.device.pop());
        p.driver.addBuf(List.of(a), List.of(), 4);
        p.driver.kick();
        assertEquals(3, notifications.get());
        p.driver.kick();
        assertEquals("a kick with nothing new does not notify", 3, notifications.get());
    }

    @Test
    public void noNotifyFlagSuppressesDriverNotificationsWithoutEventIdx() throws Exception {
        Pair p = pair(8, 0);
        GuestRange a = buffer(new byte[] {1});
        p.driver.addBuf(List.of(a), List.of(), 0);
        p.driver.kick();
        assertEquals(1, notifications.get());
        p.device.setNotification(false);
        assertEquals(SplitRing.USED_F_NO_NOTIFY, memory.readShort(p.driver.usedAddress()));
        p.driver.addBuf(List.of(a), List.of(), 1);
        p.driver.kick();
        assertEquals(1, notifications.get());
        p.device.setNotification(true);
        p.driver.addBuf(List.of(a), List.of(), 2);
        p.driver.kick();
        assertEquals(2, notifications.get());
    }

    @Test
    public void eventIdxSuppressesDeviceInterrupts() throws Exception {
        Pair p = pair(8, EVENT_IDX);
        GuestRange a = buffer(new byte[] {1});
        for (int i = 0; i < 6; i++) p.driver.addBuf(List.of(a), List.of(), i);
        p.driver.kick();
        List<DescriptorChain> chains = new ArrayList<>();
        DescriptorChain c;
        while ((c = p.device.pop()) != null) chains.add(c);
        assertEquals(6, chains.size());

        assertTrue(p.driver.enableCallbacks());      // used_event = 0
        assertFalse("nothing used yet", p.device.needsInterrupt());
        p.device.addUsed(chains.get(0).head(), 0);
        assertTrue(p.device.needsInterrupt());
        p.device.addUsed(chains.get(1).head(), 0);
        assertFalse("the driver has not consumed entry 0 yet", p.device.needsInterrupt());
        assertNotNull(p.driver.getBuf());
        assertNotNull(p.driver.getBuf());            // used_event = 2
        p.device.addUsed(chains.get(2).head(), 0);
        assertTrue(p.device.needsInterrupt());

        p.driver.disableCallbacks();
        assertNotNull(p.driver.getBuf());
        p.device.addUsed(chains.get(3).head(), 0);
        p.device.addUsed(chains.get(4).head(), 0);
        assertFalse("callbacks disabled", p.device.needsInterrupt());

        assertFalse("restart sees the pending buffers", p.driver.enableCallbacks());
        assertNotNull(p.driver.getBuf());
        assertNotNull(p.driver.getBuf());
        assertTrue(p.driver.enableCallbacks());
        p.device.addUsed(chains.get(5).head(), 0);
        assertTrue(p.device.needsInterrupt());
    }

    @Test
    public void noInterruptFlagSuppressesDeviceInterruptsWithoutEventIdx() throws Exception {
        Pair p = pair(8, 0);
        GuestRange a = buffer(new byte[] {1});
        for (int i = 0; i < 3; i++) p.driver.addBuf(List.of(a), List.of(), i);
        p.driver.kick();
        DescriptorChain c0 = p.device.pop(), c1 = p.device.pop(), c2 = p.device.pop();
        p.device.addUsed(c0.head(), 0);
        assertTrue(p.device.needsInterrupt());
        assertFalse("nothing new since the last interrupt", p.device.needsInterrupt());
        p.driver.disableCallbacks();
        p.device.addUsed(c1.head(), 0);
        assertFalse(p.device.needsInterrupt());
        p.driver.enableCallbacks();
        p.device.addUsed(c2.head(), 0);
        assertTrue(p.device.needsInterrupt());
    }

    @Test
    public void restartReportsBuffersUsedWhileCallbacksWereOff() throws Exception {
        for (long features : new long[] {0, EVENT_IDX}) {
            setUpFresh();
            Pair p = pair(8, features);
            AtomicInteger callbacks = new AtomicInteger();
            List<Object> drained = new ArrayList<>();
            p.driver.setCallback(q -> {
                callbacks.incrementAndGet();
                UsedBuffer u;
                while ((u = q.getBuf()) != null) drained.add(u.token());
            });
            assertFalse("no interrupt work when nothing is pending", p.driver.interrupt());
            GuestRange a = buffer(new byte[] {1});
            p.driver.addBuf(List.of(a), List.of(), "x");
            p.driver.addBuf(List.of(a), List.of(), "y");
            p.driver.kick();
            p.driver.disableCallbacks();
            DescriptorChain cx = p.device.pop();
            p.device.addUsed(cx.head(), 0);
            // The race: the driver drained, then the device used one more before callbacks came back on.
            assertFalse(p.driver.enableCallbacks());
            assertTrue(p.driver.interrupt());
            assertEquals(List.of("x"), drained);
            assertTrue(p.driver.enableCallbacks());
            assertFalse(p.driver.interrupt());
            DescriptorChain cy = p.device.pop();
            p.device.addUsed(cy.head(), 0);
            assertTrue(p.device.needsInterrupt());
            assertTrue(p.driver.interrupt());
            assertEquals(List.of("x", "y"), drained);
            assertEquals(2, callbacks.get());
            tearDown();
        }
        setUp();
    }

    @Test
    public void detachUnusedReturnsTokensTheDeviceNeverUsed() throws Exception {
        long before = allocator.freeBytes();
        Pair p = pair(8, INDIRECT);
        GuestRange a = buffer(new byte[] {1});
        p.driver.addBuf(List.of(a), List.of(), "used");
        p.driver.addBuf(List.of(a, a), List.of(), "unused-indirect");
        p.driver.addBuf(List.of(a), List.of(), "unused-direct");
        p.driver.kick();
        DescriptorChain c = p.device.pop();
        p.device.addUsed(c.head(), 0);
        assertEquals("used", p.driver.getBuf().token());
        List<Object> detached = new ArrayList<>();
        Object t;
        while ((t = p.driver.detachUnused()) != null) detached.add(t);
        assertEquals(2, detached.size());
        assertTrue(detached.containsAll(List.of("unused-indirect", "unused-direct")));
        assertEquals(8, p.driver.freeCount());
        assertNull(p.driver.detachUnused());
        p.driver.release();
        allocator.free(a.address());
        assertEquals("rings, tables and buffers all returned", before, allocator.freeBytes());
    }

    @Test
    public void releaseFreesOutstandingIndirectTables() {
        long before = allocator.freeBytes();
        Pair p = pair(16, INDIRECT);
        GuestRange a = new GuestRange(0x100, 8);
        for (int i = 0; i < 5; i++) p.driver.addBuf(List.of(a, a, a), List.of(), i);
        p.driver.release();
        assertEquals(before, allocator.freeBytes());
        p.driver.release();   // idempotent
        assertThrows(IllegalStateException.class, () -> p.driver.addBuf(List.of(a), List.of(), 9));
    }

    @Test
    public void badUsedIdBreaksTheDriverQueueWithoutThrowing() throws Exception {
        Pair p = pair(8, 0);
        p.driver.addBuf(List.of(buffer(new byte[] {1})), List.of(), "t");
        p.driver.kick();
        p.device.pop();
        p.device.addUsed(5, 0);     // never handed out
        assertNull(p.driver.getBuf());
        assertTrue(p.driver.broken());
        assertNull(p.driver.getBuf());
        assertFalse(p.driver.interrupt());
        assertThrows(IllegalStateException.class, () -> p.driver.addBuf(List.of(new GuestRange(0x100, 1)), List.of(), 1));
    }

    @Test
    public void usedIdOutOfRangeBreaksTheDriverQueue() throws Exception {
        Pair p = pair(8, 0);
        p.driver.addBuf(List.of(buffer(new byte[] {1})), List.of(), "t");
        p.driver.kick();
        p.device.pop();
        memory.writeInt(p.driver.usedAddress() + 4, 0x10000);
        memory.writeShort(p.driver.usedAddress() + 2, (short) 1);
        assertNull(p.driver.getBuf());
        assertTrue(p.driver.broken());
    }

    @Test
    public void usedLengthBeyondWritableBytesBreaksTheDriverQueue() throws Exception {
        Pair p = pair(8, 0);
        p.driver.addBuf(List.of(buffer(new byte[] {1})), List.of(empty(4)), "t");
        p.driver.kick();
        DescriptorChain c = p.device.pop();
        p.device.addUsed(c.head(), 5);
        assertNull(p.driver.getBuf());
        assertTrue(p.driver.broken());
    }

    @Test
    public void usedIdxRunningAheadBreaksTheDriverQueue() {
        Pair p = pair(8, 0);
        memory.writeShort(p.driver.usedAddress() + 2, (short) 9);
        assertNull(p.driver.getBuf());
        assertTrue(p.driver.broken());
    }

    @Test
    public void deviceConstructorRejectsBadRings() {
        assertThrows(IllegalArgumentException.class, () -> new SplitQueueDevice(memory, 0, 3, 0x1000, 0x2000, 0x3000, 0));
        assertThrows(IllegalArgumentException.class, () -> new SplitQueueDevice(memory, 0, 65536, 0x1000, 0x2000, 0x3000, 0));
        assertThrows(IllegalArgumentException.class, () -> new SplitQueueDevice(memory, 0, 8, 0x1008, 0x2000, 0x3000, 0));
        assertThrows(IllegalArgumentException.class, () -> new SplitQueueDevice(memory, 0, 8, 0x1000, 0x2001, 0x3000, 0));
        assertThrows(IllegalArgumentException.class, () -> new SplitQueueDevice(memory, 0, 8, 0x1000, 0x2000, 0x3002, 0));
        assertThrows(IllegalArgumentException.class, () -> new SplitQueueDevice(memory, 0, 8, MEM - 64, 0x2000, 0x3000, 0));
        assertThrows(IllegalArgumentException.class, () -> new SplitQueueDevice(memory, 0, 8, 0x1000, 0x2000, -4096, 0));
        SplitQueueDevice ok = new SplitQueueDevice(memory, 3, 8, 0x1000, 0x2000, 0x3000, 0);
        assertEquals(3, ok.index());
        assertEquals(8, ok.size());
    }

    @Test
    public void brokenDeviceQueueKeepsThrowingEvenAfterTheGuestFixesTheRing() {
        Pair p = pair(8, 0);
        memory.writeShort(p.driver.availAddress() + 4, (short) 100);
        memory.writeShort(p.driver.availAddress() + 2, (short) 1);
        assertThrows(VirtqueueException.class, p.device::pop);
        memory.writeShort(p.driver.availAddress() + 2, (short) 0);
        assertThrows(VirtqueueException.class, p.device::pop);
        assertTrue(p.device.broken());
        assertNotNull(p.device.brokenReason());
    }

    @Test
    public void chainCopiesRejectBadArguments() throws Exception {
        Pair p = pair(8, 0);
        p.driver.addBuf(List.of(buffer(new byte[] {1, 2})), List.of(), "t");
        p.driver.kick();
        DescriptorChain c = p.device.pop();
        assertThrows(IndexOutOfBoundsException.class, () -> c.read(0, new byte[1], 0, 2));
        assertThrows(IllegalArgumentException.class, () -> c.read(-1, new byte[1], 0, 1));
        assertEquals(0, c.write(0, new byte[1], 0, 1));   // no writable part
        assertSame(c.readable(), c.readable());
    }
}
