package org.vireo.virtio.ring;

import org.vireo.virtio.VirtioFeatures;

/**
 * The ring layout a device offers: {@link #SPLIT} (the default) or {@link #PACKED}, which adds VIRTIO_F_RING_PACKED
 * (bit 34) to the offered features. A driver that accepts the bit gets packed rings; one that does not, split.
 */
public enum RingLayout {
    SPLIT, PACKED;

    /** The device setting's values: "split", "packed". */
    public String setting() { return name().toLowerCase(java.util.Locale.ROOT); }

    /** The features a transport offers for a device that offers {@code deviceFeatures}: bit 34 only with PACKED. */
    public long offer(long deviceFeatures) {
        long packed = VirtioFeatures.bit(VirtioFeatures.RING_PACKED);
        return this == PACKED ? deviceFeatures | packed : deviceFeatures & ~packed;
    }

    /**
     * The layout named by a device setting: null means {@link #SPLIT}.
     *
     * @throws IllegalArgumentException for anything but "split" or "packed"
     */
    public static RingLayout of(Object setting) {
        if (setting == null || "split".equals(setting.toString())) return SPLIT;
        if ("packed".equals(setting.toString())) return PACKED;
        throw new IllegalArgumentException("virtio.ring must be \"split\" or \"packed\", not \"" + setting + "\"");
    }
}
