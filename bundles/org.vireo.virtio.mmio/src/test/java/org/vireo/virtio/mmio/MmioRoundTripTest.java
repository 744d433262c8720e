package org.vireo.virtio.mmio;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;
import static org.vireo.virtio.VirtioStatus.ACKNOWLEDGE;
import static org.vireo.virtio.VirtioStatus.DRIVER;
import static org.vireo.virtio.VirtioStatus.DRIVER_OK;
import static org.vireo.virtio.VirtioStatus.FEATURES_OK;
import static org.vireo.virtio.testkit.EchoDriver.RING_FEATURES;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import org.vireo.machine.hosted.HostedMachine;
import org.vireo.memory.GuestRange;
import org.vireo.virtio.VirtioFeatures;
import org.vireo.virtio.VirtioIds;
import org.vireo.virtio.VirtioTransportInfo;
import org.vireo.virtio.core.PluggedDevice;
import org.vireo.virtio.driver.UsedBuffer;
import org.vireo.virtio.driver.VirtioDriverDevice;
import org.vireo.virtio.driver.Virtqueue;
import org.vireo.virtio.testkit.EchoDevice;
import org.vireo.virtio.testkit.EchoDriver;

/** A Java driver talks to the echo device through the driver side, i.e. only through registers and interrupts. */
public class MmioRoundTripTest {
    private HostedMachine machine;
    private EchoDevice device;
    private PluggedDevice plugged;
    private VirtioDriverDevice driver;
    private EchoDriver echo;
    private BlockingQueue<UsedBuffer> used;

    @Before
    public void plug() {
        machine = new HostedMachine("t", 16 << 20);
        device = new EchoDevice();
        plugged = VirtioMmio.plug(machine, device, "echo0");
        driver = plugged.driverSide().orElseThrow();
        echo = new EchoDriver(driver);
        used = echo.used();
    }

    @After
    public void unplug() {
        plugged.close();
        machine.close();
    }

    @Test
    public void identityAndNames() {
        assertEquals("t/mmio@0x" + Long.toHexString(HostedMachine.MMIO_BASE), driver.name());
        assertEquals("mmio", driver.transport());
        assertEquals(EchoDevice.ID, driver.deviceId());
        assertEquals(VirtioIds.VENDOR_VIREO, driver.vendorId());
        assertEquals(2, driver.queueCount());
        assertEquals(64, driver.queueMaxSize(0));
        assertEquals(16, driver.queueMaxSize(1));
        assertEquals(0, driver.queueMaxSize(2));
        assertEquals(RING_FEATURES | EchoDevice.OWN_FEATURE, driver.deviceFeatures());
        VirtioTransportInfo info = plugged.info();
        assertEquals(driver.name(), info.name());
        assertEquals("mmio", info.transport());
        assertEquals("t", info.machine());
        assertEquals("echo0", info.deviceName());
        assertTrue(info.address(), info.address().startsWith("0x" + Long.toHexString(HostedMachine.MMIO_BASE) + " irq "));
        assertEquals("echo", info.backend());
    }

    @Test
    public void echoRoundTripWithEventIdxAndIndirect() throws Exception {
        roundTrips(RING_FEATURES);
    }

    @Test
    public void echoRoundTripPlainRing() throws Exception {
        roundTrips(VirtioFeatures.bit(VirtioFeatures.VERSION_1));
    }

    private void roundTrips(long features) throws Exception {
        Virtqueue q = echo.bringUp(features);
        assertEquals(features, driver.negotiatedFeatures());
        assertEquals(64, q.size());
        echo.echoRounds(q, 100, "virtio-mmio");
        VirtioTransportInfo.QueueInfo qi = plugged.info().queues().get(0);
        assertTrue(qi.ready());
        assertEquals(100, qi.usedIndex());
    }

