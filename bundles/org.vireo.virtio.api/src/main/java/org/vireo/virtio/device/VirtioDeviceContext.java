package org.vireo.virtio.device;

import org.osgi.annotation.versioning.ProviderType;
import org.vireo.memory.GuestMemory;

/** What an activated device gets from its transport. Thread-safe. */
@ProviderType
public interface VirtioDeviceContext {
    /** The features the driver accepted (FEATURES_OK was set with these). */
    long negotiatedFeatures();

    GuestMemory memory();

    /** The device side of queue {@code index}, or null if the driver did not enable it. */
    DeviceQueue queue(int index);

    /**
     * Tells the driver that queue {@code index} has new used buffers: raises the queue's interrupt unless the
     * driver suppressed it (VIRTQ_AVAIL_F_NO_INTERRUPT, or the used-event index with EVENT_IDX).
     */
    void signalUsed(int index);

    /** The device changed its config space: bumps the config generation and raises a configuration interrupt. */
    void signalConfigChange();

    /**
     * The device hit an error it cannot recover from without a reset (a malformed chain, a broken backend): sets
     * NEEDS_RESET, raises a configuration interrupt. The device must stop processing its queues afterwards.
     */
    void needsReset(String reason);
}
