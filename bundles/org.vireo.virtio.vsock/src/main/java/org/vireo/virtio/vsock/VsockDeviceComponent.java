package org.vireo.virtio.vsock;

import java.util.Map;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.osgi.service.metatype.annotations.Option;
import org.vireo.virtio.device.VirtioDevice;
import org.vireo.virtio.kind.DeviceRegistration;

/**
 * One virtio-vsock device per factory configuration {@code org.vireo.virtio.vsock}, registered as a
 * {@link VirtioDevice} service, made by {@link VsockKind} (the kind a run without a framework uses too). A bad
 * configuration (a CID out of range, a socket path that cannot be listened on) is logged and registers nothing.
 */
@Component(configurationPid = VsockDeviceComponent.PID, configurationPolicy = ConfigurationPolicy.REQUIRE, service = {})
@Designate(ocd = VsockDeviceComponent.Config.class, factory = true)
public final class VsockDeviceComponent {
    public static final String PID = "org.vireo.virtio.vsock";


    @ObjectClassDefinition(name = "Vireo virtio socket device",
            description = "A virtio-vsock device: guest sockets reach host processes through a Unix domain socket (Firecracker's model)")
    public @interface Config {
        @AttributeDefinition(name = "Device name", description = "User-facing name of this device, e.g. vsock0")
        String virtio_device_name() default "vsock";

        @AttributeDefinition(name = "Machine", description = "Name of the machine (machine.name) this device is plugged into")
        String machine_name() default "java";

        @AttributeDefinition(name = "Transport", description = "How the guest sees the device: virtio-mmio or virtio-pci",
                options = {@Option(label = "virtio-mmio", value = "mmio"), @Option(label = "virtio-pci", value = "pci")})
        String virtio_transport() default "mmio";

        @AttributeDefinition(name = "Guest CID", min = "3", max = "4294967294",
                description = "The guest's context id (3 to 4294967294; 0-2 are reserved)")
        long cid() default 3;

        @AttributeDefinition(name = "Host socket",
                description = "Unix domain socket the device listens on: a host process connects and writes \"CONNECT <port>\\n\" to reach a guest"
                        + " listener; a guest connecting to CID 2 port P reaches PATH_P")
        String path();
    }

    private final VsockKind kind = new VsockKind();
    private DeviceRegistration registration;

    @Activate
    void activate(BundleContext context, Map<String, Object> properties) {
        registration = DeviceRegistration.registerOrLog(context, kind, properties);
    }

    @Deactivate
    void deactivate() {
        if (registration != null) {
            registration.close();
            registration = null;
        }
    }
}
