package org.vireo.virtio.driver.net.impl;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.security.SecureRandom;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.vireo.memory.GuestAllocator;
import org.vireo.memory.GuestMemory;
import org.vireo.memory.GuestRange;
import org.vireo.virtio.VirtioException;
import org.vireo.virtio.VirtioFeatures;
import org.vireo.virtio.VirtioStatus;
import org.vireo.virtio.driver.UsedBuffer;
import org.vireo.virtio.driver.Virtqueue;
import org.vireo.virtio.driver.VirtioDriverDevice;
import org.vireo.virtio.driver.net.VirtioNetInterface;
import org.vireo.virtio.driver.support.BoundDevice;

/**
 * One bound virtio-net device (virtio 1.x 5.1) with one queue pair: the receive queue is kept full of buffers big
 * enough for a header and a whole frame (no mergeable buffers, no offloads); transmit buffers are a fixed pool of
 * slots, reclaimed by the transmit queue's callback.
 */
final class NetInterface implements VirtioNetInterface, BoundDevice {
    static final int F_MAC = 5;
    static final long SUPPORTED_FEATURES = VirtioFeatures.bit(F_MAC);
    static final int RX_QUEUE = 0, TX_QUEUE = 1;
    /** struct virtio_net_hdr with num_buffers, as VERSION_1 always has it (5.1.6). */
    static final int HEADER_BYTES = 12;
    static final int BUFFER_BYTES = HEADER_BYTES + MAX_FRAME;
    private static final int STRIDE = 1536;
    static final int MAX_BUFFERS = 256;
    /** Received frames kept for {@link #receive} before new ones are dropped, as a NIC drops on a full ring. */
    static final int RX_BACKLOG = 1024;
    private static final byte[] CLOSED = new byte[0];
    private static final int NO_SLOT = -1;

    private final VirtioDriverDevice device;
    private final GuestMemory memory;
    private final GuestAllocator allocator;
    private final byte[] mac;
    private final ReentrantReadWriteLock lifecycle = new ReentrantReadWriteLock();
    private final LinkedBlockingQueue<byte[]> received = new LinkedBlockingQueue<>();
    private final LinkedBlockingQueue<Integer> freeTxSlots = new LinkedBlockingQueue<>();
    final AtomicLong rxDropped = new AtomicLong();
    final AtomicLong rxErrors = new AtomicLong();
    private final Virtqueue rx;
    private final Virtqueue tx;
    private final long rxPool;
    private final long txPool;
    private final int rxBuffers;
    private volatile boolean closed;
    private volatile String failure;   // why send refuses: removed, or the device needs a reset

    NetInterface(VirtioDriverDevice device) throws VirtioException {
        this.device = device;
        this.memory = device.memory();
        this.allocator = device.allocator();
        if (device.queueCount() < 2 || device.queueMaxSize(RX_QUEUE) == 0 || device.queueMaxSize(TX_QUEUE) == 0) {
            throw new VirtioException(device.name() + ": no receive/transmit queue pair");
        }
        mac = VirtioFeatures.has(device.negotiatedFeatures(), F_MAC) ? readMac(device) : randomMac();
        rx = device.setupQueue(RX_QUEUE, 0, this::rxUsed);
        tx = device.setupQueue(TX_QUEUE, 0, this::txUsed);
        rxBuffers = Math.min(rx.size(), MAX_BUFFERS);
        int txSlots = Math.min(tx.size(), MAX_BUFFERS);
        long rxAt = 0, txAt = 0;
        try {
            rxAt = allocator.allocate((long) rxBuffers * STRIDE, 64);
            txAt = allocator.allocate((long) txSlots * STRIDE, 64);
        } catch (IllegalStateException e) {
            if (rxAt != 0) allocator.free(rxAt);
            device.deleteQueues();
            throw new VirtioException(device.name() + ": no guest memory for packet buffers", e);
        }
        rxPool = rxAt;
        txPool = txAt;
        for (int i = 0; i < txSlots; i++) freeTxSlots.add(i);
        for (int i = 0; i < rxBuffers; i++) postRx(i);
    }

