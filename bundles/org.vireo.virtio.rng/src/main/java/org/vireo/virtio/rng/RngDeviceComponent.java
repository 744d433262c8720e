package org.vireo.virtio.rng;

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
 * One virtio-rng device per factory configuration {@code org.vireo.virtio.rng}, registered as a {@link VirtioDevice}
 * service, made by {@link RngKind} (the kind a run without a framework uses too). A bad configuration (missing source
 * file) is logged and registers nothing.
 */
@Component(configurationPid = RngDeviceComponent.PID, configurationPolicy = ConfigurationPolicy.REQUIRE, service = {})
@Designate(ocd = RngDeviceComponent.Config.class, factory = true)
public final class RngDeviceComponent {
    public static final String PID = "org.vireo.virtio.rng";
    /** The {@code source} value that selects the JVM's SecureRandom instead of a file. */
    public static final String SECURE_RANDOM = "securerandom";


    @ObjectClassDefinition(name = "Vireo virtio entropy device", description = "A virtio-rng device feeding the guest random bytes")
    public @interface Config {
        @AttributeDefinition(name = "Device name", description = "User-facing name of this device, e.g. rng0")
        String virtio_device_name() default "rng";

        @AttributeDefinition(name = "Machine", description = "Name of the machine (machine.name) this device is plugged into")
        String machine_name() default "java";

        @AttributeDefinition(name = "Transport", description = "How the guest sees the device: virtio-mmio or virtio-pci",
                options = {@Option(label = "virtio-mmio", value = "mmio"), @Option(label = "virtio-pci", value = "pci")})
        String virtio_transport() default "mmio";

        @AttributeDefinition(name = "Source", required = false,
                description = "File or device to read random bytes from, or \"securerandom\" for the JVM's SecureRandom")
        String source() default "/dev/urandom";
    }

    private final RngKind kind = new RngKind();
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
