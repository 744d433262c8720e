package org.vireo.virtio.core;

import static org.vireo.virtio.VirtioStatus.ACKNOWLEDGE;
import static org.vireo.virtio.VirtioStatus.DRIVER;
import static org.vireo.virtio.VirtioStatus.DRIVER_OK;
import static org.vireo.virtio.VirtioStatus.FAILED;
import static org.vireo.virtio.VirtioStatus.FEATURES_OK;
import static org.vireo.virtio.VirtioStatus.NEEDS_RESET;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.vireo.memory.GuestMemory;
import org.vireo.virtio.VirtioFeatures;
import org.vireo.virtio.VirtioStatus;
import org.vireo.virtio.VirtioTransportInfo.QueueInfo;
import org.vireo.virtio.device.DeviceQueue;
import org.vireo.virtio.device.RateLimitedLog;
import org.vireo.virtio.device.VirtioDevice;
import org.vireo.virtio.device.VirtioDeviceContext;
import org.vireo.virtio.ring.RingLayout;
import org.vireo.virtio.ring.Rings;
import org.vireo.virtio.ring.SplitRing;

/**
 * The transport-independent half of a virtio device (virtio 1.x sections 2 and 3): feature windows and negotiation,
 * the status state machine, per-queue configuration, config space bounds, config generation and interrupt status.
 * A transport maps its registers onto these methods and delivers the interrupts through its {@link InterruptSink}.
 * <p>
 * Every input here is guest-controlled: bad values are ignored or answered with NEEDS_RESET, never with an exception,
 * and exceptions thrown by the device (bugs) are contained the same way. What the guest can make happen again and
 * again is logged through a {@link RateLimitedLog}, so a guest cannot flood the host's log.
 * <p>
 * Locking: register state is guarded by this object's monitor, which is never held while calling the device or the
 * interrupt sink (a device's worker thread may call back into its context while the device is being reset).
 * {@link #lifecycle} orders device calls: activate and reset take it exclusively, queue notifications shared, so a
 * reset never overlaps a notification in flight and the device sees no notification after reset returns.
 */
public final class VirtioDeviceCore {
    /** MSI-X "no vector" (virtio-pci). */
    public static final int NO_VECTOR = 0xffff;
    /** Interrupt status bit: a queue has used buffers. */
    public static final int ISR_QUEUE = 1;
    /** Interrupt status bit: configuration changed (or NEEDS_RESET). */
    public static final int ISR_CONFIG = 2;
    /** Generic features every transport offers on top of the device's own. */
    public static final long TRANSPORT_FEATURES = VirtioFeatures.bit(VirtioFeatures.VERSION_1)
            | VirtioFeatures.bit(VirtioFeatures.RING_INDIRECT_DESC) | VirtioFeatures.bit(VirtioFeatures.RING_EVENT_IDX);

    private static final System.Logger LOG = System.getLogger(VirtioDeviceCore.class.getName());
    private static final int DRIVER_BITS = ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK;

    private final VirtioDevice device;
    private final GuestMemory memory;
    private final InterruptSink sink;
    private final String label;
    private final long offeredFeatures;
    private final int queueCount;
    private final int configSize;
    private final QueueState[] queues;
    private final ReentrantReadWriteLock lifecycle = new ReentrantReadWriteLock();
    private final RateLimitedLog log = new RateLimitedLog(LOG);

    // Guarded by this.
    private int status;
    private int deviceFeatureSelect;
    private int driverFeatureSelect;
    private long driverFeatures;
    private int queueSelect;
    private int configGeneration;
    private int interruptStatus;
    private int configVector = NO_VECTOR;
    /** The context handed to the device at DRIVER_OK; null before and after (reset, FAILED). */
    private Activation activation;
    /** Notifications reach the device: true from activation until NEEDS_RESET. */
    private boolean running;
    private boolean closed;

    private static final class QueueState {
        final int maxSize;
        int size;
        boolean ready;
        long desc;
        long driver;
        long device;
        int vector = NO_VECTOR;
        DeviceQueue live;

        QueueState(int maxSize) {
            this.maxSize = maxSize;
            this.size = maxSize;
        }

        void reset() {
            size = maxSize;
            ready = false;
            desc = driver = device = 0;
            vector = NO_VECTOR;
            live = null;
        }
    }

