package org.vireo.virtio.fs;

import java.io.IOException;
import java.nio.file.NoSuchFileException;
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
import org.vireo.virtio.device.DeviceServiceProperties;
import org.vireo.virtio.device.VirtioDevice;

/**
 * One virtio-fs device per factory configuration {@code org.vireo.virtio.fs}, registered as a {@link VirtioDevice}
 * service for the transports to plug. A bad configuration (missing directory, bad tag or transport) is logged and
 * registers nothing.
 */
@Component(configurationPid = FsDeviceComponent.PID, configurationPolicy = ConfigurationPolicy.REQUIRE, service = {})
@Designate(ocd = FsDeviceComponent.Config.class, factory = true)
public final class FsDeviceComponent {
    public static final String PID = "org.vireo.virtio.fs";

    private static final System.Logger LOG = System.getLogger(FsDeviceComponent.class.getName());

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

    private FsDevice device;
    private ServiceRegistration<VirtioDevice> registration;

    @Activate
    void activate(BundleContext context, Config config, Map<String, Object> properties) {
        String name = config.virtio_device_name();
        try {
            String transport = DeviceServiceProperties.requireTransport(config.virtio_transport());
            if (config.path() == null || config.path().isBlank()) throw new IllegalArgumentException("no directory configured (property 'path')");
            if (config.max_nodes() < 2 || config.max_handles() < 1) throw new IllegalArgumentException("max.nodes must be at least 2 and max.handles at least 1");
            String tag = config.tag() == null || config.tag().isEmpty() ? name : config.tag();
            Path path = Path.of(config.path());
            device = new FsDevice(path, tag, config.readonly(), name, config.max_nodes(), config.max_handles());
            Hashtable<String, Object> props = DeviceServiceProperties.of(properties, FsDevice.DEVICE_ID, name, config.machine_name(), transport);
            props.put("path", device.directory().toString());
            props.put("tag", tag);
            props.put("readonly", config.readonly());
            registration = context.registerService(VirtioDevice.class, device, props);
        } catch (NoSuchFileException e) {
            fail(name, "directory " + e.getFile() + " does not exist");
        } catch (IOException | IllegalArgumentException e) {
            fail(name, e.getMessage());
        }
    }

    private void fail(String name, String message) {
        LOG.log(System.Logger.Level.ERROR, "virtio-fs '" + name + "' not created: " + message);
        closeDevice();
    }

    @Deactivate
    void deactivate() {
        if (registration != null) {
            // Unregistering makes the transports unplug (and reset) the device before its files close.
            registration.unregister();
            registration = null;
        }
        closeDevice();
    }

    private void closeDevice() {
        if (device != null) device.close();
        device = null;
    }
}
