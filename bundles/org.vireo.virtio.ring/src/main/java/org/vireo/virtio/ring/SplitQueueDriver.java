package org.vireo.virtio.ring;

import java.util.List;
import org.vireo.memory.GuestAllocator;
import org.vireo.memory.GuestMemory;
import org.vireo.memory.GuestRange;
import org.vireo.virtio.driver.UsedBuffer;
import org.vireo.virtio.driver.Virtqueue;
import org.vireo.virtio.driver.VirtqueueCallback;

/** The driver side of a split virtqueue: allocates its ring in guest memory. SKELETON: bodies to be written. */
public final class SplitQueueDriver implements Virtqueue {
    /**
     * Allocates and zeroes the descriptor table, available and used rings from {@code allocator}.
     *
     * @param features the negotiated features (RING_EVENT_IDX, RING_INDIRECT_DESC)
     * @param notifier writes the transport's notify register for this queue
     */
    public SplitQueueDriver(GuestMemory memory, GuestAllocator allocator, int index, int size, long features, Runnable notifier) {
        throw new UnsupportedOperationException("TODO");
    }

    public long descAddress() { throw new UnsupportedOperationException("TODO"); }
    public long availAddress() { throw new UnsupportedOperationException("TODO"); }
    public long usedAddress() { throw new UnsupportedOperationException("TODO"); }

    /** The callback for {@link #interrupt()}; null for none. */
    public void setCallback(VirtqueueCallback callback) { throw new UnsupportedOperationException("TODO"); }

    /** The transport saw an interrupt for this queue: runs the callback if used buffers are pending. Returns whether it ran. */
    public boolean interrupt() { throw new UnsupportedOperationException("TODO"); }

    /** Frees the ring memory (and indirect tables); the queue must be disabled on the device first. */
    public void release() { throw new UnsupportedOperationException("TODO"); }

    @Override public int index() { throw new UnsupportedOperationException("TODO"); }
    @Override public int size() { throw new UnsupportedOperationException("TODO"); }
    @Override public int freeCount() { throw new UnsupportedOperationException("TODO"); }
    @Override public boolean addBuf(List<GuestRange> out, List<GuestRange> in, Object token) { throw new UnsupportedOperationException("TODO"); }
    @Override public void kick() { throw new UnsupportedOperationException("TODO"); }
    @Override public UsedBuffer getBuf() { throw new UnsupportedOperationException("TODO"); }
    @Override public void disableCallbacks() { throw new UnsupportedOperationException("TODO"); }
    @Override public boolean enableCallbacks() { throw new UnsupportedOperationException("TODO"); }
    @Override public Object detachUnused() { throw new UnsupportedOperationException("TODO"); }
    @Override public boolean broken() { throw new UnsupportedOperationException("TODO"); }
}
