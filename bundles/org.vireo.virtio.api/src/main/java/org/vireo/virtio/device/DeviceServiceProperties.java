package org.vireo.virtio.device;

import java.util.Hashtable;
import java.util.Map;
import org.vireo.virtio.VirtioProperties;

/**
 * The service properties of a device component's {@link VirtioDevice} registration: the configuration's public
 * properties, as Declarative Services would copy them to a service it registered itself, plus the
 * {@link VirtioProperties} every device service carries.
 */
public final class DeviceServiceProperties {
    private DeviceServiceProperties() {}

    /** @throws IllegalArgumentException unless {@code transport} is "mmio" or "pci" */
    public static String requireTransport(String transport) {
        if (!"mmio".equals(transport) && !"pci".equals(transport)) {
            throw new IllegalArgumentException("virtio.transport must be \"mmio\" or \"pci\", not \"" + transport + "\"");
        }
        return transport;
    }

    /**
     * {@code configuration} without null values and private ({@code .}), {@code component.} and {@code service.}
     * keys, with the device id, device name, machine and transport set.
     */
    public static Hashtable<String, Object> of(Map<String, Object> configuration, int deviceId, String deviceName,
            String machine, String transport) {
        Hashtable<String, Object> props = new Hashtable<>();
        configuration.forEach((k, v) -> {
            if (v != null && !k.startsWith(".") && !k.startsWith("component.") && !k.startsWith("service.")) props.put(k, v);
        });
        props.put(VirtioProperties.DEVICE_ID, deviceId);
        props.put(VirtioProperties.DEVICE_NAME, deviceName);
        props.put(VirtioProperties.MACHINE, machine);
        props.put(VirtioProperties.TRANSPORT, transport);
        return props;
    }
}
