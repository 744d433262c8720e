package org.vireo.virtio.testkit;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.vireo.memory.GuestAllocator;
import org.vireo.memory.GuestMemory;
import org.vireo.memory.GuestRange;
import org.vireo.virtio.VirtioFeatures;
import org.vireo.virtio.device.DeviceQueue;
import org.vireo.virtio.device.VirtioDevice;
import org.vireo.virtio.device.VirtioDeviceContext;
import org.vireo.virtio.driver.UsedBuffer;
import org.vireo.virtio.ring.PackedQueueDriver;
import org.vireo.virtio.ring.QueueDriver;
import org.vireo.virtio.ring.RingLayout;
import org.vireo.virtio.ring.Rings;

/**
 * A mock guest driver for device unit tests: guest memory, feature negotiation, one ring per queue (driver and
 * device side; split by default, packed with {@link Builder#ring}), and a {@link VirtioDeviceContext} that records what the device reports. It behaves like a transport
 * plus a polling driver, without any bus or register interface:
 * <pre>{@code
 * try (DeviceHarness h = DeviceHarness.activated(new MyDevice())) {
 *     DeviceHarness.Token t = h.submit(0, request, 513);
 *     h.kick(0);
 *     DeviceHarness.Completion c = h.awaitUsed(0, 5, TimeUnit.SECONDS);
 * }
 * }</pre>
 * Kicks call {@link VirtioDevice#queueNotify} on the caller's thread (like a vCPU's notify write) unless the device
 * suppressed the notification; once the device is reset, notifications go nowhere, as with a real transport.
 * Thread-safe: devices may call the context from their own threads.
 */
public final class DeviceHarness implements AutoCloseable {
    public static final long DEFAULT_MEMORY = 16L << 20;
    public static final int DEFAULT_QUEUE_SIZE = 256;
    /** Device-specific feature bits (0-23 and 50-63): what a test wants by default. */
    public static final long DEVICE_SPECIFIC_FEATURES = 0x00ff_ffffL | (-1L << 50);

    private static final long BASE = 0x1000;

    private final VirtioDevice device;
    private final Arena arena;
    private final GuestMemory memory;
    private final GuestAllocator allocator;
    private final long features;
    private final int queueSizeWanted;
    private final AtomicLong tokenIds = new AtomicLong();

    // Guarded by this.
    private QueueDriver[] drivers = new QueueDriver[0];
    private DeviceQueue[] deviceQueues = new DeviceQueue[0];
    private Context context;
    private boolean active;
    private boolean closed;
    private long events;                      // bumped by every record; awaiters wait for a change
    private int[] signals;
    private int[] interrupts;
    private int[] notifies;
    private int configChanges;
    private int activations;
    private int staleCalls;
    private final List<String> resetReasons = new ArrayList<>();
    private final List<String> protocolErrors = new ArrayList<>();

    private DeviceHarness(Builder b) {
        this.device = b.device;
        this.arena = Arena.ofShared();
        this.memory = GuestMemory.allocate(arena, b.memoryBytes);
        this.allocator = new GuestAllocator(BASE, b.memoryBytes - BASE);
        this.features = (device.offeredFeatures() & b.wantedFeatures & DEVICE_SPECIFIC_FEATURES)
                | VirtioFeatures.bit(VirtioFeatures.VERSION_1)
                | (b.eventIdx ? VirtioFeatures.bit(VirtioFeatures.RING_EVENT_IDX) : 0)
                | (b.indirect ? VirtioFeatures.bit(VirtioFeatures.RING_INDIRECT_DESC) : 0)
                | (b.ring == RingLayout.PACKED ? VirtioFeatures.bit(VirtioFeatures.RING_PACKED) : 0);
        this.queueSizeWanted = b.queueSize;
        int n = Math.max(0, device.queueCount());
        this.signals = new int[n];
        this.interrupts = new int[n];
        this.notifies = new int[n];
    }

    public static Builder builder(VirtioDevice device) { return new Builder(device); }

    /** A harness with the defaults (16 MiB, EVENT_IDX and INDIRECT, every device-specific feature), already activated. */
    public static DeviceHarness activated(VirtioDevice device) {
        DeviceHarness h = builder(device).build();
        try {
            h.activate();
        } catch (RuntimeException | Error e) {
            h.close();
            throw e;
        }
        return h;
    }

