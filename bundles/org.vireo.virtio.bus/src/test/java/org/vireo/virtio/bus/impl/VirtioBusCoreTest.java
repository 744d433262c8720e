package org.vireo.virtio.bus.impl;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;

import java.util.List;
import org.junit.Test;
import org.vireo.virtio.VirtioFeatures;
import org.vireo.virtio.VirtioIds;
import org.vireo.virtio.VirtioStatus;
import org.vireo.virtio.bus.VirtioBus.Binding;
import org.vireo.virtio.driver.VirtioDeviceId;
import org.vireo.virtio.driver.VirtioDriver;
import org.vireo.virtio.driver.VirtioDriverDevice;

public class VirtioBusCoreTest {
    private static final int OK = VirtioStatus.ACKNOWLEDGE | VirtioStatus.DRIVER | VirtioStatus.FEATURES_OK | VirtioStatus.DRIVER_OK;

    private final VirtioBusCore bus = new VirtioBusCore();

    private static FakeDriver blkDriver(String name) {
        return new FakeDriver(name, 0b101, VirtioDeviceId.of(VirtioIds.BLOCK));
    }

    @Test
    public void deviceThenDriverRunsTheWholeHandshake() {
        FakeDevice dev = FakeDevice.modern("m/mmio@0x1", VirtioIds.BLOCK);
        FakeDriver drv = blkDriver("blk");
        bus.addDevice(dev, "m");
        assertEquals("unbound devices are acknowledged", VirtioStatus.ACKNOWLEDGE, dev.status);
        dev.log.clear();

        bus.addDriver(drv);

        // RING_PACKED too: the ring code behind every driver runs either layout
        long expectedFeatures = VirtioFeatures.bit(VirtioFeatures.VERSION_1) | VirtioFeatures.bit(VirtioFeatures.RING_EVENT_IDX)
                | VirtioFeatures.bit(VirtioFeatures.RING_PACKED) | 0b101;
        assertEquals(List.of("reset", "status ACKNOWLEDGE", "status ACKNOWLEDGE|DRIVER",
                "features " + Long.toHexString(expectedFeatures), "status ACKNOWLEDGE|DRIVER|FEATURES_OK",
                "status ACKNOWLEDGE|DRIVER|FEATURES_OK|DRIVER_OK"), dev.log);
        assertEquals(List.of("probe m/mmio@0x1"), drv.log);
        assertSame(drv, dev.boundDriver);
        assertEquals(List.of(new Binding("m/mmio@0x1", VirtioIds.BLOCK, "fake", "m", "blk", OK)), bus.bindings());
    }

    @Test
    public void driverThenDeviceBindsToo() {
        FakeDriver drv = blkDriver("blk");
        bus.addDriver(drv);
        FakeDevice dev = FakeDevice.modern("d", VirtioIds.BLOCK);
        bus.addDevice(dev, null);
        assertEquals(OK, dev.status);
        assertSame(drv, dev.boundDriver);
    }

    @Test
    public void driversOnlyBindMatchingIdsAndVendors() {
        FakeDevice blk = FakeDevice.modern("blk", VirtioIds.BLOCK);      // vendor 0x1234
        FakeDevice net = FakeDevice.modern("net", VirtioIds.NET);
        FakeDriver otherVendor = new FakeDriver("other-vendor", 0, new VirtioDeviceId(VirtioIds.BLOCK, 0x9999));
        FakeDriver netOnly = new FakeDriver("net", 0, VirtioDeviceId.of(VirtioIds.NET));
        bus.addDevice(blk, null);
        bus.addDevice(net, null);
        bus.addDriver(otherVendor);
        bus.addDriver(netOnly);
        assertTrue(otherVendor.log.isEmpty());
        assertNull(blk.boundDriver);
        assertSame(netOnly, net.boundDriver);

        FakeDriver sameVendor = new FakeDriver("same-vendor", 0, new VirtioDeviceId(VirtioIds.BLOCK, 0x1234));
        bus.addDriver(sameVendor);
        assertSame(sameVendor, blk.boundDriver);
    }

    @Test
    public void aDeviceWithoutVersion1Fails() {
        FakeDevice legacy = new FakeDevice("legacy", VirtioIds.BLOCK, 1, 0b1);
        FakeDriver drv = blkDriver("blk");
        bus.addDriver(drv);
        bus.addDevice(legacy, null);
        assertTrue(drv.log.isEmpty());
        assertEquals(VirtioStatus.FAILED, legacy.status);
        assertTrue(legacy.log.contains("status ACKNOWLEDGE|DRIVER|FAILED"));
        assertNull(bus.bindings().getFirst().driver());
    }

    @Test
    public void refusedFeaturesFailWithoutProbing() {
        FakeDevice dev = FakeDevice.modern("d", VirtioIds.BLOCK);
        dev.refuseFeaturesOk = true;
        FakeDriver drv = blkDriver("blk");
        bus.addDriver(drv);
        bus.addDevice(dev, null);
        assertTrue(drv.log.isEmpty());
        assertEquals(VirtioStatus.FAILED, dev.status);
        assertNull(dev.boundDriver);
    }

