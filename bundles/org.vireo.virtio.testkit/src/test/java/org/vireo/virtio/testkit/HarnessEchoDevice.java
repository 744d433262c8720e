package org.vireo.virtio.testkit;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.vireo.virtio.device.ConfigSpace;
import org.vireo.virtio.device.DescriptorChain;
import org.vireo.virtio.device.DeviceQueue;
import org.vireo.virtio.device.VirtioDevice;
import org.vireo.virtio.device.VirtioDeviceContext;
import org.vireo.virtio.device.VirtqueueException;

/**
 * The harness's own well-behaved test device (not the transports' {@link EchoDevice}): copies each chain's readable
 * bytes into its writable part, inline or on a worker.
 */
class HarnessEchoDevice implements VirtioDevice {
    static final long FEATURE_A = 1L << 0;
    static final long FEATURE_B = 1L << 1;

    private final boolean async;
    private final ConfigSpace config = new ConfigSpace(12);
    private volatile VirtioDeviceContext context;
    private ExecutorService worker;

    HarnessEchoDevice(boolean async) {
        this.async = async;
        config.put64(0, 0x1122334455667788L);
        config.put32(8, 7);
    }

    @Override public int deviceId() { return 0x7e; }

    @Override public long offeredFeatures() { return FEATURE_A; }

    @Override public int queueCount() { return 2; }

    @Override public int queueMaxSize(int index) { return 64; }

    @Override public int configSize() { return config.size(); }

    @Override public int readConfig(int offset, int size) { return config.read(offset, size); }

    @Override public void writeConfig(int offset, int size, int value) {}

    @Override
    public synchronized void activate(VirtioDeviceContext ctx) {
        context = ctx;
        if (async) worker = Executors.newSingleThreadExecutor();
    }

    @Override
    public void queueNotify(int index) {
        VirtioDeviceContext ctx = context;
        if (ctx == null) return;
        ExecutorService w;
        synchronized (this) { w = worker; }
        if (w != null) w.execute(() -> serve(ctx, index));
        else serve(ctx, index);
    }

    private void serve(VirtioDeviceContext ctx, int index) {
        DeviceQueue q = ctx.queue(index);
        if (q == null || q.broken()) return;
        try {
            DescriptorChain c;
            boolean any = false;
            while (context == ctx && (c = q.pop()) != null) {
                byte[] data = new byte[(int) c.readableLength()];
                c.read(0, data, 0, data.length);
                int n = c.write(0, data, 0, data.length);
                q.addUsed(c.head(), n);
                any = true;
            }
            if (any) ctx.signalUsed(index);
        } catch (VirtqueueException e) {
            ctx.needsReset(e.getMessage());
        }
    }

    @Override
    public void reset() {
        ExecutorService w;
        synchronized (this) {
            context = null;
            w = worker;
            worker = null;
        }
        if (w != null) {
            w.shutdown();
            try {
                w.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
