package org.vireo.virtio.driver.rng.impl;

import java.io.IOException;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import org.vireo.memory.GuestAllocator;
import org.vireo.memory.GuestMemory;
import org.vireo.memory.GuestRange;
import org.vireo.virtio.VirtioException;
import org.vireo.virtio.driver.VirtioDriverDevice;
import org.vireo.virtio.driver.rng.VirtioEntropySource;
import org.vireo.virtio.driver.support.BoundDevice;
import org.vireo.virtio.driver.support.GuestBuffer;
import org.vireo.virtio.driver.support.RequestQueue;

/** One bound virtio-rng device (virtio 1.x 5.4): each read posts one device-writable buffer on requestq. */
final class EntropySource implements VirtioEntropySource, BoundDevice {
    static final int REQUEST_QUEUE = 0;
    static final int MAX_REQUEST_BYTES = 4096;
    /** A device that keeps returning empty buffers is broken, not slow. */
    static final int MAX_EMPTY_ANSWERS = 64;

    private final VirtioDriverDevice device;
    private final GuestMemory memory;
    private final GuestAllocator allocator;
    private final RequestQueue requests = new RequestQueue();

    EntropySource(VirtioDriverDevice device) throws VirtioException {
        this.device = device;
        this.memory = device.memory();
        this.allocator = device.allocator();
        if (device.queueCount() < 1 || device.queueMaxSize(REQUEST_QUEUE) == 0) throw new VirtioException(device.name() + ": no request queue");
        requests.attach(device.setupQueue(REQUEST_QUEUE, 0, requests::buffersUsed));
    }

    @Override public String deviceName() { return device.name(); }

    @Override
    public int read(byte[] buf, int off, int len) throws IOException {
        Objects.checkFromIndexSize(off, len, buf.length);
        if (len == 0) return 0;
        int want = Math.min(len, MAX_REQUEST_BYTES);
        for (int attempt = 0; attempt < MAX_EMPTY_ANSWERS; attempt++) {
            GuestBuffer buffer = GuestBuffer.allocate(allocator, want, 64);
            CompletableFuture<Integer> used;
            try {
                used = requests.submit(List.of(), List.of(new GuestRange(buffer.address(), want)));
            } catch (IOException | RuntimeException e) {
                buffer.free();
                throw e;
            }
            int got = RequestQueue.await(used, buffer);   // on failure it frees the buffer (or once the device returns it)
            try {
                got = Math.min(Math.max(got, 0), want);
                if (got > 0) {
                    memory.read(buffer.address(), buf, off, got);
                    return got;
                }
            } finally {
                buffer.free();
            }
        }
        throw new IOException(device.name() + ": the device returned no entropy " + MAX_EMPTY_ANSWERS + " times");
    }

    @Override
    public void configChanged() {
        requests.closeIfNeedsReset(device);
    }

    @Override
    public void shutdown() {
        requests.shutdown(device);
    }
}