    /**
     * @param label names the device in log messages (e.g. "java/mmio@0xd0000000")
     */
    public VirtioDeviceCore(VirtioDevice device, GuestMemory memory, InterruptSink sink, String label) {
        this(device, memory, sink, label, RingLayout.SPLIT);
    }

    /**
     * @param label names the device in log messages (e.g. "java/mmio@0xd0000000")
     * @param ring the layout offered: with {@link RingLayout#PACKED} VIRTIO_F_RING_PACKED is offered, and a driver
     *        that accepts it gets packed rings (any queue size up to the maximum); otherwise the bit is never offered
     */
    public VirtioDeviceCore(VirtioDevice device, GuestMemory memory, InterruptSink sink, String label, RingLayout ring) {
        this.device = device;
        this.memory = memory;
        this.sink = sink;
        this.label = label;
        this.offeredFeatures = ring.offer(device.offeredFeatures() | TRANSPORT_FEATURES);
        this.queueCount = Math.max(0, Math.min(device.queueCount(), 0x10000));
        this.configSize = Math.max(0, device.configSize());
        this.queues = new QueueState[queueCount];
        for (int i = 0; i < queueCount; i++) {
            int max = device.queueMaxSize(i);
            queues[i] = new QueueState(SplitRing.validSize(max) ? max : 0);
        }
    }

    public VirtioDevice device() { return device; }

    public GuestMemory memory() { return memory; }

    public String label() { return label; }

    public int deviceId() { return device.deviceId(); }

    public long offeredFeatures() { return offeredFeatures; }

    public int queueCount() { return queueCount; }

    public int configSize() { return configSize; }

    // ---- features ----

    public synchronized int deviceFeatureSelect() { return deviceFeatureSelect; }

    public synchronized void selectDeviceFeatures(int select) { deviceFeatureSelect = select; }

    /** The 32 offered feature bits at the selected window; 0 beyond bit 63. */
    public synchronized int deviceFeatureWindow() { return window(offeredFeatures, deviceFeatureSelect); }

    public synchronized int driverFeatureSelect() { return driverFeatureSelect; }

    public synchronized void selectDriverFeatures(int select) { driverFeatureSelect = select; }

    public synchronized int driverFeatureWindow() { return window(driverFeatures, driverFeatureSelect); }

    /** Writes 32 bits of the driver's features; ignored once FEATURES_OK is set (or FAILED). */
    public synchronized void writeDriverFeatureWindow(int value) {
        if (closed || (status & (FEATURES_OK | DRIVER_OK | FAILED)) != 0) return;
        long bits = value & 0xffff_ffffL;
        switch (driverFeatureSelect) {
            case 0 -> driverFeatures = (driverFeatures & 0xffff_ffff_0000_0000L) | bits;
            case 1 -> driverFeatures = (driverFeatures & 0xffff_ffffL) | (bits << 32);
            default -> { } // no feature bits beyond 63
        }
    }

    public synchronized long driverFeatures() { return driverFeatures; }

    private static int window(long features, int select) {
        return switch (select) {
            case 0 -> (int) features;
            case 1 -> (int) (features >>> 32);
            default -> 0;
        };
    }

    // ---- status ----

    public synchronized int status() { return status; }

