package org.vireo.virtio.mmio;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.vireo.virtio.VirtioStatus.ACKNOWLEDGE;
import static org.vireo.virtio.VirtioStatus.DRIVER;
import static org.vireo.virtio.VirtioStatus.DRIVER_OK;
import static org.vireo.virtio.VirtioStatus.FEATURES_OK;
import static org.vireo.virtio.VirtioStatus.NEEDS_RESET;
import static org.vireo.virtio.mmio.VirtioMmio.*;

import java.util.Random;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import org.vireo.virtio.VirtioFeatures;
import org.vireo.virtio.VirtioIds;
import org.vireo.virtio.testkit.EchoDevice;
import org.vireo.virtio.testkit.RecordingMachine;

/** The device side's registers, driven the way a guest kernel would, straight through the IoHandler and the bus. */
public class MmioRegistersTest {
    private static final int ALL_DRIVER_BITS = ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK;

    private RecordingMachine machine;
    private EchoDevice device;
    private MmioDeviceSide mmio;
    private long base;
    private int gsi;

    @Before
    public void plug() {
        machine = new RecordingMachine();
        device = new EchoDevice();
        base = machine.mmioSpace().allocate(WINDOW_SIZE, WINDOW_SIZE);
        gsi = machine.allocateIrq();
        mmio = new MmioDeviceSide(machine, device, "t/mmio@test", base, gsi);
    }

    @After
    public void unplug() {
        mmio.close();
        machine.close();
    }

    private int reg(int offset) { return (int) machine.mmio().read(base + offset, 4); }

    private void reg(int offset, int value) { machine.mmio().write(base + offset, 4, value & 0xffff_ffffL); }

    private RecordingMachine.Line line() { return machine.line(gsi); }

    private void negotiate(long features) {
        reg(STATUS, ACKNOWLEDGE);
        reg(STATUS, ACKNOWLEDGE | DRIVER);
        reg(DRIVER_FEATURES_SEL, 0);
        reg(DRIVER_FEATURES, (int) features);
        reg(DRIVER_FEATURES_SEL, 1);
        reg(DRIVER_FEATURES, (int) (features >>> 32));
        reg(STATUS, ACKNOWLEDGE | DRIVER | FEATURES_OK);
    }

    private void queue(int index, int size, long desc, long driver, long dev) {
        reg(QUEUE_SEL, index);
        reg(QUEUE_NUM, size);
        reg(QUEUE_DESC_LOW, (int) desc);
        reg(QUEUE_DESC_HIGH, (int) (desc >>> 32));
        reg(QUEUE_DRIVER_LOW, (int) driver);
        reg(QUEUE_DRIVER_HIGH, (int) (driver >>> 32));
        reg(QUEUE_DEVICE_LOW, (int) dev);
        reg(QUEUE_DEVICE_HIGH, (int) (dev >>> 32));
        reg(QUEUE_READY, 1);
    }

    private void bringUp() {
        negotiate(VirtioFeatures.bit(VirtioFeatures.VERSION_1));
        queue(0, 16, 0x10_0000, 0x10_1000, 0x10_2000);
        reg(STATUS, ALL_DRIVER_BITS);
        assertEquals(ALL_DRIVER_BITS, reg(STATUS));
        assertNotNull(device.context);
    }

    @Test
    public void identityRegisters() {
        assertEquals(0x74726976, reg(MAGIC_VALUE));
        assertEquals(2, reg(VERSION_REG));
        assertEquals(EchoDevice.ID, reg(DEVICE_ID));
        assertEquals(VirtioIds.VENDOR_VIREO, reg(VENDOR_ID));
        reg(MAGIC_VALUE, 0);
        reg(DEVICE_ID, 7);
        assertEquals(0x74726976, reg(MAGIC_VALUE));
        assertEquals(EchoDevice.ID, reg(DEVICE_ID));
    }

