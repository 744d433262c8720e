package org.vireo.virtio.fs;

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
 * One virtio-fs device per factory configuration {@code org.vireo.virtio.fs}, registered as a {@link VirtioDevice}
 * service for the transports to plug, made by {@link FsKind} (the kind a run without a framework uses too). A bad configuration (missing directory, bad tag or transport) is logged and
 * registers nothing.
 */
@Component(configurationPid = FsDeviceComponent.PID, configurationPolicy = ConfigurationPolicy.REQUIRE, service = {})
@Designate(ocd = FsDeviceComponent.Config.class, factory = true)
public final class FsDeviceComponent {
    public static final String PID = "org.vireo.virtio.fs";


    @ObjectClassDefinition(name = "Vireo virtio file system device",
            description = "A host directory shared with the guest (virtio-fs, FUSE served inside the VMM)")
    public @interface Config {
        @AttributeDefinition(name = "Device name", description = "User-facing name of this device, e.g. fs0")
        String virtio_device_name() default "fs";

        @AttributeDefinition(name = "Machine", description = "Name of the machine (machine.name) this device is plugged into")
        String machine_name() default "java";

        @AttributeDefinition(name = "Transport", description = "How the guest sees the device: virtio-mmio or virtio-pci",
                options = {@Option(label = "virtio-mmio", value = "mmio"), @Option(label = "virtio-pci", value = "pci")})
        String virtio_transport() default "mmio";

        @AttributeDefinition(name = "Directory", description = "The host directory to share; must exist. Nothing outside it is reachable from the guest")
        String path();

        @AttributeDefinition(name = "Tag", description = "What the guest mounts: mount -t virtiofs TAG /mnt (1 to 36 bytes); empty: the device name", required = false)
        String tag() default "";

        @AttributeDefinition(name = "Read-only", description = "Refuse every change with EROFS", required = false)
        boolean readonly() default false;

        @AttributeDefinition(name = "Node limit", description = "Inodes the guest may hold at once (ENFILE beyond)", required = false)
        int max_nodes() default FsServer.DEFAULT_MAX_NODES;

        @AttributeDefinition(name = "Handle limit", description = "Files and directories the guest may hold open at once (ENFILE beyond)", required = false)
        int max_handles() default FsServer.DEFAULT_MAX_HANDLES;
    }

    private final FsKind kind = new FsKind();
    private DeviceRegistration registration;

    @Activate
    void activate(BundleContext context, Map<String, Object> properties) {
        registration = DeviceRegistration.registerOrLog(context, kind, properties);
    }

    @Deactivate
    void deactivate() {
        if (registration != null) {
            // Unregistering makes the transports unplug (and reset) the device before its files close.
            registration.close();
            registration = null;
        }
    }
}
