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
import org.vireo.virtio.VirtioIds;
import org.vireo.virtio.VirtioProperties;
import org.vireo.virtio.device.VirtioDevice;
import org.vireo.virtio.net.link.HostFrameLink;
import org.vireo.virtio.net.slirp.SlirpBackend;
import org.vireo.virtio.net.slirp.UserNetConfig;

/**
 * One virtio-net device per factory configuration {@code org.vireo.virtio.net}, registered as a {@link VirtioDevice}
 * service; with a {@code link:NAME} backend the host end is registered too, as a {@link HostFrameLink} service with
 * {@code link.name=NAME}. A bad configuration (bad MAC, unknown backend, TAP not permitted) is logged and registers
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

    private NetDevice device;
    private ServiceRegistration<HostFrameLink> linkRegistration;
    private ServiceRegistration<VirtioDevice> registration;

    @Activate
    void activate(BundleContext context, Config config, Map<String, Object> properties) {
        String name = config.virtio_device_name();
        try {
            String transport = requireTransport(config.virtio_transport());
            byte[] mac = config.mac() == null || config.mac().isBlank()
                    ? MacAddress.derive(config.machine_name() + "/" + name)
                    : MacAddress.parse(config.mac());
            String backendSpec = config.backend() == null || config.backend().isBlank() ? "link:" + name : config.backend().trim();
            FrameBackend backend = createBackend(backendSpec);
            device = new NetDevice(mac, backend, name);

            Hashtable<String, Object> props = serviceProperties(properties);
            props.put(VirtioProperties.DEVICE_ID, VirtioIds.NET);
            props.put(VirtioProperties.DEVICE_NAME, name);
            props.put(VirtioProperties.MACHINE, config.machine_name());
            props.put(VirtioProperties.TRANSPORT, transport);
            props.put("backend", backendSpec);
            props.put("mac", MacAddress.format(mac));
            if (backend instanceof LinkBackend link) {
                Hashtable<String, Object> linkProps = new Hashtable<>();
                linkProps.put(HostFrameLink.LINK_NAME, link.linkName());
                linkProps.put(VirtioProperties.DEVICE_NAME, name);
                linkProps.put(VirtioProperties.MACHINE, config.machine_name());
                linkRegistration = context.registerService(HostFrameLink.class, link, linkProps);
            }
            registration = context.registerService(VirtioDevice.class, device, props);
        } catch (IOException | IllegalArgumentException e) {
            LOG.log(System.Logger.Level.ERROR, "virtio-net '" + name + "' not created: " + e.getMessage());
            deactivate();
        }
    }

    static FrameBackend createBackend(String spec) throws IOException {
        if (spec.equals("none")) return new NoneBackend();
        if (spec.startsWith("link:") && spec.length() > "link:".length()) return new LinkBackend(spec.substring(5));
        if (spec.startsWith("tap:") && spec.length() > "tap:".length()) return TapBackend.open(spec.substring(4));
        if (spec.equals("user") || spec.startsWith("user,")) return SlirpBackend.open(UserNetConfig.parse(spec));
        throw new IllegalArgumentException("unknown backend \"" + spec + "\": use link:NAME, tap:IFNAME, user[,hostfwd=...] or none");
    }

    @Deactivate
    void deactivate() {
        // The device service goes first so the transports unplug (reset) the device before its backend closes.
        if (registration != null) {
            registration.unregister();
            registration = null;
        }
        if (linkRegistration != null) {
            linkRegistration.unregister();
            linkRegistration = null;
        }
        if (device != null) {
            device.close();
            device = null;
        }
    }

    static String requireTransport(String transport) {
        if (!"mmio".equals(transport) && !"pci".equals(transport)) {
            throw new IllegalArgumentException("virtio.transport must be \"mmio\" or \"pci\", not \"" + transport + "\"");
        }
        return transport;
    }

    /** The configuration's public properties, as DS would copy them to a service it registered itself. */
    static Hashtable<String, Object> serviceProperties(Map<String, Object> properties) {
        Hashtable<String, Object> props = new Hashtable<>();
        properties.forEach((k, v) -> {
            if (v != null && !k.startsWith(".") && !k.startsWith("component.") && !k.startsWith("service.")) props.put(k, v);
        });
        return props;
    }
}
