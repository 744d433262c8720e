package org.vireo.virtio.driver.console.impl;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.vireo.memory.GuestAllocator;
import org.vireo.memory.GuestMemory;
import org.vireo.memory.GuestRange;
import org.vireo.virtio.VirtioException;
import org.vireo.virtio.driver.UsedBuffer;
import org.vireo.virtio.driver.Virtqueue;
import org.vireo.virtio.driver.VirtioDriverDevice;
import org.vireo.virtio.driver.console.VirtioConsolePort;
import org.vireo.virtio.driver.support.BoundDevice;
import org.vireo.virtio.driver.support.GuestBuffer;
import org.vireo.virtio.driver.support.RequestQueue;

/**
 * One bound virtio console (virtio 1.x 5.3) without MULTIPORT: receiveq0 is kept filled with buffers; what arrives
 * is queued for {@link #read} up to {@value #RX_LIMIT} bytes, beyond which buffers are held back from the device
 * until a reader catches up (the device then waits: flow control, not loss). transmitq0 carries writes.
 */
final class ConsolePort implements VirtioConsolePort, BoundDevice {
    static final int RX_QUEUE = 0, TX_QUEUE = 1;
    static final int RX_BUFFER_BYTES = 4096;
    static final int MAX_RX_BUFFERS = 32;
    static final int RX_LIMIT = 256 << 10;
    static final int TX_CHUNK = 32 << 10;
    static final int TX_PIPELINE = 4;

    private final VirtioDriverDevice device;
    private final GuestMemory memory;
    private final GuestAllocator allocator;
    private final ReentrantReadWriteLock lifecycle = new ReentrantReadWriteLock();
    private final ReentrantLock rxLock = new ReentrantLock();
    private final Condition rxReady = rxLock.newCondition();
    private final ArrayDeque<byte[]> chunks = new ArrayDeque<>();   // guarded by rxLock
    private int headOffset;                                          // guarded by rxLock: read position in chunks' head
    private int buffered;                                            // guarded by rxLock
    private final List<Integer> heldBack = new ArrayList<>();        // guarded by rxLock: rx slots not yet re-posted
    private final RequestQueue transmit = new RequestQueue();
    private final Virtqueue rx;
    private final long rxPool;
    private volatile boolean closed;

    ConsolePort(VirtioDriverDevice device) throws VirtioException {
        this.device = device;
        this.memory = device.memory();
        this.allocator = device.allocator();
        if (device.queueCount() < 2 || device.queueMaxSize(RX_QUEUE) == 0 || device.queueMaxSize(TX_QUEUE) == 0) {
            throw new VirtioException(device.name() + ": no receive/transmit queue pair");
        }
        rx = device.setupQueue(RX_QUEUE, 0, this::rxUsed);
        transmit.attach(device.setupQueue(TX_QUEUE, 0, transmit::buffersUsed));
        int rxBuffers = Math.min(rx.size(), MAX_RX_BUFFERS);
        try {
            rxPool = allocator.allocate((long) rxBuffers * RX_BUFFER_BYTES, 64);
        } catch (IllegalStateException e) {
            device.deleteQueues();
            throw new VirtioException(device.name() + ": no guest memory for receive buffers", e);
        }
        for (int i = 0; i < rxBuffers; i++) postRx(i);
    }

