package org.vireo.virtio.blk;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.vireo.virtio.VirtioIds;
import org.vireo.virtio.VirtioProperties;
import org.vireo.virtio.device.VirtioDevice;
import org.vireo.virtio.testkit.FakeBundleContext;

public class BlockDeviceComponentTest {
    @Rule public TemporaryFolder tmp = new TemporaryFolder();

    private final FakeBundleContext fw = new FakeBundleContext();

    private BlockDeviceComponent activate(Map<String, Object> values) {
        Map<String, Object> props = new HashMap<>();
        BlockDeviceComponent.Config config = FakeBundleContext.config(BlockDeviceComponent.Config.class, values, props);
        BlockDeviceComponent c = new BlockDeviceComponent();
        c.activate(fw.context, props);
        return c;
    }

    @Test
    public void registersTheDeviceWithDefaultProperties() throws Exception {
        Path img = tmp.newFile().toPath();
        Files.write(img, new byte[4096]);
        BlockDeviceComponent c = activate(Map.of("path", img.toString()));
        var regs = fw.live(VirtioDevice.class.getName());
        assertEquals(1, regs.size());
        Map<String, Object> p = regs.get(0).properties();
        assertEquals(VirtioIds.BLOCK, p.get(VirtioProperties.DEVICE_ID));
        assertEquals("disk", p.get(VirtioProperties.DEVICE_NAME));
        assertEquals("java", p.get(VirtioProperties.MACHINE));
        assertEquals("mmio", p.get(VirtioProperties.TRANSPORT));
        VirtioDevice dev = (VirtioDevice) regs.get(0).service();
        assertEquals(8, dev.readConfig(BlockDevice.CFG_CAPACITY, 4));
        c.deactivate();
        assertTrue(fw.live(VirtioDevice.class.getName()).isEmpty());
        RawImage.open(img, false).close();   // the image lock was released
    }

    @Test
    public void configuredPropertiesReachTheService() throws Exception {
        Path img = tmp.newFile().toPath();
        Files.write(img, new byte[512]);
        activate(Map.of("path", img.toString(), "virtio.device.name", "disk7", "machine.name", "vm1",
                "virtio.transport", "pci", "readonly", true, "custom.tag", "x"));
        Map<String, Object> p = fw.live(VirtioDevice.class.getName()).get(0).properties();
        assertEquals("disk7", p.get(VirtioProperties.DEVICE_NAME));
        assertEquals("vm1", p.get(VirtioProperties.MACHINE));
        assertEquals("pci", p.get(VirtioProperties.TRANSPORT));
        assertEquals("x", p.get("custom.tag"));
        assertEquals("disk7", p.get("serial"));
        VirtioDevice dev = (VirtioDevice) fw.live(VirtioDevice.class.getName()).get(0).service();
        assertTrue(dev.describe(), dev.describe().endsWith("ro"));
    }

    @Test
    public void missingImageRegistersNothing() {
        BlockDeviceComponent c = activate(Map.of("path", tmp.getRoot().toPath().resolve("nope.img").toString()));
        assertTrue(fw.registrations.isEmpty());
        c.deactivate();
    }

    @Test
    public void missingPathOrBadTransportRegistersNothing() throws Exception {
        activate(Map.of());
        Path img = tmp.newFile().toPath();
        activate(Map.of("path", img.toString(), "virtio.transport", "usb"));
        activate(Map.of("path", tmp.getRoot().toString()));   // a directory
        assertTrue(fw.registrations.isEmpty());
        RawImage.open(img, false).close();   // nothing kept the image open
    }
}
