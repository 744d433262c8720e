package org.vireo.virtio.driver;

import java.util.List;
import org.osgi.annotation.versioning.ProviderType;
import org.vireo.memory.GuestRange;

/**
 * The driver side of one virtqueue: the seed's virtqueue_ops. Thread-safe (one lock per queue), so a driver may
 * add buffers on its own thread while its callback drains used ones on the interrupt thread.
 */
@ProviderType
public interface Virtqueue {
    int index();

    int size();

    /** Free descriptors. */
    int freeCount();

    /**
     * add_buf: exposes {@code out} (device reads) then {@code in} (device writes) as one chain, identified by
     * {@code token} (non-null). Uses an indirect table when negotiated and more than one descriptor is needed.
     *
     * @return false when the ring has no room (the seed's -ENOSPC); nothing was added
     */
    boolean addBuf(List<GuestRange> out, List<GuestRange> in, Object token);

    /** kick: publishes added buffers and notifies the device unless it suppressed notifications. */
    void kick();

    /** get_buf: the next used buffer, or null. */
    UsedBuffer getBuf();

    /** disable_cb: asks the device not to interrupt (a hint; callbacks may still come). */
    void disableCallbacks();

    /**
     * enable_cb, the seed's "restart": re-enables callbacks and returns false if used buffers are already pending
     * (the caller must then poll again), closing the race between a last getBuf and re-enabling.
     */
    boolean enableCallbacks();

    /** detach_unused_buf (the seed's shutdown): after reset, returns tokens of buffers the device never used, one per call, or null. */
    Object detachUnused();

    /** Set when the device returned something impossible (bad id, bad length): the queue is unusable until reset. */
    boolean broken();
}
