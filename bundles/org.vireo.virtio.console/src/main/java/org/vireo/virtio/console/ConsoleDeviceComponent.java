package org.vireo.virtio.console;

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
import org.vireo.virtio.console.link.HostConsoleLink;
import org.vireo.virtio.device.VirtioDevice;
import org.vireo.virtio.kind.DeviceRegistration;
import org.vireo.virtio.kind.Setting;
import org.vireo.virtio.kind.Settings;

/**
 * One virtio-console device per factory configuration {@code org.vireo.virtio.console}, registered as a
 * {@link VirtioDevice} service; with a {@code link:NAME} backend the host end is registered too, as a
 * {@link HostConsoleLink} service with {@code link.name=NAME}. The device is made by {@link ConsoleKind} (the kind a
 * run without a framework uses too). A bad configuration is logged and registers nothing.
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
                description = "stdio (System.out, input from System.in), file:PATH (output appended to PATH, no input), "
                        + "link:NAME (in-JVM link, host end is the HostConsoleLink service with link.name=NAME) or terminal "
                        + "(output to the terminal of the machine's vireo run, no input); empty: link:<device name>")
        String backend() default "";
    }

    private final ConsoleKind kind = new ConsoleKind();
    private DeviceRegistration registration;
    private ServiceRegistration<HostConsoleLink> linkRegistration;

    @Activate
    void activate(BundleContext context, Map<String, Object> properties) {
        Settings settings = Settings.of(kind.settings(), properties);
        String name = settings.string(Setting.DEVICE_NAME);
        try {
            registration = DeviceRegistration.create(context, kind, properties);
            if (((ConsoleDevice) registration.instance().device()).backend() instanceof LinkBackend link) {
                Hashtable<String, Object> linkProps = new Hashtable<>();
                linkProps.put(HostConsoleLink.LINK_NAME, link.linkName());
                linkProps.put(VirtioProperties.DEVICE_NAME, name);
                linkProps.put(VirtioProperties.MACHINE, settings.string(Setting.MACHINE));
                linkRegistration = context.registerService(HostConsoleLink.class, link, linkProps);
            }
            registration.publish();
        } catch (IOException | IllegalArgumentException e) {
            LOG.log(System.Logger.Level.ERROR, "virtio-console '" + name + "' not created: " + e.getMessage());
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
            registration.close();
            registration = null;
        }
    }
}