    @Test
    public void registersTakeOnlyAligned32BitAccesses() {
        assertEquals(0, machine.mmio().read(base + MAGIC_VALUE, 1));
        assertEquals(0, machine.mmio().read(base + MAGIC_VALUE, 2));
        assertEquals(0, machine.mmio().read(base + MAGIC_VALUE, 8));
        assertEquals(0, machine.mmio().read(base + MAGIC_VALUE + 1, 4));
        machine.mmio().write(base + STATUS, 1, ACKNOWLEDGE);
        machine.mmio().write(base + STATUS, 2, ACKNOWLEDGE);
        machine.mmio().write(base + STATUS, 8, ACKNOWLEDGE);
        machine.mmio().write(base + STATUS + 2, 4, ACKNOWLEDGE);
        assertEquals(0, reg(STATUS));
        reg(STATUS, ACKNOWLEDGE);
        assertEquals(ACKNOWLEDGE, reg(STATUS));
    }

    @Test
    public void featureWindows() {
        long offered = mmio.core().offeredFeatures();
        reg(DEVICE_FEATURES_SEL, 0);
        assertEquals((int) offered, reg(DEVICE_FEATURES));
        assertTrue((reg(DEVICE_FEATURES) & EchoDevice.OWN_FEATURE) != 0);
        assertTrue((reg(DEVICE_FEATURES) & (1 << VirtioFeatures.RING_EVENT_IDX)) != 0);
        reg(DEVICE_FEATURES_SEL, 1);
        assertEquals(1, reg(DEVICE_FEATURES)); // VERSION_1, no RING_PACKED
        reg(DEVICE_FEATURES_SEL, 2);
        assertEquals(0, reg(DEVICE_FEATURES));
        assertEquals("write-only registers read 0", 0, reg(DEVICE_FEATURES_SEL));

        negotiate(VirtioFeatures.bit(VirtioFeatures.VERSION_1) | EchoDevice.OWN_FEATURE);
        assertEquals(ACKNOWLEDGE | DRIVER | FEATURES_OK, reg(STATUS));
        assertEquals(VirtioFeatures.bit(VirtioFeatures.VERSION_1) | EchoDevice.OWN_FEATURE, mmio.core().driverFeatures());
        assertEquals(0, reg(DRIVER_FEATURES));
    }

    @Test
    public void featuresOkRefusedForUnofferedFeaturesOrMissingVersion1() {
        negotiate(VirtioFeatures.bit(VirtioFeatures.VERSION_1) | (1L << 40));
        assertEquals(ACKNOWLEDGE | DRIVER, reg(STATUS));
        reg(STATUS, 0);
        negotiate(EchoDevice.OWN_FEATURE);
        assertEquals(ACKNOWLEDGE | DRIVER, reg(STATUS));
        reg(STATUS, ALL_DRIVER_BITS);
        assertEquals(ACKNOWLEDGE | DRIVER, reg(STATUS));
        assertNull(device.context);
    }

    @Test
    public void statusOutOfOrderIsIgnored() {
        reg(STATUS, DRIVER);
        assertEquals(0, reg(STATUS));
        reg(STATUS, ACKNOWLEDGE | DRIVER | DRIVER_OK);
        assertEquals(0, reg(STATUS));
        reg(STATUS, ACKNOWLEDGE);
        reg(STATUS, ACKNOWLEDGE | DRIVER);
        reg(STATUS, ACKNOWLEDGE | DRIVER | DRIVER_OK);
        assertEquals(ACKNOWLEDGE | DRIVER, reg(STATUS));
    }

