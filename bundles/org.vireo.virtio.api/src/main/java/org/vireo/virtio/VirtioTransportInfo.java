package org.vireo.virtio;

import java.util.List;
import org.osgi.annotation.versioning.ProviderType;

/**
 * What a transport knows about one plugged device, for the shell and for tests. Transports register one per plugged
 * device as an OSGi service with {@link VirtioProperties#DEVICE_ID}, {@link VirtioProperties#MACHINE} and
 * {@link VirtioProperties#TRANSPORT}. {@link #name()} equals the name of the driver-side device on a Java guest.
 */
@ProviderType
public interface VirtioTransportInfo {
    String name();

    /** "mmio" or "pci". */
    String transport();

    /** "0xd0000000 irq 16" or "00:01.0 bar0 0xd0000000 msix 3". */
    String address();

    String machine();

    int deviceId();

    /** The device's user-facing name from its configuration (e.g. "disk0"). */
    String deviceName();

    int status();

    long deviceFeatures();

    long driverFeatures();

    List<QueueInfo> queues();

    /** The backend's own one-line description ({@link org.vireo.virtio.device.VirtioDevice#describe()}). */
    String backend();

    record QueueInfo(int index, int maxSize, int size, boolean ready, int availIndex, int lastAvailIndex, int usedIndex) {}
}
