package org.vireo.virtio.driver.support;

import java.util.Hashtable;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.ServiceRegistration;
import org.vireo.virtio.VirtioProperties;
import org.vireo.virtio.driver.VirtioDriverDevice;

/**
 * Registers a per-device service with the properties of the contract: the driver-side device name, the machine and
 * the transport (and the device's configured name when known), copied from the device's own service registration.
 */
public final class OsgiPublisher<S> implements ServicePublisher<S> {
    /** The service property naming the driver-side device ({@link VirtioDriverDevice#name()}). */
    public static final String DRIVER_DEVICE = "virtio.driver.device";

    private final BundleContext context;
    private final Class<S> type;

    /** Registers services of {@code type} through {@code context} (the driver bundle's). */
    public OsgiPublisher(BundleContext context, Class<S> type) {
        this.context = context;
        this.type = type;
    }

    @Override
    public Published publish(VirtioDriverDevice device, S service) {
        Hashtable<String, Object> props = new Hashtable<>();
        props.put(DRIVER_DEVICE, device.name());
        props.put(VirtioProperties.TRANSPORT, device.transport());
        props.put(VirtioProperties.DEVICE_ID, device.deviceId());
        ServiceReference<VirtioDriverDevice> ref = referenceOf(device);
        Object machine = ref == null ? null : ref.getProperty(VirtioProperties.MACHINE);
        props.put(VirtioProperties.MACHINE, machine != null ? machine : machineFromName(device.name()));
        Object configured = ref == null ? null : ref.getProperty(VirtioProperties.DEVICE_NAME);
        if (configured != null) props.put(VirtioProperties.DEVICE_NAME, configured);
        ServiceRegistration<S> registration = context.registerService(type, service, props);
        return () -> {
            try {
                registration.unregister();
            } catch (IllegalStateException e) {
                // already gone with the bundle
            }
        };
    }

    /** The registration of {@code device} itself, found by identity. */
    private ServiceReference<VirtioDriverDevice> referenceOf(VirtioDriverDevice device) {
        try {
            for (ServiceReference<VirtioDriverDevice> ref : context.getServiceReferences(VirtioDriverDevice.class,
                    "(" + VirtioProperties.DEVICE_ID + "=" + device.deviceId() + ")")) {
                VirtioDriverDevice candidate = context.getService(ref);
                try {
                    if (candidate == device) return ref;
                } finally {
                    if (candidate != null) context.ungetService(ref);
                }
            }
        } catch (InvalidSyntaxException | IllegalStateException e) {
            // fall back to the name
        }
        return null;
    }

    /** Driver-side names are "machine/transport@address". */
    public static String machineFromName(String name) {
        int slash = name.lastIndexOf('/');
        return slash > 0 ? name.substring(0, slash) : "";
    }
}
