package org.vireo.virtio.driver.blk;

import java.io.IOException;
import org.osgi.annotation.versioning.ProviderType;

/**
 * A virtio block device bound to the Java driver, registered as an OSGi service with the properties
 * {@value #DRIVER_DEVICE} (the driver-side device name), {@code machine.name} and {@code virtio.transport}.
 * Sectors are 512 bytes whatever the device's block size; lengths are multiples of {@value #SECTOR_SIZE}.
 * Thread-safe: concurrent callers share the request queue. Once the device is removed every call, including one
 * waiting for the device, fails with an {@link IOException}.
 */
@ProviderType
public interface VirtioBlockDisk {
    /** Service property: the name of the driver-side device ({@code VirtioDriverDevice.name()}). */
    String DRIVER_DEVICE = "virtio.driver.device";
    int SECTOR_SIZE = 512;

    /** The driver-side device name, e.g. "java/mmio@0xd0000000". */
    String deviceName();

    long capacitySectors();

    boolean readOnly();

    void read(long sector, byte[] buf, int off, int len) throws IOException;

    void write(long sector, byte[] buf, int off, int len) throws IOException;

    /** Makes completed writes durable; a no-op on a device without a volatile write cache (no FLUSH feature). */
    void flush() throws IOException;

    /** The device's id string (up to 20 characters). */
    String serial() throws IOException;

    /** Tells the device the range is no longer needed; an {@link IOException} if the device does not offer DISCARD. */
    void discard(long sector, long sectors) throws IOException;

    /** Zeroes the range, with WRITE_ZEROES when the device offers it, else by writing zeroed buffers. */
    void writeZeroes(long sector, long sectors) throws IOException;
}
