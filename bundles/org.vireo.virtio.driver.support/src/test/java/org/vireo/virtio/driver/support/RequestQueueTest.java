package org.vireo.virtio.driver.support;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.After;
import org.junit.Test;
import org.vireo.memory.GuestAllocator;
import org.vireo.memory.GuestRange;
import org.vireo.virtio.VirtioIds;
import org.vireo.virtio.VirtioStatus;
import org.vireo.virtio.testkit.FakeDevice;
import org.vireo.virtio.testkit.FakeQueue;

public class RequestQueueTest {
    private static final GuestRange OUT = new GuestRange(0x1000, 16);
    private static final GuestRange IN = new GuestRange(0x2000, 16);

    private final ExecutorService deviceThread = Executors.newSingleThreadExecutor();
    private final ExecutorService interruptThread = Executors.newSingleThreadExecutor();
    private final ExecutorService caller = Executors.newSingleThreadExecutor();
    private final RequestQueue requests = new RequestQueue();

    @After
    public void tearDown() throws InterruptedException {
        for (ExecutorService e : List.of(deviceThread, interruptThread, caller)) {
            e.shutdownNow();
            assertTrue(e.awaitTermination(10, TimeUnit.SECONDS));
        }
    }

    /** A queue without indirect descriptors, so each buffer takes one descriptor. */
    private FakeQueue attach(int size, FakeQueue.Model model) {
        FakeQueue q = new FakeQueue(0, size, false, deviceThread, interruptThread, requests::buffersUsed, model);
        requests.attach(q);
        return q;
    }

    /** Lets the device thread, then the interrupt thread, finish what was handed to them so far. */
    private void settle() throws Exception {
        deviceThread.submit(() -> {}).get(10, TimeUnit.SECONDS);
        interruptThread.submit(() -> {}).get(10, TimeUnit.SECONDS);
    }

    @Test
    public void completesWithTheBytesTheDeviceWrote() throws Exception {
        FakeQueue q = attach(8, c -> 7);
        assertEquals(8, requests.queueSize());
        CompletableFuture<Integer> used = requests.submit(List.of(OUT), List.of(IN));
        assertEquals(7, (int) used.get(10, TimeUnit.SECONDS));
        assertEquals(1, q.kicks);
        assertTrue(q.outstanding().isEmpty());
    }

    @Test
    public void waitsForRoomWhileTheRingIsFull() throws Exception {
        FakeQueue q = attach(2, c -> -1);   // the device keeps every chain until told
        CompletableFuture<Integer> first = requests.submit(List.of(OUT), List.of(IN));
        Future<CompletableFuture<Integer>> second = caller.submit(() -> requests.submit(List.of(OUT), List.of(IN)));
        settle();
        assertEquals("no room for the second request yet", 1, q.outstanding().size());
        assertTrue(deviceThread.submit(() -> q.completeHeld(c -> 3)).get(10, TimeUnit.SECONDS));
        assertEquals(3, (int) first.get(10, TimeUnit.SECONDS));
        CompletableFuture<Integer> secondUsed = second.get(10, TimeUnit.SECONDS);
        settle();
        assertTrue(deviceThread.submit(() -> q.completeHeld(c -> 5)).get(10, TimeUnit.SECONDS));
        assertEquals(5, (int) secondUsed.get(10, TimeUnit.SECONDS));
    }

    @Test
    public void aRequestLargerThanTheQueueIsRefused() {
        attach(2, c -> 0);
        IOException e = assertThrows(IOException.class, () -> requests.submit(List.of(OUT, OUT), List.of(IN)));
        assertTrue(e.getMessage(), e.getMessage().contains("exceeds the queue size 2"));
    }