    /**
     * A driver's status write. 0 resets. Otherwise the driver's bits may only grow along ACKNOWLEDGE, DRIVER,
     * FEATURES_OK, DRIVER_OK (other writes are ignored); FEATURES_OK does not stick when the driver accepted a feature
     * that was not offered or left out VERSION_1; DRIVER_OK validates the enabled queues and activates the device, or
     * sets NEEDS_RESET when a queue is unusable. FAILED may be set at any time and stops the device until reset.
     */
    public void writeStatus(int value) {
        value &= 0xff;
        if (value == 0) {
            reset();
            return;
        }
        lifecycle.writeLock().lock();
        try {
            Activation toActivate = null;
            boolean stopDevice = false;
            boolean refusedQueues = false;
            synchronized (this) {
                if (closed || (status & FAILED) != 0) return;
                if ((value & FAILED) != 0) {
                    status |= FAILED;
                    stopDevice = activation != null;
                    deactivate();
                } else {
                    int current = status & DRIVER_BITS;
                    int wanted = value & DRIVER_BITS;
                    if (wanted == current) return;
                    if ((wanted & current) != current || !isStatusPrefix(wanted)) {
                        int ignored = wanted, was = status;
                        LOG.log(System.Logger.Level.DEBUG, () -> label + ": ignored status write " + VirtioStatus.describe(ignored)
                                + " over " + VirtioStatus.describe(was));
                        return;
                    }
                    int added = wanted & ~current;
                    if ((added & FEATURES_OK) != 0 && !featuresAcceptable()) {
                        log.log(System.Logger.Level.INFO, "FEATURES_OK refused", () -> String.format("%s: refused FEATURES_OK for driver features 0x%x (offered 0x%x)",
                                label, driverFeatures, offeredFeatures));
                        wanted &= ~(FEATURES_OK | DRIVER_OK);
                    }
                    status = (status & NEEDS_RESET) | wanted;
                    if ((added & DRIVER_OK) != 0 && (wanted & DRIVER_OK) != 0 && (status & NEEDS_RESET) == 0) {
                        String problem = startQueues();
                        if (problem == null) {
                            toActivate = new Activation(driverFeatures);
                            activation = toActivate;
                            running = true;
                        } else {
                            log.warn("DRIVER_OK refused", () -> label + ": DRIVER_OK refused: " + problem);
                            for (QueueState q : queues) q.live = null;
                            status |= NEEDS_RESET;
                            interruptStatus |= ISR_CONFIG;
                            refusedQueues = true;
                        }
                    }
                }
            }
            if (stopDevice) callDevice("reset", device::reset);
            if (refusedQueues) sink.configInterrupt();
            if (toActivate != null) {
                Activation a = toActivate;
                if (!callDevice("activate", () -> device.activate(a))) a.needsReset("device failed to activate");
            }
        } finally {
            lifecycle.writeLock().unlock();
        }
    }

    private static boolean isStatusPrefix(int bits) {
        return bits == ACKNOWLEDGE || bits == (ACKNOWLEDGE | DRIVER) || bits == (ACKNOWLEDGE | DRIVER | FEATURES_OK)
                || bits == DRIVER_BITS;
    }

    private boolean featuresAcceptable() {
        return (driverFeatures & ~offeredFeatures) == 0 && VirtioFeatures.has(driverFeatures, VirtioFeatures.VERSION_1);
    }

    /** Builds the device side of every enabled queue; returns what is wrong with the first bad one, or null. */
    private String startQueues() {
        for (int i = 0; i < queueCount; i++) {
            QueueState q = queues[i];
            if (!q.ready) continue;
            String problem = startQueue(i, q);
            if (problem != null) return problem;
        }
        return null;
    }

    private String startQueue(int index, QueueState q) {
        if (!Rings.validSize(driverFeatures, q.size) || q.size > q.maxSize) {
            return "queue " + index + " size " + q.size + (Rings.packed(driverFeatures) ? " is not between 1 and " : " is not a power of two up to ") + q.maxSize;
        }
        try {
            q.live = Rings.device(memory, index, q.size, q.desc, q.driver, q.device, driverFeatures);
            return null;
        } catch (RuntimeException e) {
            q.live = null;
            return String.format("queue %d (size %d, desc 0x%x, driver 0x%x, device 0x%x): %s",
                    index, q.size, q.desc, q.driver, q.device, e.getMessage());
        }
    }

    /** Writing 0: the device and every queue back to their initial state; the device is reset. */
    public void reset() {
        lifecycle.writeLock().lock();
        try {
            synchronized (this) {
                status = 0;
                deviceFeatureSelect = driverFeatureSelect = 0;
                driverFeatures = 0;
                queueSelect = 0;
                interruptStatus = 0;
                configVector = NO_VECTOR;
                for (QueueState q : queues) q.reset();
                deactivate();
            }
            callDevice("reset", device::reset);
        } finally {
            lifecycle.writeLock().unlock();
        }
    }

    /** Unplug: resets the device and ignores every later access. */
    public void close() {
        reset();
        synchronized (this) {
            closed = true;
        }
    }

    private void deactivate() {
        activation = null;
        running = false;
        for (QueueState q : queues) q.live = null;
    }

    // ---- queues ----

    public synchronized int queueSelect() { return queueSelect; }

    public synchronized void selectQueue(int index) { queueSelect = index; }

    private QueueState selected() {
        return queueSelect >= 0 && queueSelect < queueCount ? queues[queueSelect] : null;
    }

    /** 0 when the selected queue does not exist. */
    public synchronized int queueMaxSize() {
        QueueState q = selected();
        return q == null ? 0 : q.maxSize;
    }

    public synchronized int queueSize() {
        QueueState q = selected();
        return q == null ? 0 : q.size;
    }

