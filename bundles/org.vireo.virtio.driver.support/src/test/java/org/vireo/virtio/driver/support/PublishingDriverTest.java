package org.vireo.virtio.driver.support;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.After;
import org.junit.Test;
import org.vireo.virtio.VirtioIds;
import org.vireo.virtio.VirtioStatus;
import org.vireo.virtio.driver.VirtioDeviceId;
import org.vireo.virtio.driver.VirtioDriverDevice;
import org.vireo.virtio.testkit.FakeDevice;

public class PublishingDriverTest {
    private final List<String> events = new ArrayList<>();
    private final List<Object> published = new ArrayList<>();
    private final FakeDevice device = new FakeDevice(VirtioIds.RNG);
    private RuntimeException failPublish;

    /** Records what the driver does with it, and the device status at start. */
    private final class Recorder implements BoundDevice {
        final VirtioDriverDevice device;

        Recorder(VirtioDriverDevice device) { this.device = device; }

        @Override public void start() { events.add("start, status " + device.getStatus()); }
        @Override public void configChanged() { events.add("configChanged"); }
        @Override public void shutdown() { events.add("shutdown"); }
    }

    private final class TestDriver extends PublishingDriver<Recorder> {
        TestDriver() {
            super((device, service) -> {
                if (failPublish != null) throw failPublish;
                events.add("publish");
                published.add(service);
                return () -> {
                    events.add("withdraw");
                    published.remove(service);
                };
            });
        }

        @Override public String name() { return "test"; }
        @Override public List<VirtioDeviceId> idTable() { return List.of(VirtioDeviceId.of(VirtioIds.RNG)); }
        @Override public long supportedFeatures() { return 0; }

        @Override
        protected Recorder open(VirtioDriverDevice device) {
            events.add("open");
            return new Recorder(device);
        }

        @Override
        protected void bound(VirtioDriverDevice device, Recorder instance) {
            events.add("bound");
        }

        Recorder bound(VirtioDriverDevice device) { return instance(device); }
    }

    private final TestDriver driver = new TestDriver();

    @After
    public void tearDown() throws Exception {
        device.close();
    }

    @Test
    public void probeStartsTheLiveDeviceThenPublishes() throws Exception {
        device.status = VirtioStatus.ACKNOWLEDGE | VirtioStatus.DRIVER | VirtioStatus.FEATURES_OK;
        driver.probe(device);
        int live = VirtioStatus.ACKNOWLEDGE | VirtioStatus.DRIVER | VirtioStatus.FEATURES_OK | VirtioStatus.DRIVER_OK;
        assertEquals(List.of("open", "start, status " + live, "publish", "bound"), events);
        assertSame(published.getFirst(), driver.bound(device));
    }

    @Test
    public void configChangesReachTheBoundDeviceOnly() throws Exception {
        driver.configChanged(device);   // not bound yet: nothing to tell
        assertTrue(events.isEmpty());
        driver.probe(device);
        events.clear();
        driver.configChanged(device);
        assertEquals(List.of("configChanged"), events);
    }

    @Test
    public void removeWithdrawsTheServiceBeforeShuttingDown() throws Exception {
        driver.probe(device);
        events.clear();
        driver.remove(device);
        assertEquals(List.of("withdraw", "shutdown"), events);
        assertNull(driver.bound(device));
        driver.remove(device);   // already removed
        assertEquals(2, events.size());
    }

    @Test
    public void aFailedProbeShutsTheDeviceDownAndBindsNothing() {
        failPublish = new IllegalStateException("no registry");
        assertSame(failPublish, assertThrows(IllegalStateException.class, () -> driver.probe(device)));
        assertEquals("open", events.get(0));
        assertEquals("shutdown", events.getLast());
        assertNull(driver.bound(device));
    }

    @Test
    public void removeAllUnbindsEveryDevice() throws Exception {
        try (FakeDevice second = new FakeDevice(VirtioIds.RNG)) {
            driver.probe(device);
            driver.probe(second);
            assertEquals(2, published.size());
            driver.removeAll();
            assertTrue(published.isEmpty());
            assertNull(driver.bound(device));
            assertNull(driver.bound(second));
        }
    }
}
