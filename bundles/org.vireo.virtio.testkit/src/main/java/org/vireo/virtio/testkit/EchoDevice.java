package org.vireo.virtio.testkit;

import java.util.concurrent.atomic.AtomicInteger;
import org.vireo.virtio.device.ConfigSpace;
import org.vireo.virtio.device.DescriptorChain;
import org.vireo.virtio.device.DeviceQueue;
import org.vireo.virtio.device.VirtioDevice;
import org.vireo.virtio.device.VirtioDeviceContext;
import org.vireo.virtio.device.VirtqueueException;

/**
 * A test device with one queue that copies each chain's readable bytes into its writable part, synchronously on
 * notify. Config space: a read-only 32-bit value at 0 and a writable 32-bit value at 4. Queue 0 takes 64 entries,
 * queue 1 16. For transport tests.
 */
public final class EchoDevice implements VirtioDevice {
    public static final int ID = 0x2a;
    public static final long OWN_FEATURE = 1L << 5;
    public static final int CONFIG_VALUE = 0xcafe_f00d;

    public final ConfigSpace config = new ConfigSpace(8);
    public final AtomicInteger resets = new AtomicInteger();
    public final AtomicInteger notifies = new AtomicInteger();
    /** The context of the current activation, null after reset. */
    public volatile VirtioDeviceContext context;

    public EchoDevice() { config.put32(0, CONFIG_VALUE); }

    @Override public int deviceId() { return ID; }
    @Override public long offeredFeatures() { return OWN_FEATURE; }
    @Override public int queueCount() { return 2; }
    @Override public int queueMaxSize(int index) { return index == 0 ? 64 : 16; }
    @Override public int configSize() { return config.size(); }
    @Override public int readConfig(int offset, int size) { return config.read(offset, size); }

    @Override
    public void writeConfig(int offset, int size, int value) {
        if (offset >= 4) config.write(offset, size, value);
    }

    @Override public void activate(VirtioDeviceContext ctx) { this.context = ctx; }

    @Override
    public void queueNotify(int index) {
        notifies.incrementAndGet();
        VirtioDeviceContext ctx = context;
        DeviceQueue q = ctx == null ? null : ctx.queue(index);
        if (q == null) return;
        try {
            boolean used = false;
            for (DescriptorChain chain = q.pop(); chain != null; chain = q.pop()) {
                byte[] data = new byte[(int) Math.min(chain.readableLength(), chain.writableLength())];
                int n = chain.read(0, data, 0, data.length);
                int written = chain.write(0, data, 0, n);
                q.addUsed(chain.head(), written);
                used = true;
            }
            if (used) ctx.signalUsed(index);
        } catch (VirtqueueException e) {
            ctx.needsReset(e.getMessage());
        }
    }

    @Override
    public void reset() {
        context = null;
        resets.incrementAndGet();
    }

    @Override public String describe() { return "echo"; }
}
