package org.vireo.virtio.testkit;

import java.lang.foreign.Arena;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.vireo.memory.GuestAllocator;
import org.vireo.memory.GuestMemory;
import org.vireo.virtio.VirtioFeatures;
import org.vireo.virtio.VirtioStatus;
import org.vireo.virtio.driver.Virtqueue;
import org.vireo.virtio.driver.VirtqueueCallback;
import org.vireo.virtio.driver.VirtioDriver;
import org.vireo.virtio.driver.VirtioDriverDevice;

/**
 * A driver-side device without a transport: one Java model per queue, on real guest memory (16 MiB, the allocator
 * owning 1..16 MiB). Queues are {@link FakeQueue}s of size 64 unless {@link #sizes} says otherwise. For driver unit tests.
 */
public final class FakeDevice implements VirtioDriverDevice, AutoCloseable {
    public final Arena arena = Arena.ofShared();
    public final GuestMemory memory = GuestMemory.allocate(arena, 16 << 20);
    public final GuestAllocator allocator = new GuestAllocator(1 << 20, 15 << 20);
    public final ExecutorService deviceThread = Executors.newSingleThreadExecutor();
    public final ExecutorService interruptThread = Executors.newSingleThreadExecutor();
    public final int deviceId;
    public final FakeQueue.Model[] models;
    public final FakeQueue[] queues;
    public final byte[] config = new byte[64];
    public final Map<Integer, Integer> sizes = new HashMap<>();
    public long offered = VirtioFeatures.bit(VirtioFeatures.VERSION_1);
    public volatile int status;
    public volatile long features;
    public int resets;

    public FakeDevice(int deviceId, FakeQueue.Model... models) {
        this.deviceId = deviceId;
        this.models = models;
        this.queues = new FakeQueue[models.length];
    }

    /** Negotiates as the bus would (without the bus), with what both sides support. */
    public void negotiate(long driverFeatures) {
        features = offered & (driverFeatures | VirtioFeatures.bit(VirtioFeatures.VERSION_1));
        status = VirtioStatus.ACKNOWLEDGE | VirtioStatus.DRIVER | VirtioStatus.FEATURES_OK;
    }

    @Override public String name() { return "fake/dev"; }
    @Override public String transport() { return "fake"; }
    @Override public int deviceId() { return deviceId; }
    @Override public int vendorId() { return 0; }
    @Override public GuestMemory memory() { return memory; }
    @Override public GuestAllocator allocator() { return allocator; }
    @Override public long deviceFeatures() { return offered; }
    @Override public void writeDriverFeatures(long f) { features = f; }
    @Override public long negotiatedFeatures() { return features; }
    @Override public int getStatus() { return status; }
    @Override public void setStatus(int s) { status = s; }

    @Override
    public synchronized void reset() {
        resets++;
        status = 0;
        for (FakeQueue q : queues) if (q != null) q.stop();
    }

    @Override public int configGeneration() { return 0; }

    @Override
    public int readConfig(int offset, int size) {
        int v = 0;
        for (int i = 0; i < size; i++) v |= (config[offset + i] & 0xff) << (8 * i);
        return v;
    }

    @Override public long readConfig64(int offset) { return (readConfig(offset, 4) & 0xffffffffL) | ((long) readConfig(offset + 4, 4) << 32); }
    @Override public void writeConfig(int offset, int size, int value) {}
    @Override public int queueCount() { return models.length; }
    @Override public int queueMaxSize(int index) { return index < models.length ? sizes.getOrDefault(index, 64) : 0; }

    @Override
    public synchronized Virtqueue setupQueue(int index, int size, VirtqueueCallback callback) {
        queues[index] = new FakeQueue(index, size == 0 ? queueMaxSize(index) : size, true, deviceThread, interruptThread,
                callback, models[index]);
        return queues[index];
    }

    @Override
    public synchronized void deleteQueues() {
        java.util.Arrays.fill(queues, null);
    }

    @Override public VirtioDriver boundDriver() { return null; }
    @Override public void setBoundDriver(VirtioDriver driver) {}
    @Override public void setConfigChangeHandler(Runnable handler) {}

    @Override
    public void close() throws InterruptedException {
        deviceThread.shutdown();
        interruptThread.shutdown();
        deviceThread.awaitTermination(5, TimeUnit.SECONDS);
        interruptThread.awaitTermination(5, TimeUnit.SECONDS);
        arena.close();
    }
}
