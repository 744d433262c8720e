package org.vireo.virtio.rng;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.HashMap;
import java.util.Map;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.vireo.virtio.VirtioIds;
import org.vireo.virtio.VirtioProperties;
import org.vireo.virtio.device.VirtioDevice;
import org.vireo.virtio.testkit.FakeBundleContext;

public class RngDeviceComponentTest {
    @Rule public TemporaryFolder tmp = new TemporaryFolder();

    private final FakeBundleContext fw = new FakeBundleContext();

    private RngDeviceComponent activate(Map<String, Object> values) {
        Map<String, Object> props = new HashMap<>();
        RngDeviceComponent.Config config = FakeBundleContext.config(RngDeviceComponent.Config.class, values, props);
        RngDeviceComponent c = new RngDeviceComponent();
        c.activate(fw.context, props);
        return c;
    }

    @Test
    public void registersWithDefaults() {
        RngDeviceComponent c = activate(Map.of("source", "securerandom"));
        var devices = fw.live(VirtioDevice.class.getName());
        assertEquals(1, devices.size());
        Map<String, Object> p = devices.get(0).properties();
        assertEquals(VirtioIds.RNG, p.get(VirtioProperties.DEVICE_ID));
        assertEquals("rng", p.get(VirtioProperties.DEVICE_NAME));
        assertEquals("java", p.get(VirtioProperties.MACHINE));
        assertEquals("mmio", p.get(VirtioProperties.TRANSPORT));
        c.deactivate();
        assertTrue(fw.live(VirtioDevice.class.getName()).isEmpty());
    }

    @Test
    public void readsAConfiguredFile() throws Exception {
        var file = tmp.newFile().toPath();
        activate(Map.of("source", file.toString()));
        assertEquals(file.toString(), fw.live(VirtioDevice.class.getName()).get(0).properties().get("source"));
    }

    @Test
    public void missingSourceRegistersNothing() {
        activate(Map.of("source", tmp.getRoot().toPath().resolve("missing").toString()));
        activate(Map.of("source", "securerandom", "virtio.transport", "isa"));
        assertTrue(fw.registrations.isEmpty());
    }
}
