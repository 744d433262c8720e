package org.vireo.virtio.console;

import java.io.IOException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import org.vireo.memory.GuestMemoryException;
import org.vireo.virtio.VirtioIds;
import org.vireo.virtio.device.ActivationGuard;
import org.vireo.virtio.device.ActivationGuard.Activation;
import org.vireo.virtio.device.ConfigSpace;
import org.vireo.virtio.device.DescriptorChain;
import org.vireo.virtio.device.DeviceQueue;
import org.vireo.virtio.device.VirtioDevice;
import org.vireo.virtio.device.VirtioDeviceContext;
import org.vireo.virtio.device.VirtqueueException;

/**
 * virtio-console (virtio 1.x 5.3) with a single port: queue 0 receives host input, queue 1 transmits guest output.
 * No MULTIPORT, SIZE or EMERG_WRITE.
 * <p>
 * Output runs on the thread that notifies queue 1. Input is delivered wherever it becomes deliverable: on the
 * backend's thread when bytes arrive, or on the notifying thread when the driver posts receive buffers. Input waits
 * in a bounded buffer ({@link #MAX_PENDING_INPUT}, oldest bytes dropped beyond) until the guest has buffers; it
 * survives a device reset, like typed-ahead characters.
 */
public final class ConsoleDevice implements VirtioDevice, AutoCloseable {
    public static final int RX = 0;
    public static final int TX = 1;
    public static final int QUEUE_SIZE = 128;

    public static final int CFG_COLS = 0;
    public static final int CFG_ROWS = 2;
    public static final int CFG_MAX_NR_PORTS = 4;
    public static final int CONFIG_SIZE = 8;

    public static final int MAX_PENDING_INPUT = 1 << 20;
    /** Output is handed to the backend in pieces of this size, so a huge chain needs no huge array. */
    private static final int CHUNK = 16 * 1024;

    private static final System.Logger LOG = System.getLogger(ConsoleDevice.class.getName());

    private final ConsoleBackend backend;
    private final String name;
    private final ConfigSpace config = new ConfigSpace(CONFIG_SIZE);
    private final ReentrantLock rxLock = new ReentrantLock();
    private final ReentrantLock txLock = new ReentrantLock();
    private final ByteQueue pending = new ByteQueue(MAX_PENDING_INPUT);   // guarded by rxLock
    private final AtomicLong inputBytes = new AtomicLong();
    private final AtomicLong outputBytes = new AtomicLong();
    private final AtomicBoolean warnedHost = new AtomicBoolean();
    private final ActivationGuard activations;

    /** Starts {@code backend}; the device owns it from now on and closes it in {@link #close()}. */
    public ConsoleDevice(ConsoleBackend backend, String name) {
        this.backend = backend;
        this.name = name;
        this.activations = new ActivationGuard(LOG, "virtio-console " + name, rxLock, txLock);
        config.put16(CFG_COLS, 80);
        config.put16(CFG_ROWS, 25);
        config.put32(CFG_MAX_NR_PORTS, 1);
        backend.start(this::inputFromHost);
    }

    public ConsoleBackend backend() { return backend; }

    /** Bytes delivered to the guest, and written by it. */
    public long inputBytes() { return inputBytes.get(); }

    public long outputBytes() { return outputBytes.get(); }

    /** Host input dropped because the guest did not read it in time. */
    public long droppedInput() {
        rxLock.lock();
        try {
            return pending.dropped();
        } finally {
            rxLock.unlock();
        }
    }

    @Override public int deviceId() { return VirtioIds.CONSOLE; }

    @Override public long offeredFeatures() { return 0; }

    @Override public int queueCount() { return 2; }

    @Override public int queueMaxSize(int index) { return index == RX || index == TX ? QUEUE_SIZE : 0; }

    @Override public int configSize() { return CONFIG_SIZE; }

    @Override public int readConfig(int offset, int size) { return config.read(offset, size); }

    @Override public void writeConfig(int offset, int size, int value) { /* emerg_wr is not offered; the rest is read-only */ }

    @Override
    public void activate(VirtioDeviceContext context) {
        deliver(activations.activate(context));
    }

    @Override
    public void reset() {
        activations.reset();
    }

    @Override
    public String describe() {
        return backend.describe() + ", in " + inputBytes() + " bytes, out " + outputBytes() + " bytes";
    }

    @Override
    public void queueNotify(int index) {
        Activation act = activations.current();
        if (act == null || act.stopped()) return;
        if (index == RX) deliver(act);
        else if (index == TX) transmit(act);
    }

    /** Host input from the backend: buffer it and deliver what the guest has room for. */
    void inputFromHost(byte[] data) {
        if (data.length == 0) return;
        rxLock.lock();
        try {
            pending.add(data, 0, data.length);
            Activation act = activations.current();
            if (act != null) deliverLocked(act);
        } finally {
            rxLock.unlock();
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
        if (!activations.isCurrent(act) || act.stopped() || pending.isEmpty()) return;
        DeviceQueue queue = act.context().queue(RX);
        if (queue == null) return;
        boolean used = false;
        try {
            while (!pending.isEmpty() && activations.isCurrent(act)) {
                DescriptorChain chain = queue.pop();
                if (chain == null) {
                    queue.setNotification(true);
                    chain = queue.pop();
                    if (chain == null) break;
                }
                int n = (int) Math.min(Math.min(pending.size(), chain.writableLength()), CHUNK);
                byte[] data = new byte[n];
                pending.peek(data, 0, n);
                int written = 0;
                try {
                    written = chain.write(0, data, 0, n);
                } catch (GuestMemoryException e) {
                    LOG.log(System.Logger.Level.DEBUG, () -> "virtio-console " + name + ": " + e.getMessage());
                }
                pending.remove(written);
                inputBytes.addAndGet(written);
                queue.addUsed(chain.head(), written);
                used = true;
            }
        } catch (VirtqueueException | RuntimeException e) {
            activations.fail(act, "receive queue", "input", e);
        } finally {
            if (used && activations.isCurrent(act)) act.context().signalUsed(RX);
        }
    }

    private void transmit(Activation act) {
        txLock.lock();
        try {
            activations.serve(act, TX, "transmit queue", "output", chain -> {
                output(chain);
                return 0;
            });
        } finally {
            txLock.unlock();
        }
    }

    private void output(DescriptorChain chain) {
        long total = chain.readableLength();
        byte[] buf = new byte[(int) Math.min(CHUNK, total)];
        try {
            for (long done = 0; done < total; ) {
                int n = chain.read(done, buf, 0, (int) Math.min(buf.length, total - done));
                if (n <= 0) break;
                backend.write(buf, 0, n);
                outputBytes.addAndGet(n);
                done += n;
            }
        } catch (GuestMemoryException e) {
            LOG.log(System.Logger.Level.DEBUG, () -> "virtio-console " + name + ": " + e.getMessage());
        } catch (IOException e) {
            System.Logger.Level level = warnedHost.compareAndSet(false, true) ? System.Logger.Level.ERROR : System.Logger.Level.DEBUG;
            LOG.log(level, () -> "virtio-console " + name + ": output to " + backend.describe() + " failed: " + e.getMessage());
        }
    }

    /** Closes the backend; the device must be unplugged (reset) first. */
    @Override
    public void close() {
        backend.close();
    }
}
