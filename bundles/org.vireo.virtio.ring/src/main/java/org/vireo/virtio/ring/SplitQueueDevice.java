package org.vireo.virtio.ring;

import org.vireo.memory.GuestMemory;
import org.vireo.virtio.device.DescriptorChain;
import org.vireo.virtio.device.DeviceQueue;
import org.vireo.virtio.device.VirtqueueException;

/** The device side of a split virtqueue in guest memory. SKELETON: bodies to be written. */
public final class SplitQueueDevice implements DeviceQueue {
    /**
     * @param features the negotiated features (RING_EVENT_IDX and RING_INDIRECT_DESC matter here)
     * @throws IllegalArgumentException if the size is not a power of two up to 32768 or a ring part is not inside guest memory or misaligned
     */
    public SplitQueueDevice(GuestMemory memory, int index, int size, long descAddr, long availAddr, long usedAddr, long features) {
        throw new UnsupportedOperationException("TODO");
    }

    @Override public int index() { throw new UnsupportedOperationException("TODO"); }
    @Override public int size() { throw new UnsupportedOperationException("TODO"); }
    @Override public DescriptorChain pop() throws VirtqueueException { throw new UnsupportedOperationException("TODO"); }
    @Override public void addUsed(int head, int writtenBytes) { throw new UnsupportedOperationException("TODO"); }
    @Override public boolean needsInterrupt() { throw new UnsupportedOperationException("TODO"); }
    @Override public void setNotification(boolean enabled) { throw new UnsupportedOperationException("TODO"); }
    @Override public int availIndex() { throw new UnsupportedOperationException("TODO"); }
    @Override public int lastAvailIndex() { throw new UnsupportedOperationException("TODO"); }
    @Override public int usedIndex() { throw new UnsupportedOperationException("TODO"); }
    @Override public boolean broken() { throw new UnsupportedOperationException("TODO"); }
}