    @Test
    public void closeRefusesNewRequestsAndFailInFlightFailsTheOthers() throws Exception {
        attach(8, c -> -1);
        CompletableFuture<Integer> held = requests.submit(List.of(OUT), List.of(IN));
        settle();
        assertFalse(requests.closed());
        requests.close("device gone");
        assertTrue(requests.closed());
        assertEquals("device gone", assertThrows(IOException.class, () -> requests.submit(List.of(OUT), List.of(IN))).getMessage());
        assertEquals("device gone", assertThrows(IOException.class, requests::ensureOpen).getMessage());
        assertFalse("in-flight requests wait for failInFlight (the device may still use their buffers)", held.isDone());
        requests.failInFlight();
        ExecutionException e = assertThrows(ExecutionException.class, () -> held.get(10, TimeUnit.SECONDS));
        assertTrue(e.getCause() instanceof IOException);
        assertEquals("device gone", e.getCause().getMessage());
    }

    @Test
    public void awaitFreesTheBufferOnFailureAndOnlyOnceTheDeviceReturnsItAfterAnInterrupt() throws Exception {
        GuestAllocator allocator = new GuestAllocator(1 << 20, 1 << 20);
        long free = allocator.freeBytes();

        GuestBuffer failed = GuestBuffer.allocate(allocator, 64, 64);
        CompletableFuture<Integer> failing = CompletableFuture.failedFuture(new IOException("boom"));
        assertEquals("boom", assertThrows(IOException.class, () -> RequestQueue.await(failing, failed)).getMessage());
        assertEquals(free, allocator.freeBytes());

        GuestBuffer pending = GuestBuffer.allocate(allocator, 64, 64);
        CompletableFuture<Integer> later = new CompletableFuture<>();
        Thread.currentThread().interrupt();
        assertThrows(InterruptedIOException.class, () -> RequestQueue.await(later, pending));
        assertTrue("the interrupt status is kept", Thread.interrupted());
        assertTrue("still lent to the device", allocator.freeBytes() < free);
        later.complete(64);
        assertEquals(free, allocator.freeBytes());
    }

    @Test
    public void needsResetClosesAndFailsWhatIsInFlight() throws Exception {
        try (FakeDevice device = new FakeDevice(VirtioIds.RNG, c -> -1)) {
            requests.attach(device.setupQueue(0, 0, requests::buffersUsed));
            CompletableFuture<Integer> held = requests.submit(List.of(OUT), List.of(IN));
            device.status = VirtioStatus.DRIVER_OK;
            assertFalse(requests.closeIfNeedsReset(device));
            assertFalse(requests.closed());
            device.status = VirtioStatus.DRIVER_OK | VirtioStatus.NEEDS_RESET;
            assertTrue(requests.closeIfNeedsReset(device));
            ExecutionException e = assertThrows(ExecutionException.class, () -> held.get(10, TimeUnit.SECONDS));
            assertEquals("fake/dev: device needs reset", e.getCause().getMessage());
            assertEquals("fake/dev: device needs reset", assertThrows(IOException.class, requests::ensureOpen).getMessage());
        }
    }

    @Test
    public void shutdownResetsTheDeviceBeforeFailingWhatIsInFlight() throws Exception {
        try (FakeDevice device = new FakeDevice(VirtioIds.RNG, c -> -1)) {
            requests.attach(device.setupQueue(0, 0, requests::buffersUsed));
            CompletableFuture<Integer> held = requests.submit(List.of(OUT), List.of(IN));
            AtomicInteger resetsWhenFailed = new AtomicInteger(-1);
            held.whenComplete((n, t) -> resetsWhenFailed.set(device.resets));
            requests.shutdown(device);
            assertEquals("reset before the request failed", 1, resetsWhenFailed.get());
            assertEquals(1, device.resets);
            assertEquals(null, device.queues[0]);
            ExecutionException e = assertThrows(ExecutionException.class, () -> held.get(10, TimeUnit.SECONDS));
            assertEquals("device removed", e.getCause().getMessage());
            assertEquals("device removed", assertThrows(IOException.class, () -> requests.submit(List.of(OUT), List.of(IN))).getMessage());
        }
    }
}
