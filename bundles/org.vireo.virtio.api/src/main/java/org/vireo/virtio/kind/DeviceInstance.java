package org.vireo.virtio.kind;

import java.util.Map;
import org.vireo.virtio.device.VirtioDevice;

/**
 * A device a {@link DeviceKind} made, with what its service should carry and how to release its backend once it is
 * unplugged.
 *
 * @param device            the device, for a transport to plug
 * @param serviceProperties what the device's service publishes besides the configuration (resolved values, such as a
 *                          disk's serial); may be empty
 * @param backend           closed after the device has left its transport (files, sockets, threads)
 */
public record DeviceInstance(VirtioDevice device, Map<String, Object> serviceProperties, AutoCloseable backend) implements AutoCloseable {
    public DeviceInstance {
        serviceProperties = Map.copyOf(serviceProperties);
    }

    @Override
    public void close() throws Exception { backend.close(); }
}