    private static byte[] readMac(VirtioDriverDevice device) {
        byte[] m = new byte[6];
        for (int i = 0; i < 6; i++) m[i] = (byte) device.readConfig(i, 1);
        return m;
    }

    private static byte[] randomMac() {
        byte[] m = new byte[6];
        new SecureRandom().nextBytes(m);
        m[0] = (byte) ((m[0] & 0xfe) | 0x02);   // unicast, locally administered
        return m;
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
        return rx.addBuf(List.of(), List.of(new GuestRange(rxPool + (long) slot * STRIDE, BUFFER_BYTES)), slot);
    }

    @Override public String deviceName() { return device.name(); }

    @Override public byte[] mac() { return mac.clone(); }

    @Override
    public void send(byte[] frame) throws IOException {
        if (frame.length == 0 || frame.length > MAX_FRAME) {
            throw new IOException("frame of " + frame.length + " bytes: must be 1 to " + MAX_FRAME);
        }
        int slot;
        try {
            slot = freeTxSlots.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for a transmit buffer");
        }
        lifecycle.readLock().lock();
        try {
            String refused = failure;
            if (slot == NO_SLOT || refused != null) {
                freeTxSlots.add(slot);   // the sentinel goes back to wake the next waiter too
                throw new IOException(device.name() + ": " + (refused != null ? refused : "device removed"));
            }
            long at = txPool + (long) slot * STRIDE;
            memory.fill(at, HEADER_BYTES, (byte) 0);   // no checksum offload, no GSO
            memory.write(at + HEADER_BYTES, frame, 0, frame.length);
            if (!tx.addBuf(List.of(new GuestRange(at, HEADER_BYTES + frame.length)), List.of(), slot)) {
                freeTxSlots.add(slot);
                throw new IOException(device.name() + ": transmit queue refused a buffer" + (tx.broken() ? " (broken)" : ""));
            }
            tx.kick();
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    @Override
    public byte[] receive(long timeout, TimeUnit unit) throws InterruptedException {
        byte[] frame = received.poll(timeout, unit);
        if (frame == CLOSED) {
            received.add(CLOSED);
            return null;
        }
        return frame;
    }

    /** Receive callback: hands each frame to {@link #receive} and gives its buffer back to the device. */
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
                    deliver(slot, used.length());
                    reposted |= postRx(slot);
                }
            } while (!q.enableCallbacks());
            if (reposted) q.kick();
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    private void deliver(int slot, int length) {
        if (length <= HEADER_BYTES || length > BUFFER_BYTES) {
            rxErrors.incrementAndGet();
            return;
        }
        if (received.size() >= RX_BACKLOG) {
            rxDropped.incrementAndGet();
            return;
        }
        byte[] frame = new byte[length - HEADER_BYTES];
        memory.read(rxPool + (long) slot * STRIDE + HEADER_BYTES, frame, 0, frame.length);
        received.add(frame);
    }

    /** Transmit callback: the device has sent these; their slots are free again. */
    private void txUsed(Virtqueue q) {
        lifecycle.readLock().lock();
        try {
            if (closed) return;
            do {
                q.disableCallbacks();
                UsedBuffer used;
                while ((used = q.getBuf()) != null) {
                    if (used.token() instanceof Integer slot) freeTxSlots.add(slot);
                }
            } while (!q.enableCallbacks());
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    /** The device needs a reset: it will return no more transmit buffers, so senders must not wait for one. */
    @Override
    public void configChanged() {
        if ((device.getStatus() & VirtioStatus.NEEDS_RESET) != 0 && failure == null) {
            failure = "device needs reset";
            freeTxSlots.add(NO_SLOT);
        }
    }

    /** Stops the device, then frees the packet buffers and wakes every waiting sender and receiver. */
    @Override
    public void shutdown() {
        lifecycle.writeLock().lock();
        try {
            if (closed) return;
            closed = true;
            failure = "device removed";
        } finally {
            lifecycle.writeLock().unlock();
        }
        try {
            device.reset();
            device.deleteQueues();
        } finally {
            allocator.free(rxPool);
            allocator.free(txPool);
            freeTxSlots.add(NO_SLOT);
            received.add(CLOSED);
        }
    }
}
