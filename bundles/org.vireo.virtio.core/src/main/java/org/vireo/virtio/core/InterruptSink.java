package org.vireo.virtio.core;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * How a transport delivers the interrupts {@link VirtioDeviceCore} decides on. The core has already set the matching
 * interrupt status bit when these are called; they are called without the core's lock held.
 */
@ConsumerType
public interface InterruptSink {
    /** Used buffer notification for queue {@code queue}. */
    void queueInterrupt(int queue);

    /** Configuration change notification (also sent for NEEDS_RESET). */
    void configInterrupt();
}