    @Test
    public void aFailedProbeResetsAndTriesNoOtherDriverUntilANewOneArrives() {
        FakeDevice dev = FakeDevice.modern("d", VirtioIds.BLOCK);
        FakeDriver bad = blkDriver("bad");
        bad.failProbe = true;
        FakeDriver second = blkDriver("second");
        bus.addDriver(bad);
        bus.addDriver(second);   // the device is not there yet: nothing happens
        bus.addDevice(dev, null);

        assertEquals(List.of("probe d"), bad.log);
        assertTrue("no further driver is tried", second.log.isEmpty());
        int failed = dev.log.indexOf("status ACKNOWLEDGE|DRIVER|FEATURES_OK|FAILED");
        assertTrue(dev.log.toString(), failed >= 0 && dev.log.get(failed + 1).equals("reset"));
        assertEquals(VirtioStatus.FAILED, dev.status);
        assertNull(dev.boundDriver);

        FakeDriver late = blkDriver("late");
        bus.addDriver(late);
        assertSame(late, dev.boundDriver);
        assertEquals(OK, dev.status);
    }

    @Test
    public void aLeavingDeviceIsRemovedFromItsDriver() {
        FakeDevice dev = FakeDevice.modern("d", VirtioIds.BLOCK);
        FakeDriver drv = blkDriver("blk");
        bus.addDriver(drv);
        bus.addDevice(dev, null);
        bus.removeDevice(dev);
        assertEquals(List.of("probe d", "remove d"), drv.log);
        assertTrue(bus.bindings().isEmpty());
        assertNull(dev.boundDriver);
        bus.removeDevice(dev);   // twice is harmless
        assertEquals(0, drv.violations.get());
    }

    @Test
    public void aLeavingDriverIsReplacedByTheNextMatchingOne() {
        FakeDevice d1 = FakeDevice.modern("d1", VirtioIds.BLOCK);
        FakeDevice d2 = FakeDevice.modern("d2", VirtioIds.BLOCK);
        FakeDriver first = blkDriver("first");
        FakeDriver second = blkDriver("second");
        bus.addDriver(first);
        bus.addDriver(second);
        bus.addDevice(d1, null);
        bus.addDevice(d2, null);
        assertSame(first, d1.boundDriver);
        assertSame(first, d2.boundDriver);
        assertTrue(second.log.isEmpty());

        d1.log.clear();
        bus.removeDriver(first);
        assertEquals(List.of("probe d1", "probe d2", "remove d1", "remove d2"), first.log);
        assertEquals("reset after remove", "reset", d1.log.getFirst());
        assertSame(second, d1.boundDriver);
        assertSame(second, d2.boundDriver);
        assertEquals(OK, d1.status);

        bus.removeDriver(second);
        assertNull(d1.boundDriver);
        assertEquals(VirtioStatus.ACKNOWLEDGE, d1.status);
        assertEquals(List.of("d1", "d2"), bus.bindings().stream().map(Binding::device).toList());
        assertTrue(bus.bindings().stream().allMatch(b -> b.driver() == null));
    }

    @Test
    public void configChangesReachOnlyTheBoundDriver() {
        FakeDevice dev = FakeDevice.modern("d", VirtioIds.BLOCK);
        FakeDriver drv = blkDriver("blk");
        bus.addDevice(dev, null);
        dev.raiseConfigChange();             // nobody bound: dropped
        bus.addDriver(drv);
        dev.raiseConfigChange();
        assertEquals(1, drv.configChanges.get());
        bus.removeDriver(drv);
        dev.raiseConfigChange();
        assertEquals(1, drv.configChanges.get());
        assertEquals(0, drv.violations.get());
    }

    @Test
    public void aDriverThatSetsDriverOkItselfIsNotWrittenTwice() {
        FakeDevice dev = FakeDevice.modern("d", VirtioIds.BLOCK);
        VirtioDriver early = new VirtioDriver() {
            @Override public String name() { return "early"; }
            @Override public List<VirtioDeviceId> idTable() { return List.of(VirtioDeviceId.of(VirtioIds.BLOCK)); }
            @Override public long supportedFeatures() { return 0; }
            @Override public void probe(VirtioDriverDevice device) { device.setStatus(device.getStatus() | VirtioStatus.DRIVER_OK); }
            @Override public void remove(VirtioDriverDevice device) {}
        };
        bus.addDriver(early);
        bus.addDevice(dev, null);
        assertEquals(1, dev.log.stream().filter(s -> s.contains("DRIVER_OK")).count());
        assertSame(early, dev.boundDriver);
    }

    @Test
    public void closeUnbindsEverythingAndIgnoresLaterEvents() {
        FakeDevice dev = FakeDevice.modern("d", VirtioIds.BLOCK);
        FakeDriver drv = blkDriver("blk");
        bus.addDriver(drv);
        bus.addDevice(dev, null);
        bus.close();
        assertEquals(List.of("probe d", "remove d"), drv.log);
        bus.addDevice(FakeDevice.modern("late", VirtioIds.BLOCK), null);
        assertTrue(bus.bindings().isEmpty());
        assertEquals(List.of("probe d", "remove d"), drv.log);
    }
}
