package org.vireo.virtio.console;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.HashMap;
import java.util.Map;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.vireo.virtio.VirtioIds;
import org.vireo.virtio.VirtioProperties;
import org.vireo.virtio.console.link.HostConsoleLink;
import org.vireo.virtio.device.VirtioDevice;
import org.vireo.virtio.testkit.FakeBundleContext;

public class ConsoleDeviceComponentTest {
    @Rule public TemporaryFolder tmp = new TemporaryFolder();

    private final FakeBundleContext fw = new FakeBundleContext();

    private ConsoleDeviceComponent activate(Map<String, Object> values) {
        Map<String, Object> props = new HashMap<>();
        ConsoleDeviceComponent.Config config = FakeBundleContext.config(ConsoleDeviceComponent.Config.class, values, props);
        ConsoleDeviceComponent c = new ConsoleDeviceComponent();
        c.activate(fw.context, props);
        return c;
    }

    @Test
    public void defaultsGiveALinkNamedAfterTheDevice() {
        ConsoleDeviceComponent c = activate(Map.of());
        var devices = fw.live(VirtioDevice.class.getName());
        assertEquals(1, devices.size());
        Map<String, Object> p = devices.get(0).properties();
        assertEquals(VirtioIds.CONSOLE, p.get(VirtioProperties.DEVICE_ID));
        assertEquals("console", p.get(VirtioProperties.DEVICE_NAME));
        assertEquals("java", p.get(VirtioProperties.MACHINE));
        assertEquals("mmio", p.get(VirtioProperties.TRANSPORT));
        assertEquals("console", fw.live(HostConsoleLink.class.getName()).get(0).properties().get(HostConsoleLink.LINK_NAME));
        c.deactivate();
        assertTrue(fw.live(VirtioDevice.class.getName()).isEmpty());
        assertTrue(fw.live(HostConsoleLink.class.getName()).isEmpty());
    }

    @Test
    public void fileBackendCreatesTheFile() throws Exception {
        var file = tmp.getRoot().toPath().resolve("console.log");
        ConsoleDeviceComponent c = activate(Map.of("backend", "file:" + file, "virtio.device.name", "hvc0"));
        assertEquals(1, fw.live(VirtioDevice.class.getName()).size());
        assertTrue(fw.live(HostConsoleLink.class.getName()).isEmpty());
        assertTrue(java.nio.file.Files.exists(file));
        c.deactivate();
    }

    @Test
    public void badConfigurationRegistersNothing() {
        activate(Map.of("backend", "serial:ttyS0"));
        activate(Map.of("backend", "file:" + tmp.getRoot().toPath().resolve("no/such/dir/log")));
        activate(Map.of("backend", "link:"));
        activate(Map.of("virtio.transport", "isa"));
        assertTrue(fw.registrations.isEmpty());
    }
}
