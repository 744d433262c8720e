package org.vireo.virtio.net;

import org.vireo.virtio.testkit.FakeBundleContext;
import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;

import java.util.HashMap;
import java.util.Map;
import org.junit.Test;
import org.vireo.virtio.VirtioIds;
import org.vireo.virtio.VirtioProperties;
import org.vireo.virtio.device.VirtioDevice;
import org.vireo.virtio.net.link.HostFrameLink;

public class NetDeviceComponentTest {
    private final FakeBundleContext fw = new FakeBundleContext();

    private NetDeviceComponent activate(Map<String, Object> values) {
        Map<String, Object> props = new HashMap<>();
        NetDeviceComponent.Config config = FakeBundleContext.config(NetDeviceComponent.Config.class, values, props);
        NetDeviceComponent c = new NetDeviceComponent();
        c.activate(fw.context, props);
        return c;
    }

    @Test
    public void defaultsGiveALinkNamedAfterTheDevice() {
        NetDeviceComponent c = activate(Map.of());
        var devices = fw.live(VirtioDevice.class.getName());
        assertEquals(1, devices.size());
        Map<String, Object> p = devices.get(0).properties();
        assertEquals(VirtioIds.NET, p.get(VirtioProperties.DEVICE_ID));
        assertEquals("net", p.get(VirtioProperties.DEVICE_NAME));
        assertEquals("java", p.get(VirtioProperties.MACHINE));
        assertEquals("mmio", p.get(VirtioProperties.TRANSPORT));
        assertEquals("link:net", p.get("backend"));
        var links = fw.live(HostFrameLink.class.getName());
        assertEquals(1, links.size());
        assertEquals("net", links.get(0).properties().get(HostFrameLink.LINK_NAME));
        NetDevice dev = (NetDevice) devices.get(0).service();
        assertArrayEquals(MacAddress.derive("java/net"), dev.mac());
        assertEquals(0x52, dev.readConfig(NetDevice.CFG_MAC, 1));
        c.deactivate();
        assertTrue(fw.live(VirtioDevice.class.getName()).isEmpty());
        assertTrue(fw.live(HostFrameLink.class.getName()).isEmpty());
    }

    @Test
    public void configuredMacAndLinkAreUsed() {
        activate(Map.of("virtio.device.name", "net1", "backend", "link:lan", "mac", "52:54:00:AB:cd:01", "virtio.transport", "pci"));
        NetDevice dev = (NetDevice) fw.live(VirtioDevice.class.getName()).get(0).service();
        assertArrayEquals(new byte[] {0x52, 0x54, 0, (byte) 0xab, (byte) 0xcd, 1}, dev.mac());
        assertEquals("lan", fw.live(HostFrameLink.class.getName()).get(0).properties().get(HostFrameLink.LINK_NAME));
        assertEquals("pci", fw.live(VirtioDevice.class.getName()).get(0).properties().get(VirtioProperties.TRANSPORT));
        assertEquals("52:54:00:ab:cd:01", fw.live(VirtioDevice.class.getName()).get(0).properties().get("mac"));
    }

    @Test
    public void noneBackendRegistersNoLink() {
        activate(Map.of("backend", "none"));
        assertEquals(1, fw.live(VirtioDevice.class.getName()).size());
        assertTrue(fw.live(HostFrameLink.class.getName()).isEmpty());
    }

    @Test
    public void badConfigurationRegistersNothing() {
        activate(Map.of("mac", "52:54:00:12:34"));
        activate(Map.of("mac", "01:00:5e:00:00:01"));   // multicast
        activate(Map.of("mac", "52:54:00:12:34:zz"));
        activate(Map.of("backend", "vde:sw0"));
        activate(Map.of("backend", "link:"));
        activate(Map.of("backend", "tap:name-longer-than-15"));
        activate(Map.of("virtio.transport", "isa"));
        assertTrue(fw.registrations.isEmpty());
    }

    @Test
    public void derivedMacsDifferByName() {
        assertNotEquals(MacAddress.format(MacAddress.derive("java/net0")), MacAddress.format(MacAddress.derive("java/net1")));
        assertEquals(0, MacAddress.derive("x")[0] & 1);
    }
}