    @Test
    public void queueRegisters() {
        reg(QUEUE_SEL, 0);
        assertEquals(64, reg(QUEUE_NUM_MAX));
        reg(QUEUE_SEL, 1);
        assertEquals(16, reg(QUEUE_NUM_MAX));
        reg(QUEUE_SEL, 2);
        assertEquals("no third queue", 0, reg(QUEUE_NUM_MAX));
        reg(QUEUE_READY, 1);
        assertEquals(0, reg(QUEUE_READY));

        queue(1, 8, 0x1_2345_6780L, 0x2_0000_0002L, 0x3_0000_0004L);
        assertEquals(1, reg(QUEUE_READY));
        assertEquals(0, reg(QUEUE_NUM));
        assertEquals(0, reg(QUEUE_DESC_LOW));
        var core = mmio.core();
        core.selectQueue(1);
        assertEquals(8, core.queueSize());
        assertEquals(0x1_2345_6780L, core.queueDesc());
        assertEquals(0x2_0000_0002L, core.queueDriver());
        assertEquals(0x3_0000_0004L, core.queueDevice());
        // frozen while ready
        reg(QUEUE_NUM, 4);
        reg(QUEUE_DESC_LOW, 0);
        assertEquals(8, core.queueSize());
        assertEquals(0x1_2345_6780L, core.queueDesc());
        reg(QUEUE_READY, 0);
        assertEquals(0, reg(QUEUE_READY));
    }

    @Test
    public void resetClearsQueues() {
        bringUp();
        queue(1, 8, 0x11_0000, 0x11_1000, 0x11_2000);
        int resets = device.resets.get();
        reg(STATUS, 0);
        assertEquals(0, reg(STATUS));
        assertEquals(resets + 1, device.resets.get());
        for (int q = 0; q < 2; q++) {
            reg(QUEUE_SEL, q);
            assertEquals(0, reg(QUEUE_READY));
            mmio.core().selectQueue(q);
            assertEquals(0, mmio.core().queueDesc());
            assertEquals(0, mmio.core().queueDriver());
            assertEquals(0, mmio.core().queueDevice());
        }
        assertNull(device.context);
        reg(QUEUE_NOTIFY, 0);
        assertEquals(0, device.notifies.get());
    }

    @Test
    public void badQueueAtDriverOkSetsNeedsResetAndRaisesConfigInterrupt() {
        negotiate(VirtioFeatures.bit(VirtioFeatures.VERSION_1));
        queue(0, 16, 0x10_0008, 0x10_1000, 0x10_2000); // misaligned descriptor table
        reg(STATUS, ALL_DRIVER_BITS);
        assertEquals(ALL_DRIVER_BITS | NEEDS_RESET, reg(STATUS));
        assertNull(device.context);
        assertEquals(2, reg(INTERRUPT_STATUS));
        assertTrue(line().level);
        reg(INTERRUPT_ACK, 2);
        assertFalse(line().level);
    }

    @Test
    public void notifyReachesTheDeviceOnlyWhenRunning() {
        reg(QUEUE_NOTIFY, 0);
        negotiate(VirtioFeatures.bit(VirtioFeatures.VERSION_1));
        queue(0, 16, 0x10_0000, 0x10_1000, 0x10_2000);
        reg(QUEUE_NOTIFY, 0);
        assertEquals(0, device.notifies.get());
        reg(STATUS, ALL_DRIVER_BITS);
        reg(QUEUE_NOTIFY, 1); // not ready
        reg(QUEUE_NOTIFY, 5); // no such queue
        assertEquals(0, device.notifies.get());
        reg(QUEUE_NOTIFY, 0);
        assertEquals(1, device.notifies.get());
    }

    @Test
    public void interruptStatusDrivesTheLevelLine() {
        bringUp();
        assertFalse(line().level);
        int generation = reg(CONFIG_GENERATION);
        device.context.signalConfigChange();
        assertEquals(generation + 1, reg(CONFIG_GENERATION));
        assertEquals(2, reg(INTERRUPT_STATUS));
        assertTrue(line().level);
        reg(INTERRUPT_ACK, 1);
        assertTrue("acking another bit keeps the line up", line().level);
        reg(INTERRUPT_ACK, 2);
        assertEquals(0, reg(INTERRUPT_STATUS));
        assertFalse(line().level);

        device.context.needsReset("test");
        assertEquals(ALL_DRIVER_BITS | NEEDS_RESET, reg(STATUS));
        assertTrue(line().level);
        reg(STATUS, 0);
        assertFalse("reset clears the interrupt status", line().level);
        assertEquals(0, reg(INTERRUPT_STATUS));
    }

