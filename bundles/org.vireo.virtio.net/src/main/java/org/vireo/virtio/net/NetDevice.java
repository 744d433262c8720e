package org.vireo.virtio.net;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import org.vireo.memory.GuestMemoryException;
import org.vireo.virtio.VirtioFeatures;
import org.vireo.virtio.VirtioIds;
import org.vireo.virtio.device.ConfigSpace;
import org.vireo.virtio.device.DescriptorChain;
import org.vireo.virtio.device.DeviceQueue;
import org.vireo.virtio.device.RateLimitedLog;
import org.vireo.virtio.device.VirtioDevice;
import org.vireo.virtio.device.VirtioDeviceContext;
import org.vireo.virtio.device.VirtqueueException;

/**
 * virtio-net (virtio 1.x 5.1) with one receive and one transmit queue, no offloads and no control queue.
 * <p>
 * Transmit runs on the thread that notifies queue 1. Receive runs wherever a frame becomes deliverable: on the
 * backend's thread when a frame arrives, or on the notifying thread when the driver posts receive buffers to queue 0.
 * Frames that arrive before there is a buffer wait in a bounded queue (the oldest are dropped beyond
 * {@link #MAX_PENDING}); the queue survives a device reset, like frames on the wire while a NIC restarts.
 */
public final class NetDevice implements VirtioDevice, AutoCloseable {
    public static final int F_MAC = 5;
    public static final int F_STATUS = 16;

    public static final int CFG_MAC = 0;
    public static final int CFG_STATUS = 6;
    public static final int CFG_MAX_VIRTQUEUE_PAIRS = 8;
    public static final int CONFIG_SIZE = 10;
    public static final int STATUS_LINK_UP = 1;

    public static final int RX = 0;
    public static final int TX = 1;
    public static final int QUEUE_SIZE = 256;
    /** virtio_net_hdr with num_buffers (VERSION_1): flags, gso_type, hdr_len, gso_size, csum_start, csum_offset, num_buffers. */
    public static final int HEADER_SIZE = 12;
    private static final int NUM_BUFFERS_OFFSET = 10;
    /** Largest frame either way; without GSO nothing legitimate comes close. */
    public static final int MAX_FRAME = 65535;
    public static final int MAX_PENDING = 256;

    private static final System.Logger LOG = System.getLogger(NetDevice.class.getName());

    private final byte[] mac;
    private final FrameBackend backend;
    private final String name;
    private final ConfigSpace config = new ConfigSpace(CONFIG_SIZE);
    private final ReentrantLock rxLock = new ReentrantLock();
    private final ReentrantLock txLock = new ReentrantLock();
    /** Host frames not yet delivered (guarded by rxLock). */
    private final ArrayDeque<byte[]> pending = new ArrayDeque<>();
    /** A receive chain popped for a frame that did not fit; the next frame gets it (guarded by rxLock). */
    private DescriptorChain heldRx;
    private volatile Activation active;

    private final AtomicLong rxFrames = new AtomicLong();
    private final AtomicLong rxDroppedOverflow = new AtomicLong();
    private final AtomicLong rxDroppedOversize = new AtomicLong();
    private final AtomicLong txFrames = new AtomicLong();
    private final AtomicLong txDropped = new AtomicLong();
    /** Guest-caused and backend failures, rate-limited per kind: a guest cannot flood the log. */
    private final RateLimitedLog log = new RateLimitedLog(LOG);

    private static final class Activation {
        final VirtioDeviceContext context;
        volatile boolean stopped;

        Activation(VirtioDeviceContext context) { this.context = context; }
    }

    /** Starts {@code backend}; the device owns it from now on and closes it in {@link #close()}. */
    public NetDevice(byte[] mac, FrameBackend backend, String name) {
        if (mac.length != 6) throw new IllegalArgumentException("a MAC address has 6 bytes");
        this.mac = mac.clone();
        this.backend = backend;
        this.name = name;
        for (int i = 0; i < 6; i++) config.put8(CFG_MAC + i, mac[i]);
        config.put16(CFG_STATUS, STATUS_LINK_UP);
        config.put16(CFG_MAX_VIRTQUEUE_PAIRS, 1);
        backend.start(this::frameFromHost);
    }

    public byte[] mac() { return mac.clone(); }

    public FrameBackend backend() { return backend; }

