package org.vireo.virtio.bus.impl;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.vireo.memory.GuestAllocator;
import org.vireo.memory.GuestMemory;
import org.vireo.virtio.VirtioFeatures;
import org.vireo.virtio.VirtioStatus;
import org.vireo.virtio.driver.Virtqueue;
import org.vireo.virtio.driver.VirtqueueCallback;
import org.vireo.virtio.driver.VirtioDriver;
import org.vireo.virtio.driver.VirtioDriverDevice;

/** A driver-side device without a transport: records every status write, reset and feature write. */
final class FakeDevice implements VirtioDriverDevice {
    final String name;
    final int deviceId;
    final int vendorId;
    final long offered;
    final List<String> log = new CopyOnWriteArrayList<>();
    volatile boolean refuseFeaturesOk;
    volatile int status;
    volatile long driverFeatures;
    volatile VirtioDriver boundDriver;
    volatile Runnable configHandler;

    FakeDevice(String name, int deviceId, int vendorId, long offered) {
        this.name = name;
        this.deviceId = deviceId;
        this.vendorId = vendorId;
        this.offered = offered;
    }

    static FakeDevice modern(String name, int deviceId) {
        return new FakeDevice(name, deviceId, 0x1234, VirtioFeatures.bit(VirtioFeatures.VERSION_1)
                | VirtioFeatures.bit(VirtioFeatures.RING_EVENT_IDX) | VirtioFeatures.bit(VirtioFeatures.RING_PACKED) | 0b111);
    }

    /** Raises a configuration change interrupt, as the transport would. */
    void raiseConfigChange() {
        Runnable h = configHandler;
        if (h != null) h.run();
    }

    @Override public String name() { return name; }
    @Override public String transport() { return "fake"; }
    @Override public int deviceId() { return deviceId; }
    @Override public int vendorId() { return vendorId; }
    @Override public GuestMemory memory() { throw new UnsupportedOperationException(); }
    @Override public GuestAllocator allocator() { throw new UnsupportedOperationException(); }
    @Override public long deviceFeatures() { return offered; }

    @Override
    public void writeDriverFeatures(long features) {
        log.add("features " + Long.toHexString(features));
        driverFeatures = features;
    }

    @Override public long negotiatedFeatures() { return driverFeatures; }
    @Override public int getStatus() { return status; }

    @Override
    public void setStatus(int value) {
        log.add("status " + VirtioStatus.describe(value));
        if (refuseFeaturesOk) value &= ~VirtioStatus.FEATURES_OK;
        status = value;
    }

    @Override
    public void reset() {
        log.add("reset");
        status = 0;
    }

    @Override public int configGeneration() { return 0; }
    @Override public int readConfig(int offset, int size) { return 0; }
    @Override public long readConfig64(int offset) { return 0; }
    @Override public void writeConfig(int offset, int size, int value) {}
    @Override public int queueCount() { return 0; }
    @Override public int queueMaxSize(int index) { return 0; }
    @Override public Virtqueue setupQueue(int index, int size, VirtqueueCallback callback) { throw new UnsupportedOperationException(); }

    @Override
    public void deleteQueues() {
        log.add("deleteQueues");
    }

    @Override public VirtioDriver boundDriver() { return boundDriver; }
    @Override public void setBoundDriver(VirtioDriver driver) { boundDriver = driver; }
    @Override public void setConfigChangeHandler(Runnable handler) { configHandler = handler; }

    @Override public String toString() { return name; }
}
