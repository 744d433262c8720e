package org.vireo.virtio.ring;

import org.vireo.virtio.driver.Virtqueue;
import org.vireo.virtio.driver.VirtqueueCallback;

/**
 * A driver-side virtqueue of either layout, as a transport's driver side holds it: the ring's three guest
 * addresses for the queue registers, the interrupt path and the release of ring memory. {@link Rings#driver} makes
 * the one the negotiated features ask for.
 */
public interface QueueDriver extends Virtqueue {
    /** The descriptor table (split) or descriptor ring (packed). */
    long descAddress();

    /** What the queue's "driver" register points at: the available ring (split) or the driver event suppression structure (packed). */
    long driverAreaAddress();

    /** What the queue's "device" register points at: the used ring (split) or the device event suppression structure (packed). */
    long deviceAreaAddress();

    /** The callback for {@link #interrupt()}; null for none. */
    void setCallback(VirtqueueCallback callback);

    /** The transport saw an interrupt for this queue: runs the callback if used buffers are pending. Returns whether it ran. */
    boolean interrupt();

    /** Whether the device has returned buffers that {@link #getBuf()} has not taken yet. */
    boolean hasPending();

    /** Frees the ring memory (and indirect tables); the queue must be disabled on the device first. */
    void release();
}
