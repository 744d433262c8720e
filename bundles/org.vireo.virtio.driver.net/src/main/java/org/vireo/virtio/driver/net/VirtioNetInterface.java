package org.vireo.virtio.driver.net;

import java.io.IOException;
import java.util.concurrent.TimeUnit;
import org.osgi.annotation.versioning.ProviderType;

/**
 * A virtio network device bound to the Java driver, registered as an OSGi service with the properties
 * {@value #DRIVER_DEVICE}, {@code machine.name} and {@code virtio.transport}. Frames are plain Ethernet frames
 * (destination, source, type, payload; no FCS, no virtio header), at most {@value #MAX_FRAME} bytes. Thread-safe.
 */
@ProviderType
public interface VirtioNetInterface {
    /** Service property: the name of the driver-side device ({@code VirtioDriverDevice.name()}). */
    String DRIVER_DEVICE = "virtio.driver.device";
    int MAX_FRAME = 1514;

    /** The driver-side device name, e.g. "java/mmio@0xd0000000". */
    String deviceName();

    /** The 6-byte MAC address: the device's, or a random locally administered one if it has none. */
    byte[] mac();

    /** Queues {@code frame} for transmission, waiting while every transmit buffer is in use. */
    void send(byte[] frame) throws IOException;

    /** The next received frame, or null on timeout (and at once once the device has been removed). */
    byte[] receive(long timeout, TimeUnit unit) throws InterruptedException;
}
