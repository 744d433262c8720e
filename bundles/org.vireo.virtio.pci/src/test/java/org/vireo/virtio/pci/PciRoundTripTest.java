package org.vireo.virtio.pci;

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
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;
import org.junit.runners.Parameterized.Parameters;
import org.vireo.bus.pci.PciConfigSpace;
import org.vireo.machine.Machine;
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

/** A Java driver talks to the echo device through the PCI driver side, with MSI-X or (when MSIs are missing) INTx. */
@RunWith(Parameterized.class)
public class PciRoundTripTest {
    @Parameters(name = "{0}")
    public static List<Object[]> interrupts() { return List.of(new Object[] {"msix"}, new Object[] {"intx"}); }

    private final boolean msix;
    private Machine machine;
    private AutoCloseable machineCloser;
    private EchoDevice device;
    private PluggedDevice plugged;
    private VirtioDriverDevice driver;
    private EchoDriver echo;
    private BlockingQueue<UsedBuffer> used;

    public PciRoundTripTest(String mode) { this.msix = mode.equals("msix"); }

    @Before
    public void plug() {
        if (msix) {
            HostedMachine m = new HostedMachine("t", 16 << 20);
            machine = m;
            machineCloser = m;
        } else {
            NoMsiMachine m = new NoMsiMachine();
            machine = m;
            machineCloser = m;
        }
        device = new EchoDevice();
        plugged = VirtioPci.plug(machine, device, "echo0");
        driver = plugged.driverSide().orElseThrow();
        echo = new EchoDriver(driver);
        used = echo.used();
    }

    @After
    public void unplug() throws Exception {
        plugged.close();
        machineCloser.close();
    }

    @Test
    public void identityAndNames() {
        assertEquals(machine.name() + "/pci@00:01.0", driver.name());
        assertEquals("pci", driver.transport());
        assertEquals(EchoDevice.ID, driver.deviceId());
        assertEquals(VirtioIds.VENDOR_VIREO & 0xffff, driver.vendorId());
        assertEquals(2, driver.queueCount());
        assertEquals(64, driver.queueMaxSize(0));
        assertEquals(16, driver.queueMaxSize(1));
        assertEquals(RING_FEATURES | EchoDevice.OWN_FEATURE, driver.deviceFeatures());
        VirtioTransportInfo info = plugged.info();
        assertEquals(driver.name(), info.name());
        assertEquals("pci", info.transport());
        assertEquals("echo0", info.deviceName());
        String expected = "00:01.0 bar0 0x" + Long.toHexString(HostedMachine.MMIO_BASE) + (msix ? " msix 3" : " irq ");
        assertTrue(info.address(), info.address().startsWith(expected));
        int command = machine.pci().configRead(0, 1, 0, PciConfigSpace.COMMAND, 2);
        assertEquals("driver enabled memory and bus master", 0x6, command & 0x6);
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
        echo.echoRounds(q, 100, "virtio-pci");
        assertEquals(100, plugged.info().queues().get(0).usedIndex());
    }

    @Test
    public void manyBuffersInFlight() throws Exception {
        Virtqueue q = echo.bringUp(RING_FEATURES);
        long in = driver.allocator().allocate(64 * 8, 16);
        long out = driver.allocator().allocate(64 * 8, 16);
        for (int i = 0; i < 48; i++) {
            machine.memory().writeLong(out + 8L * i, 7000L + i);
            assertTrue(q.addBuf(List.of(new GuestRange(out + 8L * i, 8)), List.of(new GuestRange(in + 8L * i, 8)), i));
        }
        q.kick();
        List<Integer> got = new ArrayList<>();
        while (got.size() < 48) {
            UsedBuffer b = used.poll(10, TimeUnit.SECONDS);
            assertNotNull("missing used buffers after " + got, b);
            got.add((Integer) b.token());
        }
        for (int i = 0; i < 48; i++) assertEquals(7000L + i, machine.memory().readLong(in + 8L * i));
    }

    @Test
    public void configAndConfigChangeInterrupt() throws Exception {
        echo.bringUp(RING_FEATURES);
        assertEquals(EchoDevice.CONFIG_VALUE, driver.readConfig(0, 4));
        driver.writeConfig(4, 2, 0xabcd);
        assertEquals((0xabcdL << 32) | (EchoDevice.CONFIG_VALUE & 0xffff_ffffL), driver.readConfig64(0));
        echo.checkConfigChange(device);
    }

    @Test
    public void resetAndDeleteQueuesThenAgain() throws Exception {
        Virtqueue q = echo.bringUp(RING_FEATURES);
        long buf = driver.allocator().allocate(64, 16);
        EchoDriver.postEcho(q, buf, "x");
        assertNotNull(used.poll(10, TimeUnit.SECONDS));
        driver.reset();
        assertEquals(0, plugged.info().status());
        long freeBefore = driver.allocator().freeBytes();
        driver.deleteQueues();
        assertTrue(driver.allocator().freeBytes() > freeBefore);
        Virtqueue again = echo.bringUp(RING_FEATURES);
        EchoDriver.postEcho(again, buf, "y");
        UsedBuffer b = used.poll(10, TimeUnit.SECONDS);
        assertNotNull(b);
        assertEquals("y", b.token());
    }

    @Test
    public void unplugDetachesAndFreesTheSlot() {
        echo.bringUp(RING_FEATURES);
        int resets = device.resets.get();
        plugged.close();
        assertTrue(device.resets.get() > resets);
        assertEquals(null, machine.pci().function(1));
        assertFalse(machine.mmio().claimed(HostedMachine.MMIO_BASE));
        try (PluggedDevice second = VirtioPci.plug(machine, new EchoDevice(), "echo1")) {
            assertEquals(driver.name(), second.info().name());
        }
    }

    @Test
    public void secondDeviceTakesTheNextSlot() throws Exception {
        try (PluggedDevice second = VirtioPci.plug(machine, new EchoDevice(), "echo1")) {
            VirtioDriverDevice d2 = second.driverSide().orElseThrow();
            assertEquals(machine.name() + "/pci@00:02.0", d2.name());
            echo.bringUp(RING_FEATURES);
            d2.reset();
            d2.setStatus(ACKNOWLEDGE | DRIVER);
            d2.writeDriverFeatures(VirtioFeatures.bit(VirtioFeatures.VERSION_1));
            d2.setStatus(ACKNOWLEDGE | DRIVER | FEATURES_OK);
            BlockingQueue<UsedBuffer> used2 = new LinkedBlockingQueue<>();
            Virtqueue q2 = d2.setupQueue(0, 8, EchoDriver.collectInto(used2));
            d2.setStatus(ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK);
            long buf = d2.allocator().allocate(64, 16);
            EchoDriver.postEcho(q2, buf, "two");
            assertEquals("two", used2.poll(10, TimeUnit.SECONDS).token());
            assertTrue("no cross-talk", used.isEmpty());
        }
    }
}
