package org.vireo.virtio.console;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import org.vireo.memory.GuestMemoryException;
import org.vireo.virtio.VirtioIds;
import org.vireo.virtio.device.ActivationGuard;
import org.vireo.virtio.device.ActivationGuard.Activation;
import org.vireo.virtio.device.ConfigSpace;
import org.vireo.virtio.device.DescriptorChain;
import org.vireo.virtio.device.DeviceQueue;
import org.vireo.virtio.device.RateLimitedLog;
import org.vireo.virtio.device.VirtioDevice;
import org.vireo.virtio.device.VirtioDeviceContext;
import org.vireo.virtio.device.VirtqueueException;

/**
 * virtio-console (virtio 1.x 5.3) with a single port: queue 0 receives host input, queue 1 transmits guest output.
 * No MULTIPORT, SIZE or EMERG_WRITE.
 * <p>
 * Output is copied from the transmit queue, on the thread that notifies queue 1, into a bounded buffer
 * ({@link #OUTPUT_BUFFER}) that a writer thread hands to the backend; a chain goes back to the driver once the
 * backend has taken all of its bytes. No queue lock is held while the backend writes, so a backend that blocks
 * (stdout that nobody reads) holds up the guest's output, never a reset or an unplug. When the buffer is full, the
 * chain being copied waits, and the writer resumes copying as it makes room.
 * <p>
 * Input is delivered wherever it becomes deliverable: on the backend's thread when bytes arrive, or on the
 * notifying thread when the driver posts receive buffers. Input waits in a bounded buffer
 * ({@link #MAX_PENDING_INPUT}, oldest bytes dropped beyond) until the guest has buffers; it survives a device reset,
 * like typed-ahead characters.
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
    /** Guest output accepted but not yet written by the backend, at most. */
    public static final int OUTPUT_BUFFER = 64 * 1024;
    /** Output is handed to the backend in pieces of this size, so a huge chain needs no huge array. */
    private static final int CHUNK = 16 * 1024;
    /** How long {@link #close()} lets the writer finish what the guest wrote before it closes the backend. */
    private static final long CLOSE_DRAIN_SECONDS = 5;

    private static final System.Logger LOG = System.getLogger(ConsoleDevice.class.getName());

    private final ConsoleBackend backend;
    private final String name;
    private final ConfigSpace config = new ConfigSpace(CONFIG_SIZE);
    private final ReentrantLock rxLock = new ReentrantLock();
    private final ReentrantLock txLock = new ReentrantLock();
    private final ByteQueue pending = new ByteQueue(MAX_PENDING_INPUT);   // guarded by rxLock
    private final AtomicLong inputBytes = new AtomicLong();
    private final AtomicLong outputBytes = new AtomicLong();
    private final RateLimitedLog log = new RateLimitedLog(LOG);
    private final ActivationGuard activations;

    /** A transmit chain whose bytes are all in the output buffer, to be used once the backend has written them. */
    private record Sent(Activation act, int head, long end) {}

    // Guarded by txLock: the chain being copied when the buffer filled, and chains waiting for the backend.
    private DescriptorChain heldTx;
    private Activation heldTxAct;
    private long heldTxDone;
    private final ArrayDeque<Sent> sent = new ArrayDeque<>();

    // Guarded by output: guest output on its way to the backend.
    private final ByteQueue output = new ByteQueue(OUTPUT_BUFFER);
    private long outputQueued;      // bytes ever put into the buffer
    private long outputWritten;     // bytes ever taken out by the writer and written (or failed)
    private Thread writer;
    private boolean closing;

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
        txLock.lock();
        try {
            heldTx = null;
            heldTxAct = null;
            sent.clear();      // bytes already buffered are still written: the guest did send them
        } finally {
            txLock.unlock();
        }
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

    /**
     * Copies what the transmit queue holds into the output buffer, as far as it has room, and uses the chains the
     * backend has finished. Runs on a notifying thread, or on the writer when it made room; never blocks on the
     * backend.
     */
    private void transmit(Activation act) {
        txLock.lock();
        try {
            if (!activations.isCurrent(act) || act.stopped()) return;
            DeviceQueue queue = act.context().queue(TX);
            if (queue == null) return;
            boolean used = false;
            try {
                used = completeSent(act, queue);
                while (activations.isCurrent(act)) {
                    DescriptorChain chain;
                    long done;
                    if (heldTx != null) {
                        if (heldTxAct != act) break;
                        chain = heldTx;
                        done = heldTxDone;
                        heldTx = null;
                    } else {
                        queue.setNotification(false);
                        chain = queue.pop();
                        if (chain == null) {
                            // Re-enable kicks, then look once more: the driver may have added a chain meanwhile.
                            queue.setNotification(true);
                            chain = queue.pop();
                            if (chain == null) break;
                        }
                        done = 0;
                    }
                    done = copyOut(chain, done);
                    if (done < chain.readableLength()) {
                        heldTx = chain;            // the buffer is full: the writer resumes this chain
                        heldTxAct = act;
                        heldTxDone = done;
                        break;
                    }
                    long end;
                    synchronized (output) {
                        end = outputQueued;
                    }
                    sent.addLast(new Sent(act, chain.head(), end));
                    used |= completeSent(act, queue);
                }
            } catch (VirtqueueException | RuntimeException e) {
                activations.fail(act, "transmit queue", "output", e);
            } finally {
                if (used && activations.isCurrent(act)) act.context().signalUsed(TX);
            }
        } finally {
            txLock.unlock();
        }
    }

    /** Uses, in order, the sent chains whose bytes the backend has written; true if any. Holds txLock. */
    private boolean completeSent(Activation act, DeviceQueue queue) {
        long written;
        synchronized (output) {
            written = outputWritten;
        }
        boolean used = false;
        Sent first;
        while ((first = sent.peekFirst()) != null && first.end() <= written) {
            sent.pollFirst();
            if (first.act() != act) continue;   // from an activation that is gone
            queue.addUsed(first.head(), 0);
            used = true;
        }
        return used;
    }

    /**
     * Copies the readable bytes of {@code chain} from offset {@code done} into the output buffer while it has room;
     * returns the offset reached (the chain's whole length once done, also when its memory cannot be read).
     */
    private long copyOut(DescriptorChain chain, long done) {
        long total = chain.readableLength();
        byte[] buf = null;
        try {
            while (done < total) {
                int room;
                synchronized (output) {
                    room = OUTPUT_BUFFER - output.size();
                }
                if (room == 0) return done;
                int want = (int) Math.min(Math.min(room, CHUNK), total - done);
                if (buf == null || buf.length < want) buf = new byte[want];
                int n = chain.read(done, buf, 0, want);
                if (n <= 0) return total;
                synchronized (output) {
                    output.add(buf, 0, n);
                    outputQueued += n;
                    startWriter();
                    output.notifyAll();
                }
                outputBytes.addAndGet(n);
                done += n;
            }
        } catch (GuestMemoryException e) {
            LOG.log(System.Logger.Level.DEBUG, () -> "virtio-console " + name + ": " + e.getMessage());
            return total;
        }
        return done;
    }

    /** Holds output's monitor. */
    private void startWriter() {
        if (writer == null && !closing) {
            writer = Thread.ofPlatform().daemon().name("vireo-console-out-" + name).start(this::writeLoop);
        }
    }

    /** The writer thread: hands buffered output to the backend, then uses finished chains and resumes a held one. */
    private void writeLoop() {
        byte[] buf = new byte[CHUNK];
        while (true) {
            int n;
            synchronized (output) {
                while (output.isEmpty() && !closing) {
                    try {
                        output.wait();
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                if (output.isEmpty()) return;   // closing, and everything is written
                n = output.peek(buf, 0, buf.length);
            }
            try {
                backend.write(buf, 0, n);
            } catch (IOException e) {
                log.log(System.Logger.Level.ERROR, "output failed", () -> "virtio-console " + name + ": output to " + backend.describe() + " failed: " + e.getMessage());
            } catch (RuntimeException e) {
                log.log(System.Logger.Level.ERROR, "output failed", () -> "virtio-console " + name + ": output to " + backend.describe() + " failed", e);
            }
            synchronized (output) {
                output.remove(n);
                outputWritten += n;
            }
            Activation act = activations.current();
            if (act != null) transmit(act);
        }
    }

    /**
     * Lets the writer finish the buffered output (for a few seconds at most: a backend may never take it), then
     * closes the backend; the device must be unplugged (reset) first.
     */
    @Override
    public void close() {
        Thread w;
        synchronized (output) {
            closing = true;
            w = writer;
            output.notifyAll();
        }
        if (w != null) {
            try {
                w.join(TimeUnit.SECONDS.toMillis(CLOSE_DRAIN_SECONDS));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        backend.close();
    }
}
