package org.vireo.virtio.device;

import java.util.List;
import org.osgi.annotation.versioning.ProviderType;
import org.vireo.memory.GuestRange;

/**
 * One validated descriptor chain: the readable (driver-to-device) ranges followed by the writable
 * (device-to-driver) ones. Every range is inside guest memory. Offsets below are within the concatenation of the
 * readable or of the writable ranges.
 */
@ProviderType
public interface DescriptorChain {
    /** The head descriptor index, to pass to {@link DeviceQueue#addUsed}. */
    int head();

    List<GuestRange> readable();

    List<GuestRange> writable();

    long readableLength();

    long writableLength();

    /** Copies up to {@code len} bytes from the readable part at {@code offset}; returns the bytes copied. */
    int read(long offset, byte[] dst, int off, int len);

    /**
     * Copies up to {@code len} bytes into the writable part at {@code offset}; returns the bytes copied. The queue
     * reports these bytes to guest memory as device writes when the chain is used, even beyond the used length.
     */
    int write(long offset, byte[] src, int off, int len);
}