    public long rxFrames() { return rxFrames.get(); }

    /** Host frames dropped because too many waited for receive buffers. */
    public long rxDroppedOverflow() { return rxDroppedOverflow.get(); }

    /** Host frames dropped because they did not fit the guest's receive buffer. */
    public long rxDroppedOversize() { return rxDroppedOversize.get(); }

    public long txFrames() { return txFrames.get(); }

    /** Guest frames dropped: malformed, oversized, or refused by the backend. */
    public long txDropped() { return txDropped.get(); }

    @Override public int deviceId() { return VirtioIds.NET; }

    @Override public long offeredFeatures() { return VirtioFeatures.bit(F_MAC) | VirtioFeatures.bit(F_STATUS); }

    @Override public int queueCount() { return 2; }

    @Override public int queueMaxSize(int index) { return index == RX || index == TX ? QUEUE_SIZE : 0; }

    @Override public int configSize() { return CONFIG_SIZE; }

    @Override public int readConfig(int offset, int size) { return config.read(offset, size); }

    @Override public void writeConfig(int offset, int size, int value) { /* mac and status are read-only without CTRL_MAC_ADDR */ }

    @Override
    public void activate(VirtioDeviceContext context) {
        Activation act = new Activation(context);
        rxLock.lock();
        txLock.lock();
        try {
            heldRx = null;
            active = act;
        } finally {
            txLock.unlock();
            rxLock.unlock();
        }
        deliver(act);   // frames that arrived while the driver was getting ready
    }

    @Override
    public void reset() {
        active = null;
        // Wait out rx/tx work in flight on other threads: after this, no queue is touched.
        rxLock.lock();
        try {
            heldRx = null;
        } finally {
            rxLock.unlock();
        }
        txLock.lock();
        txLock.unlock();
    }

    @Override
    public String describe() {
        return MacAddress.format(mac) + " " + backend.describe() + ", rx " + rxFrames() + " (dropped "
                + (rxDroppedOverflow() + rxDroppedOversize()) + "), tx " + txFrames() + " (dropped " + txDropped() + ")";
    }

    @Override
    public void queueNotify(int index) {
        Activation act = active;
        if (act == null || act.stopped) return;
        if (index == RX) deliver(act);
        else if (index == TX) transmit(act);
    }

    /**
     * A frame from the backend: queue it, and deliver what the guest has room for. Runs on the backend's thread,
     * which must survive whatever happens here: a failure stops the activation and asks the driver for a reset.
     */
    void frameFromHost(byte[] frame) {
        if (frame.length == 0 || frame.length > MAX_FRAME) {
            rxDroppedOversize.incrementAndGet();
            return;
        }
        rxLock.lock();
        try {
            if (pending.size() >= MAX_PENDING) {
                pending.pollFirst();
                rxDroppedOverflow.incrementAndGet();
            }
            pending.addLast(frame);
            Activation act = active;
            if (act != null) deliverContained(act);
        } finally {
            rxLock.unlock();
        }
    }

    /** deliverLocked, with any failure (a device bug, a transport's signal failing) turned into NEEDS_RESET. */
    private void deliverContained(Activation act) {
        try {
            deliverLocked(act);
        } catch (RuntimeException | LinkageError | AssertionError e) {
            log.log(System.Logger.Level.ERROR, "internal error", () -> "virtio-net " + name + ": internal error on receive", e);
            if (!act.stopped) stop(act, "virtio-net " + name + ": internal error: " + e);
        }
    }

    private void deliver(Activation act) {
        rxLock.lock();
        try {
            deliverLocked(act);
        } finally {
            rxLock.unlock();
        }
    }

