package org.vireo.virtio.driver.support;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.vireo.memory.GuestRange;
import org.vireo.virtio.VirtioStatus;
import org.vireo.virtio.driver.UsedBuffer;
import org.vireo.virtio.driver.VirtioDriverDevice;
import org.vireo.virtio.driver.Virtqueue;

/**
 * Requests on one virtqueue that callers wait for: each add_buf carries a future, completed by the "buffers used"
 * callback, which drains get_buf with the enable-callbacks restart. A caller waits for room when the ring is full.
 * Closing stops new requests and detaches the callback; {@link #failInFlight} then fails what the device never
 * returned, which a driver does only after resetting the device, so no buffer is freed while the device may use it.
 */
public final class RequestQueue {
    private static final long ROOM_RECHECK_MILLIS = 1000;

    private final ReentrantReadWriteLock lifecycle = new ReentrantReadWriteLock();
    private final Set<Request> inFlight = ConcurrentHashMap.newKeySet();
    private final Object room = new Object();
    private long completions;                    // guarded by room: buffers returned so far
    private volatile Virtqueue queue;
    private volatile String closedReason;        // set under the write lock

    private static final class Request {
        final CompletableFuture<Integer> used = new CompletableFuture<>();
    }

    /** The queue this instance's {@link #buffersUsed} callback was registered with. */
    public void attach(Virtqueue queue) {
        this.queue = queue;
    }

    /** The size of the attached queue. */
    public int queueSize() {
        return queue.size();
    }

    /**
     * Adds one chain and kicks, waiting while the ring has no room.
     *
     * @return the future of the bytes the device wrote into {@code in}; it fails with an IOException if the device
     *     goes away first
     */
    public CompletableFuture<Integer> submit(List<GuestRange> out, List<GuestRange> in) throws IOException {
        Virtqueue q = queue;
        if (out.size() + in.size() > q.size()) {
            throw new IOException("a request of " + (out.size() + in.size()) + " buffers exceeds the queue size " + q.size());
        }
        Request request = new Request();
        while (true) {
            long seen;
            synchronized (room) {
                seen = completions;
            }
            lifecycle.readLock().lock();
            try {
                ensureOpen();
                inFlight.add(request);
                if (q.addBuf(out, in, request)) {
                    q.kick();
                    return request.used;
                }
                inFlight.remove(request);
                if (q.broken()) throw new IOException("virtqueue broken");
            } finally {
                lifecycle.readLock().unlock();
            }
            awaitRoom(seen);
        }
    }

    private void awaitRoom(long seen) throws IOException {
        synchronized (room) {
            while (completions == seen && closedReason == null) {
                // Every buffer in the ring is in inFlight before add_buf, so an empty set means the refusal was
                // not for want of room (and no completion will come to wake us).
                if (inFlight.isEmpty()) throw new IOException("the virtqueue refused a request although nothing is in flight");
                try {
                    room.wait(ROOM_RECHECK_MILLIS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new InterruptedIOException("interrupted while waiting for room in the virtqueue");
                }
            }
        }
        ensureOpen();
    }

    /** The queue's callback: completes every returned request. Runs on the interrupt thread. */
    public void buffersUsed(Virtqueue q) {
        boolean broken = false;
        lifecycle.readLock().lock();
        try {
            if (closedReason != null || q != queue) return;
            do {
                q.disableCallbacks();
                UsedBuffer used;
                while ((used = q.getBuf()) != null) {
                    synchronized (room) {
                        completions++;   // before the request leaves inFlight: see awaitRoom
                    }
                    if (used.token() instanceof Request r && inFlight.remove(r)) r.used.complete(used.length());
                }
            } while (!q.enableCallbacks() && !q.broken());
            broken = q.broken();
        } finally {
            lifecycle.readLock().unlock();
            synchronized (room) {
                room.notifyAll();
            }
        }
        if (broken) {
            close("virtqueue broken");
            failInFlight();
        }
    }

    /** Refuses new requests with {@code reason} and stops touching the queue; waits for a running callback. */
    public void close(String reason) {
        lifecycle.writeLock().lock();
        try {
            if (closedReason == null) closedReason = reason;
        } finally {
            lifecycle.writeLock().unlock();
        }
        synchronized (room) {
            room.notifyAll();
        }
    }

    /** Fails every request the device has not returned (call after the device was reset or gave up). */
    public void failInFlight() {
        String reason = closedReason == null ? "device removed" : closedReason;
        for (Request r : inFlight) {
            if (inFlight.remove(r)) r.used.completeExceptionally(new IOException(reason));
        }
    }

    /** Whether {@link #close} was called (or the queue broke). */
    public boolean closed() {
        return closedReason != null;
    }

    /** @throws IOException with the close reason once the queue is closed */
    public void ensureOpen() throws IOException {
        String reason = closedReason;
        if (reason != null) throw new IOException(reason);
    }

    /**
     * After a configuration change: if {@code device} set NEEDS_RESET it stopped processing its queues, so nothing in
     * flight will return; then closes with "{@code <device name>}: device needs reset" and fails what is in flight.
     *
     * @return whether the device needs a reset
     */
    public boolean closeIfNeedsReset(VirtioDriverDevice device) {
        if ((device.getStatus() & VirtioStatus.NEEDS_RESET) == 0) return false;
        close(device.name() + ": device needs reset");
        failInFlight();
        return true;
    }

    /**
     * Unbinds a device whose only queue this is: refuses new requests, resets {@code device} (so it no longer
     * touches the buffers), then fails what is in flight and deletes its queues.
     */
    public void shutdown(VirtioDriverDevice device) {
        close("device removed");
        try {
            device.reset();
        } finally {
            failInFlight();
            device.deleteQueues();
        }
    }

    /** Waits for a request; on interrupt, the buffer is freed when the device returns it, not before. */
    public static int await(CompletableFuture<Integer> used, GuestBuffer buffer) throws IOException {
        try {
            return used.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            used.whenComplete((n, t) -> buffer.free());
            throw new InterruptedIOException("interrupted while waiting for the device");
        } catch (ExecutionException e) {
            buffer.free();
            if (e.getCause() instanceof IOException io) throw new IOException(io.getMessage(), io);
            throw new IOException(e.getCause());
        }
    }
}
