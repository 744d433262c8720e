package org.vireo.virtio.blk;

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
 * One virtio-blk device per factory configuration {@code org.vireo.virtio.blk}, registered as a {@link VirtioDevice}
 * service for the transports to plug, made by {@link BlockKind} (the kind a run without a framework uses too). A bad configuration (missing image, bad transport) is logged and registers
 * nothing.
 */
@Component(configurationPid = BlockDeviceComponent.PID, configurationPolicy = ConfigurationPolicy.REQUIRE, service = {})
@Designate(ocd = BlockDeviceComponent.Config.class, factory = true)
public final class BlockDeviceComponent {
    public static final String PID = "org.vireo.virtio.blk";


    @ObjectClassDefinition(name = "Vireo virtio block device",
            description = "A virtio-blk disk backed by a raw image file")
    public @interface Config {
        @AttributeDefinition(name = "Device name", description = "User-facing name of this device, e.g. disk0")
        String virtio_device_name() default "disk";

        @AttributeDefinition(name = "Machine", description = "Name of the machine (machine.name) this device is plugged into")
        String machine_name() default "java";

        @AttributeDefinition(name = "Transport", description = "How the guest sees the device: virtio-mmio or virtio-pci",
                options = {@Option(label = "virtio-mmio", value = "mmio"), @Option(label = "virtio-pci", value = "pci")})
        String virtio_transport() default "mmio";

        @AttributeDefinition(name = "Image path", description = "Raw disk image file; must exist. Its size in whole 512-byte sectors is the disk capacity")
        String path();

        @AttributeDefinition(name = "Read-only", description = "Expose the disk read-only (VIRTIO_BLK_F_RO); writes fail", required = false)
        boolean readonly() default false;

        @AttributeDefinition(name = "Serial", description = "Serial number returned to GET_ID (up to 20 bytes); empty: the device name", required = false)
        String serial() default "";
    }

    private final BlockKind kind = new BlockKind();
    private DeviceRegistration registration;

    @Activate
    void activate(BundleContext context, Map<String, Object> properties) {
        registration = DeviceRegistration.registerOrLog(context, kind, properties);
    }

    @Deactivate
    void deactivate() {
        if (registration != null) {
            // Unregistering makes the transports unplug (and reset) the device before its image closes.
            registration.close();
            registration = null;
        }
    }
}
