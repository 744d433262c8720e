package org.vireo.virtio.vsock;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.vireo.virtio.VirtioProperties;
import org.vireo.virtio.device.VirtioDevice;
import org.vireo.virtio.testkit.FakeBundleContext;

public class VsockDeviceComponentTest {
    @Rule public TemporaryFolder tmp = new TemporaryFolder();

    private final FakeBundleContext fw = new FakeBundleContext();

    private VsockDeviceComponent activate(Map<String, Object> values) {
        Map<String, Object> props = new HashMap<>();
        FakeBundleContext.config(VsockDeviceComponent.Config.class, values, props);
        VsockDeviceComponent c = new VsockDeviceComponent();
        c.activate(fw.context, props);
        return c;
    }

    @Test
    public void registersADeviceListeningOnItsPath() {
        Path sock = tmp.getRoot().toPath().resolve("v.sock");
        VsockDeviceComponent c = activate(Map.of("cid", 42L, "path", sock.toString(), "virtio.device.name", "vsock0"));
        var devices = fw.live(VirtioDevice.class.getName());
        assertEquals(1, devices.size());
        Map<String, Object> p = devices.get(0).properties();
        assertEquals(VsockDevice.DEVICE_ID, p.get(VirtioProperties.DEVICE_ID));
        assertEquals("vsock0", p.get(VirtioProperties.DEVICE_NAME));
        assertEquals(42L, p.get("cid"));
        assertEquals(sock.toString(), p.get("path"));
        assertTrue("listening", Files.exists(sock));
        c.deactivate();
        assertTrue(fw.live(VirtioDevice.class.getName()).isEmpty());
        assertFalse("the socket file is removed", Files.exists(sock));
    }

    @Test
    public void badConfigurationsRegisterNothing() {
        Path sock = tmp.getRoot().toPath().resolve("v.sock");
        activate(Map.of("cid", 2L, "path", sock.toString()));
        activate(Map.of("cid", 3L));
        activate(Map.of("cid", 3L, "path", tmp.getRoot().toPath().resolve("no/such/dir/v.sock").toString()));
        activate(Map.of("cid", 3L, "path", sock.toString(), "virtio.transport", "isa"));
        assertTrue(fw.registrations.isEmpty());
        assertFalse(Files.exists(sock));
    }
}
