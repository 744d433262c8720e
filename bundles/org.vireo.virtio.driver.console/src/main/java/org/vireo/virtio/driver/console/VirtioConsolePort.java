package org.vireo.virtio.driver.console;

import java.io.IOException;
import java.util.concurrent.TimeUnit;
import org.osgi.annotation.versioning.ProviderType;

/**
 * The first port of a virtio console bound to the Java driver, registered as an OSGi service with the properties
 * {@value #DRIVER_DEVICE}, {@code machine.name} and {@code virtio.transport}. A byte stream each way. Thread-safe.
 */
@ProviderType
public interface VirtioConsolePort {
    /** Service property: the name of the driver-side device ({@code VirtioDriverDevice.name()}). */
    String DRIVER_DEVICE = "virtio.driver.device";

    /** The driver-side device name, e.g. "java/mmio@0xd0000000". */
    String deviceName();

    /** Writes all of {@code data[off, off+len)}, returning once the device has taken it. */
    void write(byte[] data, int off, int len) throws IOException;

    /**
     * Reads what has arrived, up to {@code len} bytes, waiting up to {@code timeout} for the first byte.
     *
     * @return the bytes read; 0 on timeout; -1 once the device has been removed and everything received was read
     */
    int read(byte[] buf, int off, int len, long timeout, TimeUnit unit) throws InterruptedException;
}
