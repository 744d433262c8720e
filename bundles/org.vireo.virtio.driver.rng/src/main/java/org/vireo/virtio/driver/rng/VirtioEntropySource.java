package org.vireo.virtio.driver.rng;

import java.io.IOException;
import org.osgi.annotation.versioning.ProviderType;

/**
 * A virtio entropy device bound to the Java driver, registered as an OSGi service with the properties
 * {@value #DRIVER_DEVICE}, {@code machine.name} and {@code virtio.transport}. Thread-safe.
 */
@ProviderType
public interface VirtioEntropySource {
    /** Service property: the name of the driver-side device ({@code VirtioDriverDevice.name()}). */
    String DRIVER_DEVICE = "virtio.driver.device";

    /** The driver-side device name, e.g. "java/mmio@0xd0000000". */
    String deviceName();

    /** Fills up to {@code len} bytes of {@code buf} from the device, waiting for at least one (unless len is 0). */
    int read(byte[] buf, int off, int len) throws IOException;
}