    @Test
    public void manyBuffersInFlight() throws Exception {
        Virtqueue q = echo.bringUp(RING_FEATURES);
        long in = driver.allocator().allocate(64 * 8, 16);
        long out = driver.allocator().allocate(64 * 8, 16);
        List<Integer> expected = new ArrayList<>();
        for (int i = 0; i < 32; i++) {
            machine.memory().writeLong(out + 8L * i, 1000L + i);
            assertTrue(q.addBuf(List.of(new GuestRange(out + 8L * i, 8)), List.of(new GuestRange(in + 8L * i, 8)), i));
            expected.add(i);
        }
        q.kick();
        List<Integer> got = new ArrayList<>();
        while (got.size() < expected.size()) {
            UsedBuffer b = used.poll(10, TimeUnit.SECONDS);
            assertNotNull("missing used buffers after " + got, b);
            got.add((Integer) b.token());
        }
        got.sort(null);
        assertEquals(expected, got);
        for (int i = 0; i < 32; i++) assertEquals(1000L + i, machine.memory().readLong(in + 8L * i));
    }

    @Test
    public void configThroughRegistersAndConfigChangeInterrupt() throws Exception {
        echo.bringUp(RING_FEATURES);
        assertEquals(EchoDevice.CONFIG_VALUE, driver.readConfig(0, 4));
        assertEquals(0xf00d, driver.readConfig(0, 2));
        driver.writeConfig(4, 4, 0x0102_0304);
        assertEquals(((long) 0x0102_0304 << 32) | (EchoDevice.CONFIG_VALUE & 0xffff_ffffL), driver.readConfig64(0));
        echo.checkConfigChange(device);
    }

    @Test
    public void resetAndDeleteQueuesThenAgain() throws Exception {
        Virtqueue q = echo.bringUp(RING_FEATURES);
        long buf = driver.allocator().allocate(64, 16);
        EchoDriver.postEcho(q, buf, "x");
        assertNotNull(used.poll(10, TimeUnit.SECONDS));
        long freeBefore = driver.allocator().freeBytes();
        driver.reset();
        assertEquals(0, driver.getStatus());
        assertEquals(0, plugged.info().status());
        driver.deleteQueues();
        assertTrue("ring memory returned", driver.allocator().freeBytes() > freeBefore);
        Virtqueue again = echo.bringUp(RING_FEATURES);
        EchoDriver.postEcho(again, buf, "y");
        UsedBuffer b = used.poll(10, TimeUnit.SECONDS);
        assertNotNull(b);
        assertEquals("y", b.token());
    }

    @Test
    public void unplugRemovesTheWindowAndResetsTheDevice() {
        echo.bringUp(RING_FEATURES);
        int resets = device.resets.get();
        plugged.close();
        assertTrue(device.resets.get() > resets);
        assertFalse(machine.mmio().claimed(HostedMachine.MMIO_BASE));
        plugged.close(); // idempotent
        // A second device gets the same window back.
        PluggedDevice second = VirtioMmio.plug(machine, new EchoDevice(), "echo1");
        try {
            assertEquals(driver.name(), second.info().name());
        } finally {
            second.close();
        }
    }

    @Test
    public void twoDevicesOnOneMachine() throws Exception {
        EchoDevice other = new EchoDevice();
        try (PluggedDevice second = VirtioMmio.plug(machine, other, "echo1")) {
            VirtioDriverDevice d2 = second.driverSide().orElseThrow();
            assertFalse(d2.name().equals(driver.name()));
            Virtqueue q1 = echo.bringUp(RING_FEATURES);
            BlockingQueue<UsedBuffer> used2 = new LinkedBlockingQueue<>();
            d2.reset();
            d2.setStatus(ACKNOWLEDGE | DRIVER);
            d2.writeDriverFeatures(VirtioFeatures.bit(VirtioFeatures.VERSION_1));
            d2.setStatus(ACKNOWLEDGE | DRIVER | FEATURES_OK);
            Virtqueue q2 = d2.setupQueue(0, 8, EchoDriver.collectInto(used2));
            d2.setStatus(ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK);
            assertEquals(8, q2.size());
            long buf = driver.allocator().allocate(64, 16);
            EchoDriver.postEcho(q2, buf, "two");
            assertEquals("two", used2.poll(10, TimeUnit.SECONDS).token());
            EchoDriver.postEcho(q1, buf, "one");
            assertEquals("one", used.poll(10, TimeUnit.SECONDS).token());
            assertTrue("no cross-talk", used.isEmpty() && used2.isEmpty());
        }
    }
}
