package org.vireo.virtio.bus;

import java.util.List;
import org.osgi.annotation.versioning.ProviderType;

/**
 * The virtio bus, registered as an OSGi service: binds {@link org.vireo.virtio.driver.VirtioDriver} services to
 * {@link org.vireo.virtio.driver.VirtioDriverDevice} services by id table. This interface is its read-only view.
 */
@ProviderType
public interface VirtioBus {
    /**
     * One entry per driver-side device the bus knows, in arrival order. Reflects every device and driver
     * arrival and departure delivered to the bus before the call (probes triggered by them have finished).
     */
    List<Binding> bindings();

    /**
     * @param device   the driver-side device name ({@link org.vireo.virtio.driver.VirtioDriverDevice#name()})
     * @param deviceId the virtio device id
     * @param machine  the machine.name service property of the device (null if absent)
     * @param driver   the bound driver's name, null if unbound
     * @param status   the device status byte as last read
     */
    record Binding(String device, int deviceId, String transport, String machine, String driver, int status) {}
}
