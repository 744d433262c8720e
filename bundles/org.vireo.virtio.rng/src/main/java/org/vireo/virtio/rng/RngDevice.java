package org.vireo.virtio.rng;

import java.io.IOException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import org.vireo.memory.GuestMemoryException;
import org.vireo.virtio.VirtioIds;
import org.vireo.virtio.device.ActivationGuard;
import org.vireo.virtio.device.DescriptorChain;
import org.vireo.virtio.device.RateLimitedLog;
import org.vireo.virtio.device.VirtioDevice;
import org.vireo.virtio.device.VirtioDeviceContext;

/**
 * virtio-rng (virtio 1.x 5.4): one request queue; each writable chain is filled from an {@link EntropySource} on the
 * notifying thread, up to {@link #MAX_PER_REQUEST} bytes; the used length is the bytes written.
 */
public final class RngDevice implements VirtioDevice, AutoCloseable {
    public static final int QUEUE_SIZE = 64;
    /** The spec lets the device write less than offered; this bounds the work per request. */
    public static final int MAX_PER_REQUEST = 64 * 1024;

    private static final System.Logger LOG = System.getLogger(RngDevice.class.getName());

    private final EntropySource source;
    private final String name;
    private final ReentrantLock lock = new ReentrantLock();
    private final AtomicLong bytes = new AtomicLong();
    private final RateLimitedLog log = new RateLimitedLog(LOG);
    private final ActivationGuard activations;

    public RngDevice(EntropySource source, String name) {
        this.source = source;
        this.name = name;
        this.activations = new ActivationGuard(LOG, "virtio-rng " + name, lock);
    }

    public EntropySource source() { return source; }

    /** Bytes handed to the guest. */
    public long bytes() { return bytes.get(); }

    @Override public int deviceId() { return VirtioIds.RNG; }

    @Override public long offeredFeatures() { return 0; }

    @Override public int queueCount() { return 1; }

    @Override public int queueMaxSize(int index) { return index == 0 ? QUEUE_SIZE : 0; }

    @Override public int configSize() { return 0; }

    @Override public int readConfig(int offset, int size) { return 0; }

    @Override public void writeConfig(int offset, int size, int value) {}

    @Override
    public void activate(VirtioDeviceContext context) {
        activations.activate(context);
    }

    @Override
    public void reset() {
        activations.reset();
    }

    @Override
    public String describe() { return source.describe() + ", " + bytes() + " bytes served"; }

    @Override
    public void queueNotify(int index) {
        if (index != 0) return;
        lock.lock();
        try {
            activations.serve(activations.current(), 0, "request queue", "", this::fill);
        } finally {
            lock.unlock();
        }
    }

    private int fill(DescriptorChain chain) {
        int want = (int) Math.min(chain.writableLength(), MAX_PER_REQUEST);
        if (want == 0) return 0;
        byte[] buf = new byte[want];
        try {
            int got = source.read(buf, 0, want);
            if (got <= 0) {
                warn("entropy source " + source.describe() + " returned no data");
                return 0;
            }
            int written = chain.write(0, buf, 0, got);
            bytes.addAndGet(written);
            return written;
        } catch (IOException e) {
            warn("reading " + source.describe() + " failed: " + e.getMessage());
            return 0;
        } catch (GuestMemoryException e) {
            LOG.log(System.Logger.Level.DEBUG, () -> "virtio-rng " + name + ": " + e.getMessage());
            return 0;
        }
    }

    private void warn(String message) {
        log.warn("source failed", () -> "virtio-rng " + name + ": " + message);
    }

    /** Closes the source; the device must be unplugged (reset) first. */
    @Override
    public void close() { source.close(); }
}