    private void deliverLocked(Activation act) {
        if (active != act || act.stopped || pending.isEmpty()) return;
        DeviceQueue queue = act.context.queue(RX);
        if (queue == null) return;
        boolean used = false;
        try {
            while (!pending.isEmpty() && active == act) {
                DescriptorChain chain = heldRx;
                heldRx = null;
                if (chain == null) chain = queue.pop();
                if (chain == null) {
                    // Out of buffers: ask for a kick when more come, then look again to close the race.
                    queue.setNotification(true);
                    chain = queue.pop();
                    if (chain == null) break;
                }
                if (chain.writableLength() < HEADER_SIZE) {
                    guestError("receive buffer of " + chain.writableLength() + " bytes cannot hold a header");
                    queue.addUsed(chain.head(), 0);
                    used = true;
                    continue;
                }
                byte[] frame = pending.peekFirst();
                if (HEADER_SIZE + (long) frame.length > chain.writableLength()) {
                    pending.pollFirst();
                    rxDroppedOversize.incrementAndGet();
                    heldRx = chain;   // the buffer stays usable for a smaller frame
                    continue;
                }
                pending.pollFirst();
                queue.addUsed(chain.head(), writeFrame(chain, frame));
                used = true;
            }
        } catch (VirtqueueException e) {
            stop(act, "virtio-net " + name + ": broken receive queue: " + e.getMessage());
        } catch (RuntimeException e) {
            log.log(System.Logger.Level.ERROR, "internal error", () -> "virtio-net " + name + ": internal error on receive", e);
            stop(act, "virtio-net " + name + ": internal error: " + e);
        } finally {
            if (used && active == act) act.context.signalUsed(RX);
        }
    }

    /** Header (zero but num_buffers = 1) then the frame; returns the used length. */
    private int writeFrame(DescriptorChain chain, byte[] frame) {
        byte[] header = new byte[HEADER_SIZE];
        header[NUM_BUFFERS_OFFSET] = 1;
        try {
            chain.write(0, header, 0, HEADER_SIZE);
            chain.write(HEADER_SIZE, frame, 0, frame.length);
        } catch (GuestMemoryException e) {
            guestError(e.getMessage());
            rxDroppedOversize.incrementAndGet();
            return 0;
        }
        rxFrames.incrementAndGet();
        return HEADER_SIZE + frame.length;
    }

    private void transmit(Activation act) {
        txLock.lock();
        try {
            if (active != act || act.stopped) return;
            DeviceQueue queue = act.context.queue(TX);
            if (queue == null) return;
            boolean used = false;
            try {
                while (active == act) {
                    queue.setNotification(false);
                    DescriptorChain chain;
                    while (active == act && (chain = queue.pop()) != null) {
                        send(chain);
                        queue.addUsed(chain.head(), 0);
                        used = true;
                    }
                    if (active != act) break;
                    queue.setNotification(true);
                    chain = queue.pop();
                    if (chain == null) break;
                    send(chain);
                    queue.addUsed(chain.head(), 0);
                    used = true;
                }
            } catch (VirtqueueException e) {
                stop(act, "virtio-net " + name + ": broken transmit queue: " + e.getMessage());
            } catch (RuntimeException e) {
                log.log(System.Logger.Level.ERROR, "internal error", () -> "virtio-net " + name + ": internal error on transmit", e);
                stop(act, "virtio-net " + name + ": internal error: " + e);
            } finally {
                if (used && active == act) act.context.signalUsed(TX);
            }
        } finally {
            txLock.unlock();
        }
    }

    /** Strips the header and hands the frame to the backend; the header's offload fields are unused (none offered). */
    private void send(DescriptorChain chain) {
        long length = chain.readableLength() - HEADER_SIZE;
        if (length <= 0 || length > MAX_FRAME) {
            txDropped.incrementAndGet();
            guestError("transmit chain of " + chain.readableLength() + " readable bytes is not a header plus a frame of 1.." + MAX_FRAME + " bytes");
            return;
        }
        byte[] frame = new byte[(int) length];
        try {
            if (chain.read(HEADER_SIZE, frame, 0, frame.length) != frame.length) {
                txDropped.incrementAndGet();
                return;
            }
        } catch (GuestMemoryException e) {
            txDropped.incrementAndGet();
            guestError(e.getMessage());
            return;
        }
        try {
            backend.send(frame);
            txFrames.incrementAndGet();
        } catch (IOException e) {
            txDropped.incrementAndGet();
            log.log(System.Logger.Level.ERROR, "backend refused a frame", () -> "virtio-net " + name + ": " + backend.describe() + " refused a frame: " + e.getMessage());
        }
    }

    private void stop(Activation act, String reason) {
        act.stopped = true;
        log.warn("stopped", () -> reason);
        act.context.needsReset(reason);
    }

    private void guestError(String message) {
        log.warn("guest error", () -> "virtio-net " + name + ": " + message);
    }

    /** Closes the backend; the device must be unplugged (reset) first. */
    @Override
    public void close() {
        backend.close();
    }
}