    @Test
    public void configSpaceAccesses() {
        assertEquals(0x0d, machine.mmio().read(base + CONFIG, 1));
        assertEquals(0xf00d, machine.mmio().read(base + CONFIG, 2));
        assertEquals(0xcafe_f00dL, machine.mmio().read(base + CONFIG, 4));
        assertEquals(0xcafeL, machine.mmio().read(base + CONFIG + 2, 2));
        assertEquals("64-bit accesses are not allowed", 0, machine.mmio().read(base + CONFIG, 8));
        assertEquals("beyond config size", 0, machine.mmio().read(base + CONFIG + 6, 4));
        assertEquals(0, machine.mmio().read(base + CONFIG + 0xfc, 4));
        machine.mmio().write(base + CONFIG + 4, 4, 0x1234_5678L);
        assertEquals(0x1234_5678L, machine.mmio().read(base + CONFIG + 4, 4));
        machine.mmio().write(base + CONFIG + 4, 1, 0xff);
        assertEquals(0x1234_56ffL, machine.mmio().read(base + CONFIG + 4, 4));
        machine.mmio().write(base + CONFIG, 4, 0);
        assertEquals("read-only field", 0xcafe_f00dL, machine.mmio().read(base + CONFIG, 4));
    }

    @Test
    public void sharedMemoryAbsentAndReservedRegistersReadZero() {
        reg(SHM_SEL, 0);
        assertEquals(-1, reg(SHM_LEN_LOW));
        assertEquals(-1, reg(SHM_LEN_HIGH));
        assertEquals(-1, reg(SHM_BASE_LOW));
        assertEquals(-1, reg(SHM_BASE_HIGH));
        assertEquals(0, reg(QUEUE_RESET));
        assertEquals(0, reg(0x0c4));
        assertEquals(0, reg(0x0f8));
    }

    @Test
    public void hostileAccessesNeverThrowAndLeaveTheDeviceResettable() {
        bringUp();
        Random random = new Random(42);
        long[] values = {0, -1, 1, 0x8000_0000L, 0xffff_ffffL};
        int[] sizes = {-1, 0, 1, 2, 3, 4, 5, 8, 16};
        for (long offset = -8; offset < WINDOW_SIZE + 8; offset++) {
            for (int size : sizes) {
                for (long v : values) {
                    mmio.read(offset, size);
                    mmio.write(offset, size, v);
                }
                mmio.write(offset, size, random.nextLong());
                machine.mmio().read(base + offset, size);
                machine.mmio().write(base + offset, size, random.nextLong());
            }
        }
        // Whatever the garbage did, a reset brings the device back and it works again.
        reg(STATUS, 0);
        assertEquals(0, reg(STATUS));
        reg(INTERRUPT_ACK, 3);
        assertEquals(0x74726976, reg(MAGIC_VALUE));
        bringUp();
        reg(QUEUE_NOTIFY, 0);
        assertTrue(device.notifies.get() > 0);
    }

    @Test
    public void closeTakesTheWindowOffTheBus() {
        mmio.close();
        assertFalse(machine.mmio().claimed(base));
        assertEquals(0xffff_ffffL, machine.mmio().read(base + MAGIC_VALUE, 4));
        // the window and line are free again
        assertEquals(base, machine.mmioSpace().allocate(WINDOW_SIZE, WINDOW_SIZE));
        assertEquals(gsi, machine.allocateIrq());
        mmio = new MmioDeviceSide(machine, device, "t/mmio@again", base, gsi);
    }
}