    /** Publishes the receive buffers; called once the device is live (DRIVER_OK). */
    @Override
    public void start() {
        lifecycle.readLock().lock();
        try {
            if (!closed) rx.kick();
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    private boolean postRx(int slot) {
        return rx.addBuf(List.of(), List.of(new GuestRange(rxPool + (long) slot * RX_BUFFER_BYTES, RX_BUFFER_BYTES)), slot);
    }

    @Override public String deviceName() { return device.name(); }

    @Override
    public void write(byte[] data, int off, int len) throws IOException {
        Objects.checkFromIndexSize(off, len, data.length);
        ArrayDeque<Pending> window = new ArrayDeque<>();
        int submitted = 0;
        try {
            while (submitted < len || !window.isEmpty()) {
                while (submitted < len && window.size() < TX_PIPELINE) {
                    int n = Math.min(TX_CHUNK, len - submitted);
                    window.add(send(data, off + submitted, n));
                    submitted += n;
                }
                Pending p = window.poll();
                RequestQueue.await(p.used(), p.buffer());
                p.buffer().free();
            }
        } finally {
            for (Pending p : window) p.abandon();
        }
    }

    private record Pending(GuestBuffer buffer, CompletableFuture<Integer> used) {
        void abandon() {
            if (used.isDone()) buffer.free();
            else used.whenComplete((n, t) -> buffer.free());
        }
    }

    private Pending send(byte[] data, int off, int len) throws IOException {
        GuestBuffer buffer = GuestBuffer.allocate(allocator, len, 64);
        try {
            memory.write(buffer.address(), data, off, len);
            return new Pending(buffer, transmit.submit(List.of(new GuestRange(buffer.address(), len)), List.of()));
        } catch (IOException | RuntimeException e) {
            buffer.free();
            throw e;
        }
    }

    @Override
    public int read(byte[] buf, int off, int len, long timeout, TimeUnit unit) throws InterruptedException {
        Objects.checkFromIndexSize(off, len, buf.length);
        if (len == 0) return 0;
        List<Integer> repost = List.of();
        int n = 0;
        rxLock.lock();
        try {
            long nanos = unit.toNanos(timeout);
            while (chunks.isEmpty()) {
                if (closed) return -1;
                if (nanos <= 0) return 0;
                nanos = rxReady.awaitNanos(nanos);
            }
            while (n < len && !chunks.isEmpty()) {
                byte[] head = chunks.peek();
                int take = Math.min(len - n, head.length - headOffset);
                System.arraycopy(head, headOffset, buf, off + n, take);
                n += take;
                headOffset += take;
                if (headOffset == head.length) {
                    chunks.poll();
                    headOffset = 0;
                }
            }
            buffered -= n;
            if (buffered < RX_LIMIT && !heldBack.isEmpty()) {
                repost = List.copyOf(heldBack);
                heldBack.clear();
            }
        } finally {
            rxLock.unlock();
        }
        if (!repost.isEmpty()) repostRx(repost);
        return n;
    }

    private void repostRx(List<Integer> slots) {
        lifecycle.readLock().lock();
        try {
            if (closed) return;
            for (int slot : slots) postRx(slot);
            rx.kick();
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    /** Receive callback: queues what arrived; gives buffers back unless readers are too far behind. */
    private void rxUsed(Virtqueue q) {
        lifecycle.readLock().lock();
        try {
            if (closed) return;
            boolean reposted = false;
            do {
                q.disableCallbacks();
                UsedBuffer used;
                while ((used = q.getBuf()) != null) {
                    if (!(used.token() instanceof Integer slot)) continue;
                    int length = Math.min(Math.max(used.length(), 0), RX_BUFFER_BYTES);
                    byte[] data = new byte[length];
                    if (length > 0) memory.read(rxPool + (long) slot * RX_BUFFER_BYTES, data, 0, length);
                    boolean holdBack;
                    rxLock.lock();
                    try {
                        if (length > 0) {
                            chunks.add(data);
                            buffered += length;
                            rxReady.signalAll();
                        }
                        holdBack = buffered >= RX_LIMIT;
                        if (holdBack) heldBack.add(slot);
                    } finally {
                        rxLock.unlock();
                    }
                    if (!holdBack) reposted |= postRx(slot);
                }
            } while (!q.enableCallbacks());
            if (reposted) q.kick();
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    /** The device needs a reset: writes in flight will never complete. */
    @Override
    public void configChanged() {
        transmit.closeIfNeedsReset(device);
    }

    /** Stops the device, fails writes in flight, frees the receive buffers and wakes readers. */
    @Override
    public void shutdown() {
        transmit.close("device removed");
        lifecycle.writeLock().lock();
        try {
            if (closed) return;
            closed = true;
        } finally {
            lifecycle.writeLock().unlock();
        }
        try {
            device.reset();
            device.deleteQueues();
        } finally {
            transmit.failInFlight();
            allocator.free(rxPool);
            rxLock.lock();
            try {
                rxReady.signalAll();
            } finally {
                rxLock.unlock();
            }
        }
    }
}
