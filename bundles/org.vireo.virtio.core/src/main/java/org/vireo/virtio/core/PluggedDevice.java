package org.vireo.virtio.core;

import java.util.Optional;
import org.osgi.annotation.versioning.ProviderType;
import org.vireo.virtio.VirtioTransportInfo;
import org.vireo.virtio.driver.VirtioDriverDevice;

/** A device plugged into a machine by a transport ({@code VirtioMmio.plug}, {@code VirtioPci.plug}). */
@ProviderType
public interface PluggedDevice extends AutoCloseable {
    /** The device-side view: status, features, queues. */
    VirtioTransportInfo info();

    /** The driver side of the transport, present when the machine has a Java guest. */
    Optional<VirtioDriverDevice> driverSide();

    /** Unplugs: the driver side first, then the device side (registers, interrupts); the device is reset. Idempotent. */
    @Override
    void close();
}