    /** Options; {@link #build()} negotiates features but does not activate. */
    public static final class Builder {
        private final VirtioDevice device;
        private long memoryBytes = DEFAULT_MEMORY;
        private long wantedFeatures = DEVICE_SPECIFIC_FEATURES;
        private boolean eventIdx = true;
        private boolean indirect = true;
        private int queueSize = DEFAULT_QUEUE_SIZE;
        private RingLayout ring = RingLayout.SPLIT;

        private Builder(VirtioDevice device) { this.device = Objects.requireNonNull(device); }

        public Builder memoryBytes(long bytes) {
            if (bytes < 1 << 20) throw new IllegalArgumentException("at least 1 MiB of guest memory");
            this.memoryBytes = bytes;
            return this;
        }

        /** Device-specific features the mock driver accepts if offered (generic ring bits are set by the flags below). */
        public Builder wantedFeatures(long features) { this.wantedFeatures = features; return this; }

        public Builder eventIdx(boolean on) { this.eventIdx = on; return this; }

        public Builder indirect(boolean on) { this.indirect = on; return this; }

        /** The ring layout of every queue (RING_PACKED negotiated with {@link RingLayout#PACKED}); split by default. */
        public Builder ring(RingLayout layout) { this.ring = Objects.requireNonNull(layout); return this; }

        /** Queue size wanted for every queue; capped by the device's maximum, rounded down to a power of two. */
        public Builder queueSize(int size) {
            if (size < 1 || size > 32768) throw new IllegalArgumentException("queue size " + size);
            this.queueSize = size;
            return this;
        }

        public DeviceHarness build() { return new DeviceHarness(this); }
    }

    // ---- lifecycle ----

    /** Sets up every queue (fresh rings) and calls {@link VirtioDevice#activate}, as a transport does at DRIVER_OK. */
    public void activate() {
        Context ctx;
        synchronized (this) {
            if (closed) throw new IllegalStateException("harness closed");
            if (active) throw new IllegalStateException("already active");
            releaseQueues();
            int n = device.queueCount();
            drivers = new QueueDriver[n];
            deviceQueues = new DeviceQueue[n];
            for (int i = 0; i < n; i++) {
                int max = device.queueMaxSize(i);
                if (max <= 0) continue;
                int size = Integer.highestOneBit(Math.min(max, queueSizeWanted));
                int index = i;
                QueueDriver d = Rings.driver(memory, allocator, i, size, features, () -> deliverNotify(index));
                drivers[i] = d;
                deviceQueues[i] = Rings.device(memory, i, size, d.descAddress(), d.driverAreaAddress(), d.deviceAreaAddress(), features);
            }
            ctx = new Context(deviceQueues.clone());
            context = ctx;
            active = true;
            activations++;
            bump();
        }
        device.activate(ctx);
    }

    /**
     * Resets the device ({@link VirtioDevice#reset()}); later notifications are dropped and context calls made after
     * reset returned are counted as stale. The driver-side rings stay in place (so a test can still submit to them) until the next activate.
     */
    public void reset() {
        Context ctx;
        synchronized (this) {
            active = false;             // notifies are dropped from now on
            ctx = context;
        }
        device.reset();
        synchronized (this) {
            if (ctx != null) ctx.stale = true;      // work finishing inside reset() may still report; later calls are stale
            bump();
        }
    }

    /** Resets the device if active, then frees guest memory. The device must not touch it afterwards. */
    @Override
    public void close() {
        boolean wasActive;
        synchronized (this) {
            if (closed) return;
            wasActive = active;
        }
        if (wasActive) reset();
        synchronized (this) {
            closed = true;
            releaseQueues();
            notifyAll();
        }
        arena.close();
    }

    private void releaseQueues() {
        for (QueueDriver d : drivers) if (d != null) d.release();
        drivers = new QueueDriver[0];
        deviceQueues = new DeviceQueue[0];
    }

    // ---- the driver's side ----

    /** A submitted buffer: its queue and guest ranges. Identity is the driver's token. */
    public static final class Token {
        private final long id;
        private final int queue;
        private final List<GuestRange> out;
        private final List<GuestRange> in;
        private volatile boolean completed;

