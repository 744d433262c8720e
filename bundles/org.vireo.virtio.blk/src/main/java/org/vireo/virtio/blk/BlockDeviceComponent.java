package org.vireo.virtio.blk;

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
import org.vireo.virtio.VirtioIds;
import org.vireo.virtio.device.DeviceServiceProperties;
import org.vireo.virtio.device.VirtioDevice;

/**
 * One virtio-blk device per factory configuration {@code org.vireo.virtio.blk}, registered as a {@link VirtioDevice}
 * service for the transports to plug. A bad configuration (missing image, bad transport) is logged and registers
 * nothing.
 */
@Component(configurationPid = BlockDeviceComponent.PID, configurationPolicy = ConfigurationPolicy.REQUIRE, service = {})
@Designate(ocd = BlockDeviceComponent.Config.class, factory = true)
public final class BlockDeviceComponent {
    public static final String PID = "org.vireo.virtio.blk";

    private static final System.Logger LOG = System.getLogger(BlockDeviceComponent.class.getName());

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

    private BlockDevice device;
    private ServiceRegistration<VirtioDevice> registration;

    @Activate
    void activate(BundleContext context, Config config, Map<String, Object> properties) {
        String name = config.virtio_device_name();
        try {
            String transport = DeviceServiceProperties.requireTransport(config.virtio_transport());
            if (config.path() == null || config.path().isBlank()) throw new IllegalArgumentException("no image path configured (property 'path')");
            Path path = Path.of(config.path());
            String serial = config.serial() == null || config.serial().isEmpty() ? name : config.serial();
            RawImage image = RawImage.open(path, config.readonly());
            device = new BlockDevice(image, serial, name);
            Hashtable<String, Object> props = DeviceServiceProperties.of(properties, VirtioIds.BLOCK, name, config.machine_name(), transport);
            props.put("path", path.toString());
            props.put("readonly", config.readonly());
            props.put("serial", serial);
            registration = context.registerService(VirtioDevice.class, device, props);
        } catch (NoSuchFileException e) {
            fail(name, "disk image " + e.getFile() + " does not exist");
        } catch (IOException | IllegalArgumentException e) {
            fail(name, e.getMessage());
        }
    }

    private void fail(String name, String message) {
        LOG.log(System.Logger.Level.ERROR, "virtio-blk '" + name + "' not created: " + message);
        closeDevice();
    }

    @Deactivate
    void deactivate() {
        if (registration != null) {
            // Unregistering makes the transports unplug (and reset) the device before its image closes.
            registration.unregister();
            registration = null;
        }
        closeDevice();
    }

    private void closeDevice() {
        if (device == null) return;
        try {
            device.backend().close();
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "virtio-blk: closing " + device.backend().location() + " failed: " + e.getMessage());
        }
        device = null;
    }
}
