package org.vireo.virtio.kind;

import java.io.IOException;
import java.io.OutputStream;
import java.util.Collection;
import java.util.Hashtable;
import java.util.Map;
import java.util.Optional;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.ServiceRegistration;
import org.vireo.virtio.VirtioProperties;
import org.vireo.virtio.device.DeviceServiceProperties;
import org.vireo.virtio.device.VirtioDevice;

/**
 * What a device bundle's configuration component does with its {@link DeviceKind}: makes the device from the
 * configuration through the kind (the same call a run without a framework makes) and registers it as a
 * {@link VirtioDevice} service carrying the configuration's public properties, the device's id, name, machine and
 * transport, and the kind's {@link DeviceInstance#serviceProperties()}. {@link #close()} unregisters it first (the
 * transports then unplug and reset the device) and then closes its backend.
 */
public final class DeviceRegistration implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(DeviceRegistration.class.getName());

    private final BundleContext context;
    private final DeviceInstance instance;
    private Hashtable<String, Object> properties;
    private ServiceRegistration<VirtioDevice> registration;

    private DeviceRegistration(BundleContext context, DeviceInstance instance) {
        this.context = context;
        this.instance = instance;
    }

    /**
     * Makes the device and registers it at once.
     *
     * @throws IOException              when the kind cannot open a host resource
     * @throws IllegalArgumentException when the configuration is invalid (the transport included)
     */
    public static DeviceRegistration register(BundleContext context, DeviceKind kind, Map<String, Object> configuration) throws IOException {
        DeviceRegistration r = create(context, kind, configuration);
        r.publish();
        return r;
    }

    /**
     * What a device component's activation does: {@link #register}, or, when the configuration is invalid or a host
     * resource cannot be opened, an ERROR "virtio-LABEL 'NAME' not created: why" and null (the component registers
     * nothing and stays active, so a corrected configuration can replace it).
     */
    public static DeviceRegistration registerOrLog(BundleContext context, DeviceKind kind, Map<String, Object> configuration) {
        try {
            return register(context, kind, configuration);
        } catch (IOException | IllegalArgumentException e) {
            String name = Settings.of(kind.settings(), configuration).string(Setting.DEVICE_NAME);
            LOG.log(System.Logger.Level.ERROR, "virtio-" + kind.label() + " '" + name + "' not created: " + e.getMessage());
            return null;
        }
    }

    /**
     * Makes the device, not yet registered: a component that publishes more (the host end of a link) does so before
     * {@link #publish()}.
     */
    public static DeviceRegistration create(BundleContext context, DeviceKind kind, Map<String, Object> configuration) throws IOException {
        Settings settings = Settings.of(kind.settings(), configuration);
        String transport = DeviceServiceProperties.requireTransport(settings.string(Setting.TRANSPORT));
        String machine = settings.string(Setting.MACHINE);
        DeviceInstance instance = kind.create(configuration, environment(context, machine));
        DeviceRegistration r = new DeviceRegistration(context, instance);
        r.properties = DeviceServiceProperties.of(configuration, instance.device().deviceId(), settings.string(Setting.DEVICE_NAME), machine, transport);
        r.properties.putAll(instance.serviceProperties());
        r.properties.put(DeviceKind.LABEL_PROPERTY, kind.label());
        return r;
    }

    /** Registers the device as a {@link VirtioDevice} service; the transports then plug it. */
    public void publish() {
        try {
            registration = context.registerService(VirtioDevice.class, instance.device(), properties);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** The device and its backend. */
    public DeviceInstance instance() { return instance; }

    /** Unregisters the device (so the transports unplug it), then closes its backend; a failure to close is logged. */
    @Override
    public void close() {
        if (registration != null) {
            try {
                registration.unregister();
            } catch (IllegalStateException e) {
                // already gone with its bundle
            }
            registration = null;
        }
        try {
            instance.close();
        } catch (Exception e) {
            LOG.log(System.Logger.Level.WARNING, "closing the backend of " + instance.device().getClass().getSimpleName() + " failed: " + e);
        }
    }

    /**
     * The environment of a device on machine {@code machine} in the framework: its terminal is the {@link OutputStream}
     * service with {@value DeviceEnvironment#TERMINAL_PROPERTY}=true and that {@code machine.name}, if one is
     * registered when the device asks.
     */
    public static DeviceEnvironment environment(BundleContext context, String machine) {
        return () -> {
            String filter = "(&(" + DeviceEnvironment.TERMINAL_PROPERTY + "=true)(" + VirtioProperties.MACHINE + "=" + VirtioProperties.filterValue(machine) + "))";
            try {
                Collection<ServiceReference<OutputStream>> refs = context.getServiceReferences(OutputStream.class, filter);
                for (ServiceReference<OutputStream> ref : refs) {
                    OutputStream out = context.getService(ref);
                    if (out != null) return Optional.of(out);
                }
            } catch (InvalidSyntaxException | IllegalStateException e) {
                // no terminal then
            }
            return Optional.empty();
        };
    }

}