        private Token(long id, int queue, List<GuestRange> out, List<GuestRange> in) {
            this.id = id;
            this.queue = queue;
            this.out = List.copyOf(out);
            this.in = List.copyOf(in);
        }

        public int queue() { return queue; }

        public List<GuestRange> out() { return out; }

        public List<GuestRange> in() { return in; }

        public long inLength() { return in.stream().mapToLong(GuestRange::length).sum(); }

        public boolean completed() { return completed; }

        @Override
        public String toString() { return "token#" + id + "(q" + queue + " out=" + out + " in=" + in + ")"; }
    }

    /** A used buffer: what the device reported, and a copy of the whole writable part at completion time. */
    public record Completion(Token token, int length, byte[] in) {
        /** The first {@code length} bytes of the writable part (the bytes the device says it wrote). */
        public byte[] written() { return Arrays.copyOf(in, Math.max(0, Math.min(length, in.length))); }

        public UsedBuffer usedBuffer() { return new UsedBuffer(token, length); }
    }

    /**
     * Places the {@code out} byte arrays (device-readable, one descriptor each) and writable buffers of
     * {@code inLengths} bytes (zeroed, one descriptor each) in guest memory and adds them as one chain. Not kicked.
     *
     * @throws IllegalStateException when the ring has no room
     */
    public Token submit(int queue, List<byte[]> out, int... inLengths) {
        QueueDriver d = driver(queue);
        List<GuestRange> outs = new ArrayList<>(out.size());
        List<GuestRange> ins = new ArrayList<>(inLengths.length);
        for (byte[] b : out) {
            GuestRange r = place(b.length);
            memory.write(r.address(), b, 0, b.length);
            outs.add(r);
        }
        for (int len : inLengths) {
            if (len < 0) throw new IllegalArgumentException("negative in length");
            GuestRange r = place(len);
            if (len > 0) memory.fill(r.address(), len, (byte) 0);
            ins.add(r);
        }
        Token t = new Token(tokenIds.incrementAndGet(), queue, outs, ins);
        if (!d.addBuf(outs, ins, t)) {
            free(t);
            throw new IllegalStateException("queue " + queue + " is full");
        }
        return t;
    }

    /** {@link #submit(int, List, int...)} with one readable buffer ({@code null}: none). */
    public Token submit(int queue, byte[] out, int... inLengths) {
        return submit(queue, out == null ? List.of() : List.of(out), inLengths);
    }

    /** A chain of writable buffers only (receive queues, entropy requests). */
    public Token submitIn(int queue, int... inLengths) {
        return submit(queue, List.of(), inLengths);
    }

    /** Publishes what was submitted and notifies the device unless it suppressed notifications. */
    public void kick(int queue) {
        driver(queue).kick();
    }

    /** Notifies the device about {@code queue} whatever its suppression state (a driver may always notify). */
    public void notifyDevice(int queue) {
        deliverNotify(queue);
    }

    private void deliverNotify(int queue) {
        synchronized (this) {
            if (!active) return;        // a transport ignores notify writes while the device is not live
            notifies[queue]++;
        }
        device.queueNotify(queue);
    }

    /** The next used buffer of {@code queue} without waiting, or null. */
    public Completion pollUsed(int queue) {
        QueueDriver d = driver(queue);
        UsedBuffer u = d.getBuf();
        if (u == null) {
            if (d.broken()) throw new AssertionError("queue " + queue + ": the device returned an impossible used element");
            return null;
        }
        return complete(u);
    }

