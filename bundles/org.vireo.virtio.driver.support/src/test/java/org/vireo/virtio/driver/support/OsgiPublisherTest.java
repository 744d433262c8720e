package org.vireo.virtio.driver.support;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;

import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import org.junit.After;
import org.junit.Test;
import org.vireo.virtio.VirtioIds;
import org.vireo.virtio.VirtioProperties;
import org.vireo.virtio.driver.VirtioDriverDevice;
import org.vireo.virtio.testkit.FakeBundleContext;
import org.vireo.virtio.testkit.FakeDevice;

public class OsgiPublisherTest {
    /** The service type a driver would publish. */
    interface Widget {}

    private final FakeBundleContext fw = new FakeBundleContext();
    private final FakeDevice device = new FakeDevice(VirtioIds.RNG);
    private final OsgiPublisher<Widget> publisher = new OsgiPublisher<>(fw.context, Widget.class);

    @After
    public void tearDown() throws Exception {
        device.close();
    }

    private void registerDriverDevice(VirtioDriverDevice d, String machine, String deviceName) {
        Hashtable<String, Object> props = new Hashtable<>();
        props.put(VirtioProperties.DEVICE_ID, d.deviceId());
        props.put(VirtioProperties.MACHINE, machine);
        props.put(VirtioProperties.DEVICE_NAME, deviceName);
        fw.context.registerService(VirtioDriverDevice.class, d, props);
    }

    @Test
    public void copiesMachineAndDeviceNameFromTheDevicesOwnRegistration() throws Exception {
        try (FakeDevice other = new FakeDevice(VirtioIds.RNG)) {
            registerDriverDevice(other, "elsewhere", "rng9");   // same id, another device: not ours
            registerDriverDevice(device, "vm1", "rng0");
            Widget widget = new Widget() {};
            ServicePublisher.Published published = publisher.publish(device, widget);
            List<FakeBundleContext.Registered> live = fw.live(Widget.class.getName());
            assertEquals(1, live.size());
            assertSame(widget, live.get(0).service());
            assertEquals(Map.of(OsgiPublisher.DRIVER_DEVICE, "fake/dev", VirtioProperties.TRANSPORT, "fake",
                    VirtioProperties.DEVICE_ID, VirtioIds.RNG, VirtioProperties.MACHINE, "vm1",
                    VirtioProperties.DEVICE_NAME, "rng0"), live.get(0).properties());
            published.withdraw();
            assertTrue(fw.live(Widget.class.getName()).isEmpty());
            published.withdraw();   // already gone: no exception
        }
    }

    @Test
    public void withoutARegistrationTheMachineComesFromTheName() {
        publisher.publish(device, new Widget() {});
        Map<String, Object> props = fw.live(Widget.class.getName()).get(0).properties();
        assertEquals("fake", props.get(VirtioProperties.MACHINE));
        assertFalse(props.containsKey(VirtioProperties.DEVICE_NAME));
    }

    @Test
    public void machineFromDriverSideNames() {
        assertEquals("java", OsgiPublisher.machineFromName("java/mmio@0xd0000000"));
        assertEquals("a/b", OsgiPublisher.machineFromName("a/b/pci@00:01.0"));
        assertEquals("", OsgiPublisher.machineFromName("noslash"));
        assertEquals("", OsgiPublisher.machineFromName("/leading"));
    }
}
