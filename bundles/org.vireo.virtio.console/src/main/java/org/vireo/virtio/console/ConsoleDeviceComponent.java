package org.vireo.virtio.console;

import java.io.IOException;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
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
import org.vireo.virtio.console.link.HostConsoleLink;
import org.vireo.virtio.device.DeviceServiceProperties;
import org.vireo.virtio.device.VirtioDevice;

/**
 * One virtio-console device per factory configuration {@code org.vireo.virtio.console}, registered as a
 * {@link VirtioDevice} service; with a {@code link:NAME} backend the host end is registered too, as a
 * {@link HostConsoleLink} service with {@code link.name=NAME}. A bad configuration is logged and registers nothing.
 */
@Component(configurationPid = ConsoleDeviceComponent.PID, configurationPolicy = ConfigurationPolicy.REQUIRE, service = {})
@Designate(ocd = ConsoleDeviceComponent.Config.class, factory = true)
public final class ConsoleDeviceComponent {
    public static final String PID = "org.vireo.virtio.console";

    private static final System.Logger LOG = System.getLogger(ConsoleDeviceComponent.class.getName());

    @ObjectClassDefinition(name = "Vireo virtio console",
            description = "A single-port virtio-console connected to stdio, a file, or an in-JVM link")
    public @interface Config {
        @AttributeDefinition(name = "Device name", description = "User-facing name of this device, e.g. console0")
        String virtio_device_name() default "console";

        @AttributeDefinition(name = "Machine", description = "Name of the machine (machine.name) this device is plugged into")
        String machine_name() default "java";

        @AttributeDefinition(name = "Transport", description = "How the guest sees the device: virtio-mmio or virtio-pci",
                options = {@Option(label = "virtio-mmio", value = "mmio"), @Option(label = "virtio-pci", value = "pci")})
        String virtio_transport() default "mmio";

        @AttributeDefinition(name = "Backend", required = false,
                description = "stdio (System.out, input from System.in), file:PATH (output appended to PATH, no input) or "
                        + "link:NAME (in-JVM link, host end is the HostConsoleLink service with link.name=NAME); empty: link:<device name>")
        String backend() default "";
    }

    private ConsoleDevice device;
    private ServiceRegistration<HostConsoleLink> linkRegistration;
    private ServiceRegistration<VirtioDevice> registration;

    @Activate
    void activate(BundleContext context, Config config, Map<String, Object> properties) {
        String name = config.virtio_device_name();
        try {
            String transport = DeviceServiceProperties.requireTransport(config.virtio_transport());
            String backendSpec = config.backend() == null || config.backend().isBlank() ? "link:" + name : config.backend().trim();
            ConsoleBackend backend = createBackend(backendSpec);
            device = new ConsoleDevice(backend, name);

            Hashtable<String, Object> props = DeviceServiceProperties.of(properties, VirtioIds.CONSOLE, name, config.machine_name(), transport);
            props.put("backend", backendSpec);
            if (backend instanceof LinkBackend link) {
                Hashtable<String, Object> linkProps = new Hashtable<>();
                linkProps.put(HostConsoleLink.LINK_NAME, link.linkName());
                linkProps.put(VirtioProperties.DEVICE_NAME, name);
                linkProps.put(VirtioProperties.MACHINE, config.machine_name());
                linkRegistration = context.registerService(HostConsoleLink.class, link, linkProps);
            }
            registration = context.registerService(VirtioDevice.class, device, props);
        } catch (IOException | IllegalArgumentException e) {
            LOG.log(System.Logger.Level.ERROR, "virtio-console '" + name + "' not created: " + e.getMessage());
            deactivate();
        }
    }

    static ConsoleBackend createBackend(String spec) throws IOException {
        if (spec.equals("stdio")) return StdioBackend.system();
        if (spec.startsWith("link:") && spec.length() > "link:".length()) return new LinkBackend(spec.substring(5));
        if (spec.startsWith("file:") && spec.length() > "file:".length()) {
            try {
                return new FileBackend(Path.of(spec.substring(5)));
            } catch (InvalidPathException e) {
                throw new IllegalArgumentException("bad console file path \"" + spec.substring(5) + "\": " + e.getMessage());
            }
        }
        throw new IllegalArgumentException("unknown backend \"" + spec + "\": use stdio, file:PATH or link:NAME");
    }

    @Deactivate
    void deactivate() {
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
}