    /** Ignored while the queue is enabled; checked at DRIVER_OK (or when enabled later). */
    public synchronized void setQueueSize(int size) {
        QueueState q = configurable();
        if (q != null) q.size = size & 0xffff;
    }

    public synchronized boolean queueReady() {
        QueueState q = selected();
        return q != null && q.ready;
    }

    /**
     * Enables or disables the selected queue. Enabling while the device runs starts the queue at once (an unusable
     * one sets NEEDS_RESET); disabling stops its notifications and interrupts.
     */
    public void setQueueReady(boolean ready) {
        boolean refused = false;
        synchronized (this) {
            QueueState q = selected();
            if (q == null || closed || q.ready == ready) return;
            if (q.maxSize == 0 && ready) return;
            q.ready = ready;
            if (!ready) {
                q.live = null;
                return;
            }
            if (running) {
                String problem = startQueue(queueSelect, q);
                if (problem != null) {
                    log.warn("late queue enable refused", () -> label + ": late queue enable refused: " + problem);
                    status |= NEEDS_RESET;
                    running = false;
                    interruptStatus |= ISR_CONFIG;
                    refused = true;
                }
            }
        }
        if (refused) sink.configInterrupt();
    }

    public synchronized long queueDesc() {
        QueueState q = selected();
        return q == null ? 0 : q.desc;
    }

    public synchronized void setQueueDesc(long address) {
        QueueState q = configurable();
        if (q != null) q.desc = address;
    }

    public synchronized long queueDriver() {
        QueueState q = selected();
        return q == null ? 0 : q.driver;
    }

    public synchronized void setQueueDriver(long address) {
        QueueState q = configurable();
        if (q != null) q.driver = address;
    }

    public synchronized long queueDevice() {
        QueueState q = selected();
        return q == null ? 0 : q.device;
    }

    public synchronized void setQueueDevice(long address) {
        QueueState q = configurable();
        if (q != null) q.device = address;
    }

    /** The selected queue's MSI-X vector (virtio-pci); NO_VECTOR when none or no such queue. */
    public synchronized int queueVector() {
        QueueState q = selected();
        return q == null ? NO_VECTOR : q.vector;
    }

    /** The transport has checked {@code vector} against its table (or passes NO_VECTOR). */
    public synchronized void setQueueVector(int vector) {
        QueueState q = selected();
        if (q != null && !closed) q.vector = vector & 0xffff;
    }

    /** Vector of queue {@code index}, for interrupt delivery. */
    public synchronized int queueVector(int index) {
        return index >= 0 && index < queueCount ? queues[index].vector : NO_VECTOR;
    }

    /** The selected queue's notify offset: its index (the notify register of queue i is at i * multiplier). */
    public synchronized int queueNotifyOffset() {
        return selected() == null ? 0 : queueSelect;
    }

    public synchronized int configVector() { return configVector; }

    public synchronized void setConfigVector(int vector) {
        if (!closed) configVector = vector & 0xffff;
    }

    private QueueState configurable() {
        QueueState q = selected();
        return q == null || q.ready || closed ? null : q;
    }

    /** Replaces the low 32 bits of {@code value}. */
    public static long withLow(long value, int low) { return (value & 0xffff_ffff_0000_0000L) | (low & 0xffff_ffffL); }

    /** Replaces the high 32 bits of {@code value}. */
    public static long withHigh(long value, int high) { return (value & 0xffff_ffffL) | ((long) high << 32); }

    // ---- notifications ----

