package org.vireo.virtio.net;

import java.io.IOException;
import java.util.Hashtable;
import java.util.Map;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.osgi.service.metatype.annotations.Option;
import org.vireo.virtio.VirtioProperties;
import org.vireo.virtio.device.VirtioDevice;
import org.vireo.virtio.kind.DeviceRegistration;
import org.vireo.virtio.kind.Setting;
import org.vireo.virtio.kind.Settings;
import org.vireo.virtio.net.link.HostFrameLink;

/**
 * One virtio-net device per factory configuration {@code org.vireo.virtio.net}, registered as a {@link VirtioDevice}
 * service; with a {@code link:NAME} backend the host end is registered too, as a {@link HostFrameLink} service with
 * {@code link.name=NAME}. The device is made by {@link NetKind} (the kind a run without a framework uses too). A bad configuration (bad MAC, unknown backend, TAP not permitted) is logged and registers
 * nothing.
 */
@Component(configurationPid = NetDeviceComponent.PID, configurationPolicy = ConfigurationPolicy.REQUIRE, service = {})
@Designate(ocd = NetDeviceComponent.Config.class, factory = true)
public final class NetDeviceComponent {
    public static final String PID = "org.vireo.virtio.net";

    private static final System.Logger LOG = System.getLogger(NetDeviceComponent.class.getName());

    @ObjectClassDefinition(name = "Vireo virtio network device",
            description = "A virtio-net NIC attached to an in-JVM link, a Linux TAP interface, user-mode networking, or nothing")
    public @interface Config {
        @AttributeDefinition(name = "Device name", description = "User-facing name of this device, e.g. net0")
        String virtio_device_name() default "net";

        @AttributeDefinition(name = "Machine", description = "Name of the machine (machine.name) this device is plugged into")
        String machine_name() default "java";

        @AttributeDefinition(name = "Transport", description = "How the guest sees the device: virtio-mmio or virtio-pci",
                options = {@Option(label = "virtio-mmio", value = "mmio"), @Option(label = "virtio-pci", value = "pci")})
        String virtio_transport() default "mmio";

        @AttributeDefinition(name = "Backend", required = false,
                description = "link:NAME (in-JVM link, host end is the HostFrameLink service with link.name=NAME), "
                        + "tap:IFNAME (Linux TAP, needs CAP_NET_ADMIN), "
                        + "user (user-mode networking on libslirp: guest network 10.0.2.0/24, DHCP, gateway 10.0.2.2 = host 127.0.0.1; "
                        + "options ,hostfwd=tcp:127.0.0.1:HOSTPORT-:GUESTPORT (loopback only, repeatable) and ,restrict=on) "
                        + "or none; empty: link:<device name>")
        String backend() default "";

        @AttributeDefinition(name = "MAC address", required = false,
                description = "The NIC's address, e.g. 52:54:00:12:34:56; empty: derived from the machine and device names")
        String mac() default "";
    }

    private final NetKind kind = new NetKind();
    private DeviceRegistration registration;
    private ServiceRegistration<HostFrameLink> linkRegistration;

    @Activate
    void activate(BundleContext context, Map<String, Object> properties) {
        Settings settings = Settings.of(kind.settings(), properties);
        String name = settings.string(Setting.DEVICE_NAME);
        try {
            registration = DeviceRegistration.create(context, kind, properties);
            if (((NetDevice) registration.instance().device()).backend() instanceof LinkBackend link) {
                Hashtable<String, Object> linkProps = new Hashtable<>();
                linkProps.put(HostFrameLink.LINK_NAME, link.linkName());
                linkProps.put(VirtioProperties.DEVICE_NAME, name);
                linkProps.put(VirtioProperties.MACHINE, settings.string(Setting.MACHINE));
                linkRegistration = context.registerService(HostFrameLink.class, link, linkProps);
            }
            registration.publish();
        } catch (IOException | IllegalArgumentException e) {
            LOG.log(System.Logger.Level.ERROR, "virtio-net '" + name + "' not created: " + e.getMessage());
            deactivate();
        }
    }

    @Deactivate
    void deactivate() {
        if (linkRegistration != null) {
            linkRegistration.unregister();
            linkRegistration = null;
        }
        if (registration != null) {
            // The device service goes before its backend closes, so the transports unplug (reset) the device first.
            registration.close();
            registration = null;
        }
    }
}
