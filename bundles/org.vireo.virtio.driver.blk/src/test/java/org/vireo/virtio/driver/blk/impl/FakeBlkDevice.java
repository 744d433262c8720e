package org.vireo.virtio.driver.blk.impl;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.vireo.memory.GuestAllocator;
import org.vireo.memory.GuestMemory;
import org.vireo.memory.GuestRange;
import org.vireo.virtio.VirtioFeatures;
import org.vireo.virtio.VirtioIds;
import org.vireo.virtio.VirtioStatus;
import org.vireo.virtio.driver.Virtqueue;
import org.vireo.virtio.driver.VirtqueueCallback;
import org.vireo.virtio.driver.VirtioDriver;
import org.vireo.virtio.driver.VirtioDriverDevice;
import org.vireo.virtio.testkit.FakeQueue;

/** A virtio-blk device model in Java behind a driver-side device without a transport, on real guest memory. */
final class FakeBlkDevice implements VirtioDriverDevice, AutoCloseable {
    final Arena arena = Arena.ofShared();
    final GuestMemory memory = GuestMemory.allocate(arena, 32 << 20);
    final GuestAllocator allocator = new GuestAllocator(1 << 20, 31 << 20);
    final ExecutorService deviceThread = Executors.newSingleThreadExecutor();
    final ExecutorService interruptThread = Executors.newSingleThreadExecutor();
    final byte[] disk;
    final Map<Integer, Integer> config32 = new HashMap<>();
    final List<String> commands = new ArrayList<>();
    final List<Integer> dataSegmentsPerRequest = new ArrayList<>();
    long offered = VirtioFeatures.bit(VirtioFeatures.VERSION_1);
    int queueMax = 128;
    boolean indirect = true;
    volatile boolean hold;
    final java.util.concurrent.CountDownLatch firstHeld = new java.util.concurrent.CountDownLatch(1);
    volatile int failWithStatus = -1;
    volatile int status;
    volatile long features;
    volatile FakeQueue queue;
    volatile Runnable configHandler;
    int resets;

    FakeBlkDevice(int sectors) {
        disk = new byte[sectors * 512];
    }

    FakeBlkDevice offer(int bit) {
        offered |= VirtioFeatures.bit(bit);
        return this;
    }

    /** Negotiates as the bus would (without the bus), with what both sides support. */
    void negotiate(long driverFeatures) {
        features = offered & (driverFeatures | VirtioFeatures.bit(VirtioFeatures.VERSION_1));
        status = VirtioStatus.ACKNOWLEDGE | VirtioStatus.DRIVER | VirtioStatus.FEATURES_OK;
    }

    void raiseConfigChange() {
        configHandler.run();
    }

    private synchronized int process(FakeQueue.Chain c) {
        if (hold) {
            firstHeld.countDown();
            return -1;
        }
        GuestRange header = c.out().getFirst();
        int type = memory.readInt(header.address());
        long sector = memory.readLong(header.address() + 8);
        GuestRange statusRange = c.in().getLast();
        commands.add(type + "@" + sector);
        int written = 1;
        int result = 0;
        if (failWithStatus >= 0) {
            result = failWithStatus;
        } else {
            switch (type) {
                case BlkDisk.T_IN -> {
                    List<GuestRange> data = c.in().subList(0, c.in().size() - 1);
                    dataSegmentsPerRequest.add(data.size());
                    long pos = sector * 512;
                    for (GuestRange r : data) {
                        memory.write(r.address(), disk, (int) pos, (int) r.length());
                        pos += r.length();
                        written += (int) r.length();
                    }
                }
                case BlkDisk.T_OUT -> {
                    List<GuestRange> data = c.out().subList(1, c.out().size());
                    dataSegmentsPerRequest.add(data.size());
                    long pos = sector * 512;
                    for (GuestRange r : data) {
                        memory.read(r.address(), disk, (int) pos, (int) r.length());
                        pos += r.length();
                    }
                }
                case BlkDisk.T_GET_ID -> {
                    byte[] id = "fake-serial".getBytes();
                    memory.write(c.in().getFirst().address(), id, 0, id.length);
                    memory.writeByte(c.in().getFirst().address() + id.length, (byte) 0);
                    written += 20;
                }
                case BlkDisk.T_FLUSH -> { }
                case BlkDisk.T_DISCARD, BlkDisk.T_WRITE_ZEROES -> {
                    GuestRange seg = c.out().get(1);
                    long s = memory.readLong(seg.address());
                    int n = memory.readInt(seg.address() + 8);
                    commands.add("range " + s + "+" + n);
                    if (type == BlkDisk.T_WRITE_ZEROES) java.util.Arrays.fill(disk, (int) s * 512, (int) (s + n) * 512, (byte) 0);
                }
                default -> result = BlkDisk.S_UNSUPP;
            }
        }
        memory.writeByte(statusRange.address(), (byte) result);
        return written;
    }

    @Override public String name() { return "fake/blk"; }
    @Override public String transport() { return "fake"; }
    @Override public int deviceId() { return VirtioIds.BLOCK; }
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
        FakeQueue q = queue;
        if (q != null) q.stop();
    }

    @Override public int configGeneration() { return 0; }

    @Override
    public int readConfig(int offset, int size) {
        return config32.getOrDefault(offset, 0);
    }

    @Override
    public long readConfig64(int offset) {
        return offset == BlkDisk.CFG_CAPACITY ? disk.length / 512 : 0;
    }

    @Override public void writeConfig(int offset, int size, int value) {}
    @Override public int queueCount() { return 1; }
    @Override public int queueMaxSize(int index) { return index == 0 ? queueMax : 0; }

    @Override
    public Virtqueue setupQueue(int index, int size, VirtqueueCallback callback) {
        boolean ind = indirect && VirtioFeatures.has(features, VirtioFeatures.RING_INDIRECT_DESC);
        queue = new FakeQueue(index, size == 0 ? queueMax : size, ind, deviceThread, interruptThread, callback, this::process);
        return queue;
    }

    @Override public void deleteQueues() { queue = null; }
    @Override public VirtioDriver boundDriver() { return null; }
    @Override public void setBoundDriver(VirtioDriver driver) {}
    @Override public void setConfigChangeHandler(Runnable handler) { configHandler = handler; }

    @Override
    public void close() throws InterruptedException {
        deviceThread.shutdown();
        interruptThread.shutdown();
        deviceThread.awaitTermination(5, TimeUnit.SECONDS);
        interruptThread.awaitTermination(5, TimeUnit.SECONDS);
        arena.close();
    }
}
