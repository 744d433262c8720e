package org.vireo.virtio.fs;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.HashMap;
import java.util.Map;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.vireo.virtio.VirtioProperties;
import org.vireo.virtio.device.VirtioDevice;
import org.vireo.virtio.testkit.FakeBundleContext;

public class FsDeviceComponentTest {
    @Rule public TemporaryFolder tmp = new TemporaryFolder();

    private final FakeBundleContext fw = new FakeBundleContext();

    private FsDeviceComponent activate(Map<String, Object> values) {
        Map<String, Object> props = new HashMap<>();
        FsDeviceComponent.Config config = FakeBundleContext.config(FsDeviceComponent.Config.class, values, props);
        FsDeviceComponent c = new FsDeviceComponent();
        c.activate(fw.context, props);
        return c;
    }

    @Test
    public void registersWithTagAndDefaults() throws Exception {
        String dir = tmp.getRoot().toPath().toRealPath().toString();
        FsDeviceComponent c = activate(Map.of("path", dir, "tag", "hostshare", "virtio.device.name", "fs0"));
        var devices = fw.live(VirtioDevice.class.getName());
        assertEquals(1, devices.size());
        Map<String, Object> p = devices.get(0).properties();
        assertEquals(FsDevice.DEVICE_ID, p.get(VirtioProperties.DEVICE_ID));
        assertEquals("fs0", p.get(VirtioProperties.DEVICE_NAME));
        assertEquals("mmio", p.get(VirtioProperties.TRANSPORT));
        assertEquals("hostshare", p.get("tag"));
        assertEquals(dir, p.get("path"));
        assertEquals(false, p.get("readonly"));
        c.deactivate();
        assertTrue(fw.live(VirtioDevice.class.getName()).isEmpty());
    }

    @Test
    public void theTagDefaultsToTheDeviceName() {
        activate(Map.of("path", tmp.getRoot().toString(), "virtio.device.name", "share0", "readonly", true));
        Map<String, Object> p = fw.live(VirtioDevice.class.getName()).get(0).properties();
        assertEquals("share0", p.get("tag"));
        assertEquals(true, p.get("readonly"));
    }

    @Test
    public void badConfigurationsRegisterNothing() throws Exception {
        activate(Map.of("path", tmp.getRoot().toPath().resolve("missing").toString()));
        activate(Map.of("path", tmp.newFile().toString()));
        activate(Map.of("path", tmp.getRoot().toString(), "tag", "x".repeat(37)));
        activate(Map.of("path", tmp.getRoot().toString(), "virtio.transport", "isa"));
        activate(Map.of("path", tmp.getRoot().toString(), "max.nodes", 1));
        assertTrue(fw.registrations.isEmpty());
    }
}