    /**
     * Waits up to {@code timeout} for the next used buffer of {@code queue}, woken by the device's
     * {@link VirtioDeviceContext#signalUsed} calls. Returns null on timeout.
     *
     * @throws AssertionError if the device returned an impossible used element (bad id or length)
     */
    public Completion awaitUsed(int queue, long timeout, TimeUnit unit) throws InterruptedException {
        long deadline = System.nanoTime() + unit.toNanos(timeout);
        while (true) {
            long seen;
            synchronized (this) { seen = events; }
            Completion c = pollUsed(queue);
            if (c != null) return c;
            synchronized (this) {
                while (events == seen) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0 || closed) return null;
                    TimeUnit.NANOSECONDS.timedWait(this, left);
                }
            }
        }
    }

    /** Submits, kicks and waits: one request/response round trip. */
    public Completion roundTrip(int queue, List<byte[]> out, int[] inLengths, long timeout, TimeUnit unit) throws InterruptedException {
        Token t = submit(queue, out, inLengths);
        kick(queue);
        Completion c = awaitUsed(queue, timeout, unit);
        if (c != null && c.token() != t) throw new AssertionError("expected " + t + " back, got " + c.token());
        return c;
    }

    /** The current contents of a token's writable buffers, concatenated (only before it completes). */
    public byte[] readIn(Token token) {
        if (token.completed) throw new IllegalStateException(token + " already completed: use Completion.in()");
        byte[] all = new byte[(int) token.inLength()];
        int at = 0;
        for (GuestRange r : token.in) {
            memory.read(r.address(), all, at, (int) r.length());
            at += (int) r.length();
        }
        return all;
    }

    private Completion complete(UsedBuffer u) {
        Token t = (Token) u.token();
        byte[] in = readIn(t);
        t.completed = true;
        free(t);
        return new Completion(t, u.length(), in);
    }

    private GuestRange place(int length) {
        long a = allocator.allocate(Math.max(1, length), 8);
        return new GuestRange(a, length);
    }

    private void free(Token t) {
        for (GuestRange r : t.out) allocator.free(r.address());
        for (GuestRange r : t.in) allocator.free(r.address());
    }

    // ---- raw access, for malformed-ring tests ----

    /** Writes descriptor {@code i} of {@code queue}'s table directly, bypassing the driver (split rings only). */
    public void writeRawDescriptor(int queue, int i, long addr, long len, int flags, int next) {
        QueueDriver d = splitDriver(queue);
        if (i < 0 || i >= d.size()) throw new IllegalArgumentException("descriptor " + i);
        long at = d.descAddress() + 16L * i;
        memory.writeLong(at, addr);
        memory.writeInt(at + 8, (int) len);
        memory.writeShort(at + 12, (short) flags);
        memory.writeShort(at + 14, (short) next);
    }

    /** Puts {@code head} (any value, e.g. out of range) in the next avail slot and publishes it, bypassing the driver (split rings only). */
    public void publishRawHead(int queue, int head) {
        QueueDriver d = splitDriver(queue);
        int idx = memory.readShort(d.driverAreaAddress() + 2) & 0xffff;
        memory.writeShort(d.driverAreaAddress() + 4 + 2L * (idx & (d.size() - 1)), (short) head);
        memory.writeShort(d.driverAreaAddress() + 2, (short) (idx + 1));
    }

    private QueueDriver splitDriver(int queue) {
        QueueDriver d = driver(queue);
        if (d instanceof PackedQueueDriver) throw new UnsupportedOperationException("queue " + queue + " has a packed ring");
        return d;
    }

    /**
     * Writes a malformed ring entry into {@code queue} and notifies the device: a head index equal to the queue size
     * (split), or a descriptor made available with a buffer id equal to the queue size (packed).
     */
    public void corruptAndNotify(int queue) {
        QueueDriver d = driver(queue);
        if (d instanceof PackedQueueDriver p) {
            int offWrap = p.nextAvailOffWrap();
            long at = p.descAddress() + 16L * (offWrap & 0x7fff);
            memory.writeLong(at, p.descAddress());
            memory.writeInt(at + 8, 16);
            memory.writeShort(at + 12, (short) p.size());
            memory.writeShort(at + 14, (short) ((offWrap & 0x8000) != 0 ? 1 << 7 : 1 << 15));   // AVAIL for its lap
        } else {
            publishRawHead(queue, d.size());
        }
        notifyDevice(queue);
    }

    // ---- what the device reported ----

    public synchronized boolean active() { return active; }

    public VirtioDevice device() { return device; }

    public GuestMemory memory() { return memory; }

    public GuestAllocator allocator() { return allocator; }

    /** The features negotiated: offered and wanted device bits, VERSION_1, and EVENT_IDX/INDIRECT as built. */
    public long features() { return features; }

    public synchronized QueueDriver driver(int queue) {
        if (queue < 0 || queue >= drivers.length || drivers[queue] == null) {
            throw new IllegalArgumentException("queue " + queue + " is not set up (activate first?)");
        }
        return drivers[queue];
    }

    public synchronized DeviceQueue deviceQueue(int queue) {
        if (queue < 0 || queue >= deviceQueues.length || deviceQueues[queue] == null) {
            throw new IllegalArgumentException("queue " + queue + " is not set up (activate first?)");
        }
        return deviceQueues[queue];
    }

    /**
     * The used idx the device has published for {@code queue}, read from guest memory (split), or the buffers it has
     * used so far, mod 2^16 (packed, which has no used idx).
     */
    public int usedIndex(int queue) {
        QueueDriver d = driver(queue);
        if (d instanceof PackedQueueDriver) return deviceQueue(queue).usedIndex();
        return memory.readShort(d.deviceAreaAddress() + 2) & 0xffff;
    }

    /** {@link VirtioDeviceContext#signalUsed} calls for {@code queue} on the live context. */
    public synchronized int signals(int queue) { return signals[queue]; }

    /** Signals the driver actually wanted (the queue's needsInterrupt() said yes). */
    public synchronized int interrupts(int queue) { return interrupts[queue]; }

    /** Notifications delivered to {@link VirtioDevice#queueNotify} for {@code queue}. */
    public synchronized int notifications(int queue) { return notifies[queue]; }

    public synchronized int configChanges() { return configChanges; }

    public synchronized int activations() { return activations; }

    /** Context calls made after the device was reset (through a context it should have forgotten). */
    public synchronized int staleCalls() { return staleCalls; }

    public synchronized List<String> needsResetReasons() { return List.copyOf(resetReasons); }

    /** Misuse of the context by the device (bad queue index...). */
    public synchronized List<String> protocolErrors() { return List.copyOf(protocolErrors); }

    /** Waits until the device has called {@link VirtioDeviceContext#needsReset}; true if it did. */
    public synchronized boolean awaitNeedsReset(long timeout, TimeUnit unit) throws InterruptedException {
        long deadline = System.nanoTime() + unit.toNanos(timeout);
        while (resetReasons.isEmpty()) {
            long left = deadline - System.nanoTime();
            if (left <= 0 || closed) return false;
            TimeUnit.NANOSECONDS.timedWait(this, left);
        }
        return true;
    }

    /** Waits until the device has signalled config changes {@code count} times in all. */
    public synchronized boolean awaitConfigChanges(int count, long timeout, TimeUnit unit) throws InterruptedException {
        long deadline = System.nanoTime() + unit.toNanos(timeout);
        while (configChanges < count) {
            long left = deadline - System.nanoTime();
            if (left <= 0 || closed) return false;
            TimeUnit.NANOSECONDS.timedWait(this, left);
        }
        return true;
    }

    private void bump() {
        events++;
        notifyAll();
    }

    /** One activation's context; calls after reset are counted as stale and otherwise ignored. */
    private final class Context implements VirtioDeviceContext {
        private final DeviceQueue[] queues;
        private volatile boolean stale;

        Context(DeviceQueue[] queues) { this.queues = queues; }

        @Override public long negotiatedFeatures() { return features; }

        @Override public GuestMemory memory() { return memory; }

        @Override
        public DeviceQueue queue(int index) {
            return index >= 0 && index < queues.length ? queues[index] : null;
        }

        @Override
        public void signalUsed(int index) {
            synchronized (DeviceHarness.this) {
                if (stale) {
                    staleCalls++;
                } else if (index < 0 || index >= queues.length || queues[index] == null) {
                    protocolErrors.add("signalUsed(" + index + ") for a queue that does not exist");
                } else {
                    signals[index]++;
                    if (queues[index].needsInterrupt()) interrupts[index]++;
                }
                bump();
            }
        }

        @Override
        public void signalConfigChange() {
            synchronized (DeviceHarness.this) {
                if (stale) staleCalls++;
                else configChanges++;
                bump();
            }
        }

        @Override
        public void needsReset(String reason) {
            synchronized (DeviceHarness.this) {
                if (stale) staleCalls++;
                resetReasons.add(String.valueOf(reason));
                bump();
            }
        }
    }

    @Override
    public synchronized String toString() {
        return "DeviceHarness[" + device + (active ? " active" : "") + " features=0x" + Long.toHexString(features)
                + " resets=" + resetReasons + "]";
    }
}
