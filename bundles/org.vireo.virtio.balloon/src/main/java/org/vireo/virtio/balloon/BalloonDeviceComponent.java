package org.vireo.virtio.balloon;

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
 * One virtio-balloon device per factory configuration {@code org.vireo.virtio.balloon}, registered as a
 * {@link VirtioDevice} service (with {@code virtio.kind=balloon}, which dev:balloon finds it by), made by
 * {@link BalloonKind} (the kind a run without a framework uses too). A bad configuration is logged and registers
 * nothing.
 */
@Component(configurationPid = BalloonDeviceComponent.PID, configurationPolicy = ConfigurationPolicy.REQUIRE, service = {})
@Designate(ocd = BalloonDeviceComponent.Config.class, factory = true)
public final class BalloonDeviceComponent {
    public static final String PID = "org.vireo.virtio.balloon";


    @ObjectClassDefinition(name = "Vireo virtio memory balloon",
            description = "A virtio-balloon device: the host sets how much memory the guest gives back; statistics and free page reporting")
    public @interface Config {
        @AttributeDefinition(name = "Device name", description = "User-facing name of this device, e.g. balloon0")
        String virtio_device_name() default "balloon";

        @AttributeDefinition(name = "Machine", description = "Name of the machine (machine.name) this device is plugged into")
        String machine_name() default "java";

        @AttributeDefinition(name = "Transport", description = "How the guest sees the device: virtio-mmio or virtio-pci",
                options = {@Option(label = "virtio-mmio", value = "mmio"), @Option(label = "virtio-pci", value = "pci")})
        String virtio_transport() default "mmio";

        @AttributeDefinition(name = "Target (MiB)", required = false, min = "0",
                description = "The balloon's size to start with: memory the guest gives back (dev:balloon NAME SIZE changes it)")
        int target_mib() default 0;

        @AttributeDefinition(name = "Deflate on OOM", required = false,
                description = "Offer VIRTIO_BALLOON_F_DEFLATE_ON_OOM: the guest may take pages back when it runs out of memory "
                        + "(its MemTotal then does not shrink as the balloon inflates)")
        boolean deflate_on_oom() default false;

        @AttributeDefinition(name = "Free page reporting", required = false,
                description = "Offer VIRTIO_BALLOON_F_PAGE_REPORTING: the guest reports free memory, which goes back to the host")
        boolean reporting() default true;

        @AttributeDefinition(name = "Control socket", required = false,
                description = "A Unix domain socket path where host programs set the target and read statistics, one "
                        + "command a line: 'target SIZE' (bytes, or with K, M or G), 'stats'; empty: none")
        String control() default "";
    }

    private final BalloonKind kind = new BalloonKind();
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
