package org.vireo.virtio.core;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.vireo.virtio.device.ConfigSpace;
import org.vireo.virtio.device.VirtioDevice;
import org.vireo.virtio.device.VirtioDeviceContext;

/** A tiny device that records what the transport does to it and can be told to fail. */
final class FakeDevice implements VirtioDevice {
    static final long OWN_FEATURE = 1L << 3;

    final ConfigSpace config = new ConfigSpace(8);
    final List<VirtioDeviceContext> activations = new CopyOnWriteArrayList<>();
    final List<Integer> notifies = new CopyOnWriteArrayList<>();
    final List<String> configWrites = new CopyOnWriteArrayList<>();
    volatile int resets;
    volatile boolean failActivate;
    volatile boolean failNotify;
    volatile boolean failConfig;
    volatile Runnable onNotify = () -> {};
    volatile Runnable onReset = () -> {};
    long offered = OWN_FEATURE;

    FakeDevice() {
        config.put32(0, 0x11223344);
        config.put32(4, 0x55667788);
    }

    @Override public int deviceId() { return 4; }
    @Override public long offeredFeatures() { return offered; }
    @Override public int queueCount() { return 2; }
    @Override public int queueMaxSize(int index) { return index == 0 ? 256 : 64; }
    @Override public int configSize() { return config.size(); }

    @Override
    public int readConfig(int offset, int size) {
        if (failConfig) throw new IllegalStateException("config bug (expected by the test)");
        return config.read(offset, size);
    }

    @Override
    public void writeConfig(int offset, int size, int value) {
        configWrites.add(offset + ":" + size + ":" + Integer.toHexString(value));
        config.write(offset, size, value);
    }

    @Override
    public void activate(VirtioDeviceContext context) {
        activations.add(context);
        if (failActivate) throw new IllegalStateException("activate bug (expected by the test)");
    }

    @Override
    public void queueNotify(int index) {
        notifies.add(index);
        onNotify.run();
        if (failNotify) throw new IllegalStateException("notify bug (expected by the test)");
    }

    @Override
    public void reset() {
        onReset.run();
        resets++;
    }

    VirtioDeviceContext context() { return activations.get(activations.size() - 1); }
}