    /** The driver notified queue {@code index}; ignored unless the device runs and the queue is enabled. */
    public void notifyQueue(int index) {
        lifecycle.readLock().lock();
        try {
            Activation a;
            synchronized (this) {
                if (!running || index < 0 || index >= queueCount || queues[index].live == null) return;
                a = activation;
            }
            if (!callDevice("queueNotify", () -> device.queueNotify(index))) a.needsReset("device failed on a queue notification");
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    // ---- config space ----

    public synchronized int configGeneration() { return configGeneration; }

    /** Reads 1, 2 or 4 bytes of device config; out of bounds or another size reads 0. */
    public int readConfig(int offset, int size) {
        if (!configAccessOk(offset, size)) return 0;
        try {
            return device.readConfig(offset, size) & sizeMask(size);
        } catch (RuntimeException e) {
            log.log(System.Logger.Level.ERROR, "readConfig failed", () -> label + ": device failed reading its config", e);
            return 0;
        }
    }

    /** Writes 1, 2 or 4 bytes of device config; out of bounds or another size is ignored. */
    public void writeConfig(int offset, int size, int value) {
        if (!configAccessOk(offset, size)) return;
        synchronized (this) {
            if (closed || (status & FAILED) != 0) return;
        }
        callDevice("writeConfig", () -> device.writeConfig(offset, size, value & sizeMask(size)));
    }

    private boolean configAccessOk(int offset, int size) {
        return (size == 1 || size == 2 || size == 4) && offset >= 0 && offset <= configSize - size;
    }

    private static int sizeMask(int size) { return size == 4 ? -1 : (1 << (size * 8)) - 1; }

    // ---- interrupt status ----

    public synchronized int interruptStatus() { return interruptStatus; }

    /** virtio-mmio InterruptACK: clears the given bits. */
    public synchronized void acknowledgeInterrupt(int bits) { interruptStatus &= ~bits; }

    /** virtio-pci ISR: read-to-clear. */
    public synchronized int takeInterruptStatus() {
        int s = interruptStatus;
        interruptStatus = 0;
        return s;
    }

    // ---- views ----

    public List<QueueInfo> queueInfos() {
        List<QueueInfo> out = new ArrayList<>(queueCount);
        for (int i = 0; i < queueCount; i++) {
            int size, max;
            boolean ready;
            DeviceQueue live;
            synchronized (this) {
                QueueState q = queues[i];
                size = q.size;
                max = q.maxSize;
                ready = q.ready;
                live = q.live;
            }
            int avail = 0, last = 0, used = 0;
            if (live != null) {
                try {
                    avail = live.availIndex();
                    last = live.lastAvailIndex();
                    used = live.usedIndex();
                } catch (RuntimeException e) {
                    // a view must never fail; the indices stay 0
                }
            }
            out.add(new QueueInfo(i, max, size, ready, avail, last, used));
        }
        return out;
    }

    /** Whether the device has been activated and not stopped (NEEDS_RESET, FAILED, reset). */
    public synchronized boolean running() { return running; }

    @Override
    public String toString() { return label + " " + VirtioStatus.describe(status()); }

    /** Runs a device callback, containing its failures (device bugs must not reach the guest's register access). */
    private boolean callDevice(String what, Runnable call) {
        try {
            call.run();
            return true;
        } catch (RuntimeException | LinkageError | AssertionError e) {
            log.log(System.Logger.Level.ERROR, what + " failed", () -> label + ": device failed in " + what, e);
            return false;
        }
    }

    /** The context of one activation: inert once the device is reset, so a late worker thread cannot disturb the next. */
    private final class Activation implements VirtioDeviceContext {
        private final long features;

        Activation(long features) { this.features = features; }

        @Override public long negotiatedFeatures() { return features; }

        @Override public GuestMemory memory() { return memory; }

        @Override
        public DeviceQueue queue(int index) {
            synchronized (VirtioDeviceCore.this) {
                if (activation != this || index < 0 || index >= queueCount) return null;
                return queues[index].live;
            }
        }

        @Override
        public void signalUsed(int index) {
            DeviceQueue q;
            synchronized (VirtioDeviceCore.this) {
                if (activation != this || index < 0 || index >= queueCount) return;
                q = queues[index].live;
            }
            if (q == null) return;
            boolean wanted;
            try {
                wanted = q.needsInterrupt();
            } catch (RuntimeException e) {
                needsReset("queue " + index + ": " + e.getMessage());
                return;
            }
            if (!wanted) return;
            synchronized (VirtioDeviceCore.this) {
                if (activation != this) return;
                interruptStatus |= ISR_QUEUE;
            }
            sink.queueInterrupt(index);
        }

        @Override
        public void signalConfigChange() {
            synchronized (VirtioDeviceCore.this) {
                if (activation != this) return;
                configGeneration++;
                interruptStatus |= ISR_CONFIG;
            }
            sink.configInterrupt();
        }

        @Override
        public void needsReset(String reason) {
            synchronized (VirtioDeviceCore.this) {
                if (activation != this || (status & NEEDS_RESET) != 0) return;
                status |= NEEDS_RESET;
                running = false;
                interruptStatus |= ISR_CONFIG;
            }
            log.warn("needs reset", () -> label + ": device needs reset: " + reason);
            sink.configInterrupt();
        }
    }
}
