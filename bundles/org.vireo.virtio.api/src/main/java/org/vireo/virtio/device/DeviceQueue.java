package org.vireo.virtio.device;

import org.osgi.annotation.versioning.ProviderType;

/**
 * The device side of one virtqueue. Safe to call from several threads; a device that processes one queue from two
 * threads must still order its own pop/addUsed pairs.
 */
@ProviderType
public interface DeviceQueue {
    int index();

    int size();

    /**
     * The next available descriptor chain, fully validated (indices, lengths, loops, addresses, readable before
     * writable, indirect tables), or null when the driver has made none available.
     *
     * @throws VirtqueueException when the guest's ring is malformed; the queue is then broken and stays so until reset
     */
    DescriptorChain pop() throws VirtqueueException;

    /**
     * Returns a chain to the driver with {@code writtenBytes} bytes written into its writable part. Before the driver
     * can see it, the queue tells guest memory ({@link org.vireo.memory.GuestMemory#deviceWrote}) which bytes the
     * device wrote: the first {@code writtenBytes}, and whatever {@link DescriptorChain#write} wrote beyond them.
     */
    void addUsed(int head, int writtenBytes);

    /**
     * Whether the driver wants an interrupt for the buffers used since the last call that returned true
     * (flags or EVENT_IDX). {@link VirtioDeviceContext#signalUsed} calls this; devices rarely need to.
     */
    boolean needsInterrupt();

    /**
     * Asks the driver not to notify (or, with false, to notify again): VIRTQ_USED_F_NO_NOTIFY, or the avail-event
     * index with EVENT_IDX. After enabling, a device must pop once more to close the race with a driver that
     * added buffers while notifications were off.
     */
    void setNotification(boolean enabled);

    /** Driver's avail index as last read, and the device's next index to consume: for the shell. */
    int availIndex();

    int lastAvailIndex();

    int usedIndex();

    boolean broken();
}
