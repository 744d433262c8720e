package org.vireo.virtio.net;

import org.vireo.virtio.testkit.FakeBundleContext;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.HashMap;
import java.util.Map;
import org.junit.Test;
import org.vireo.virtio.device.VirtioDevice;
import org.vireo.virtio.net.link.HostFrameLink;
import org.vireo.virtio.net.slirp.SlirpBackend;

/** {@code backend=user...} through the component: the device gets a user-networking backend, no link service. */
public class UserBackendComponentTest {
    private final FakeBundleContext fw = new FakeBundleContext();

    private NetDeviceComponent activate(Map<String, Object> values) {
        Map<String, Object> props = new HashMap<>();
        NetDeviceComponent.Config config = FakeBundleContext.config(NetDeviceComponent.Config.class, values, props);
        NetDeviceComponent c = new NetDeviceComponent();
        c.activate(fw.context, props);
        return c;
    }

    @Test
    public void userBackendIsCreatedAndClosedWithTheComponent() {
        org.junit.Assume.assumeTrue("libslirp is not installed (apt-get install libslirp0): skipped",
                org.vireo.virtio.net.slirp.SlirpBackendTest.libslirpInstalled());
        NetDeviceComponent c = activate(Map.of("virtio.device.name", "net0", "backend", "user"));
        var devices = fw.live(VirtioDevice.class.getName());
        assertEquals(1, devices.size());
        assertEquals("user", devices.get(0).properties().get("backend"));
        NetDevice dev = (NetDevice) devices.get(0).service();
        SlirpBackend backend = (SlirpBackend) dev.backend();
        assertTrue(backend.running());
        assertTrue(dev.describe().contains("user"));
        assertTrue(fw.live(HostFrameLink.class.getName()).isEmpty());
        c.deactivate();
        assertTrue(fw.live(VirtioDevice.class.getName()).isEmpty());
        assertTrue("backend closed with the device", !backend.running());
    }

    @Test
    public void aForwardOffLoopbackRegistersNothing() {
        activate(Map.of("virtio.device.name", "net0", "backend", "user,hostfwd=tcp:0.0.0.0:2222-:22"));
        assertTrue(fw.live(VirtioDevice.class.getName()).isEmpty());
    }

    @Test
    public void anUnknownUserOptionRegistersNothing() {
        activate(Map.of("virtio.device.name", "net0", "backend", "user,smb=/tmp"));
        assertTrue(fw.live(VirtioDevice.class.getName()).isEmpty());
    }
}
