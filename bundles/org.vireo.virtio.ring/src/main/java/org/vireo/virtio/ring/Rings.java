package org.vireo.virtio.ring;

import org.vireo.memory.GuestAllocator;
import org.vireo.memory.GuestMemory;
import org.vireo.virtio.VirtioFeatures;
import org.vireo.virtio.device.DeviceQueue;

/** The one place that picks a ring layout from the negotiated features: packed with RING_PACKED (bit 34), else split. */
public final class Rings {
    private Rings() {}

    public static boolean packed(long features) { return VirtioFeatures.has(features, VirtioFeatures.RING_PACKED); }

    /** Whether {@code n} is a valid queue size for the layout: a power of two up to 32768 (split), 1 to 32768 (packed). */
    public static boolean validSize(long features, int n) {
        return packed(features) ? PackedRing.validSize(n) : SplitRing.validSize(n);
    }

    /**
     * The device side of a queue whose driver set these addresses.
     *
     * @throws IllegalArgumentException for a size or an address the layout cannot use
     */
    public static DeviceQueue device(GuestMemory memory, int index, int size, long desc, long driverArea, long deviceArea, long features) {
        return packed(features)
                ? new PackedQueueDevice(memory, index, size, desc, driverArea, deviceArea, features)
                : new SplitQueueDevice(memory, index, size, desc, driverArea, deviceArea, features);
    }

    /** The driver side of a queue, its ring allocated from {@code allocator}. */
    public static QueueDriver driver(GuestMemory memory, GuestAllocator allocator, int index, int size, long features, Runnable notifier) {
        return packed(features)
                ? new PackedQueueDriver(memory, allocator, index, size, features, notifier)
                : new SplitQueueDriver(memory, allocator, index, size, features, notifier);
    }
}
