package org.vireo.kvm;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.Test;

/** The eventfd wrapper: counts, timeouts, and a close that wakes a waiter. */
public class EventFdTest {
    @Test
    public void signalsAddUpAndATakeResetsTheCounter() {
        try (EventFd e = new EventFd()) {
            assertEquals(0, e.poll());
            e.signal();
            e.signal();
            e.add(5);
            assertEquals(7, e.await(5, TimeUnit.SECONDS));
            assertEquals(0, e.poll());
        }
    }

    @Test
    public void awaitTimesOutWithZero() {
        try (EventFd e = new EventFd()) {
            long start = System.nanoTime();
            assertEquals(0, e.await(50, TimeUnit.MILLISECONDS));
            assertTrue(System.nanoTime() - start >= TimeUnit.MILLISECONDS.toNanos(40));
        }
    }

    @Test
    public void aSignalFromAnotherThreadWakesTheWaiter() throws Exception {
        try (EventFd e = new EventFd()) {
            CountDownLatch waiting = new CountDownLatch(1);
            CompletableFuture<Long> waiter = CompletableFuture.supplyAsync(() -> {
                waiting.countDown();
                return e.await(-1, TimeUnit.SECONDS);
            });
            assertTrue(waiting.await(10, TimeUnit.SECONDS));
            e.signal();
            assertEquals(1L, waiter.get(10, TimeUnit.SECONDS).longValue());
        }
    }

    @Test
    public void closeWakesAWaiterForEver() throws Exception {
        EventFd e = new EventFd();
        CountDownLatch waiting = new CountDownLatch(1);
        CompletableFuture<Long> waiter = CompletableFuture.supplyAsync(() -> {
            waiting.countDown();
            return e.await(-1, TimeUnit.SECONDS);
        });
        assertTrue(waiting.await(10, TimeUnit.SECONDS));
        e.close();
        long got = waiter.get(10, TimeUnit.SECONDS);
        assertTrue("a closed eventfd yields 0 or the wake-up, never blocks: " + got, got <= 1);
        assertTrue(e.isClosed());
        assertEquals(0, e.poll());
        e.close();
    }

    @Test(expected = IllegalStateException.class)
    public void signallingAClosedEventFdIsAnError() {
        EventFd e = new EventFd();
        e.close();
        e.signal();
    }
}
