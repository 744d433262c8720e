package org.vireo.virtio.pci;

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
import static org.vireo.virtio.pci.VirtioPci.*;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import org.vireo.bus.pci.PciConfigSpace;
import org.vireo.virtio.VirtioFeatures;
import org.vireo.virtio.VirtioIds;
import org.vireo.virtio.testkit.EchoDevice;
import org.vireo.virtio.testkit.LogCapture;
import org.vireo.virtio.testkit.RecordingMachine;

/** The PCI function's config space and BAR0, driven the way a guest kernel would. */
public class PciRegistersTest {
    private static final int SLOT = 3;
    private static final int ALL_DRIVER_BITS = ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK;

    private RecordingMachine machine;
    private EchoDevice device;
    private VirtioPciFunction function;
    private long bar;
    private int gsi;

    @Before
    public void plug() {
        machine = new RecordingMachine();
        device = new EchoDevice();
        bar = machine.mmioSpace().allocate(BAR_SIZE, BAR_SIZE);
        gsi = machine.allocateIrq();
        function = new VirtioPciFunction(machine, device, "t/pci@00:03.0", bar, gsi);
        machine.pci().attach(SLOT, function);
    }

    @After
    public void unplug() {
        if (machine.pci().function(SLOT) == function) machine.pci().detach(SLOT);
        function.close();
        machine.close();
    }

    private int cfg(int offset, int size) { return machine.pci().configRead(0, SLOT, 0, offset, size); }

    private void cfg(int offset, int size, int value) { machine.pci().configWrite(0, SLOT, 0, offset, size, value); }

    private long read(int offset, int size) { return machine.mmio().read(bar + offset, size); }

    private void write(int offset, int size, long value) { machine.mmio().write(bar + offset, size, value); }

    private void enableMemory() { cfg(PciConfigSpace.COMMAND, 2, PciConfigSpace.COMMAND_MEMORY | PciConfigSpace.COMMAND_BUS_MASTER); }

    private RecordingMachine.Line line() { return machine.line(gsi); }

    /** cfg_type -> capability offset, and the MSI-X capability under key 0x11 << 8. */
    private Map<Integer, Integer> capabilities() {
        Map<Integer, Integer> caps = new HashMap<>();
        for (int at = cfg(PciConfigSpace.CAPABILITIES_POINTER, 1); at != 0; at = cfg(at + 1, 1)) {
            int id = cfg(at, 1);
            if (id == PciConfigSpace.CAP_VENDOR) caps.putIfAbsent(cfg(at + 3, 1), at);
            else caps.put(id << 8, at);
        }
        return caps;
    }

    private void negotiate(long features) {
        write(DEVICE_STATUS, 1, ACKNOWLEDGE);
        write(DEVICE_STATUS, 1, ACKNOWLEDGE | DRIVER);
        write(DRIVER_FEATURE_SELECT, 4, 0);
        write(DRIVER_FEATURE, 4, features & 0xffff_ffffL);
        write(DRIVER_FEATURE_SELECT, 4, 1);
        write(DRIVER_FEATURE, 4, features >>> 32);
        write(DEVICE_STATUS, 1, ACKNOWLEDGE | DRIVER | FEATURES_OK);
    }

    private void bringUp() {
        enableMemory();
        negotiate(VirtioFeatures.bit(VirtioFeatures.VERSION_1));
        write(QUEUE_SELECT, 2, 0);
        write(QUEUE_SIZE, 2, 16);
        write(QUEUE_DESC, 8, 0x10_0000);
        write(QUEUE_DRIVER, 8, 0x10_1000);
        write(QUEUE_DEVICE, 8, 0x10_2000);
        write(QUEUE_ENABLE, 2, 1);
        write(DEVICE_STATUS, 1, ALL_DRIVER_BITS);
        assertEquals(ALL_DRIVER_BITS, read(DEVICE_STATUS, 1));
        assertNotNull(device.context);
    }

    @Test
    public void identity() {
        assertEquals(0x1af4, cfg(PciConfigSpace.VENDOR_ID, 2));
        assertEquals(0x1040 + EchoDevice.ID, cfg(PciConfigSpace.DEVICE_ID, 2));
        assertEquals(1, cfg(PciConfigSpace.REVISION_ID, 1));
        assertEquals(0x00ff00, cfg(PciConfigSpace.REVISION_ID, 4) >>> 8);
        assertEquals(VirtioIds.VENDOR_VIREO & 0xffff, cfg(PciConfigSpace.SUBSYSTEM_VENDOR_ID, 2));
        assertEquals(EchoDevice.ID, cfg(PciConfigSpace.SUBSYSTEM_ID, 2));
        assertEquals(1, cfg(PciConfigSpace.INTERRUPT_PIN, 1));
        assertEquals(gsi, cfg(PciConfigSpace.INTERRUPT_LINE, 1));
        assertEquals(0, cfg(PciConfigSpace.HEADER_TYPE, 1));
        assertEquals(0x018000, classCode(VirtioIds.BLOCK));
        assertEquals(0x020000, classCode(VirtioIds.NET));
        assertEquals(0x078000, classCode(VirtioIds.CONSOLE));
        assertEquals(0x00ff00, classCode(VirtioIds.RNG));
        assertEquals("empty slots read all ones", 0xffff, machine.pci().configRead(0, SLOT + 1, 0, 0, 2));
    }

    @Test
    public void capabilityList() {
        assertTrue((cfg(PciConfigSpace.STATUS, 2) & PciConfigSpace.STATUS_CAPABILITIES) != 0);
        Map<Integer, Integer> caps = capabilities();
        int[][] expected = {
                {CAP_COMMON, COMMON_CFG, COMMON_CFG_LENGTH, 16},
                {CAP_NOTIFY, NOTIFY_CFG, 2 * NOTIFY_OFF_MULTIPLIER, 20},
                {CAP_ISR, ISR_CFG, 1, 16},
                {CAP_DEVICE, DEVICE_CFG, 8, 16},
                {CAP_PCI_CFG, 0, 0, 20},
        };
        for (int[] e : expected) {
            Integer at = caps.get(e[0]);
            assertNotNull("cfg_type " + e[0], at);
            assertEquals(e[3], cfg(at + 2, 1));
            assertEquals(0, cfg(at + 4, 1));
            assertEquals(e[1], cfg(at + 8, 4));
            assertEquals(e[2], cfg(at + 12, 4));
        }
        assertEquals(NOTIFY_OFF_MULTIPLIER, cfg(caps.get(CAP_NOTIFY) + 16, 4));
        int msix = caps.get(PciConfigSpace.CAP_MSIX << 8);
        assertEquals("2 queues + config", 2, cfg(msix + 2, 2) & 0x7ff);
        assertEquals(MSIX_TABLE, cfg(msix + 4, 4));
        assertEquals(MSIX_PBA, cfg(msix + 8, 4));
        // capabilities are read-only apart from the MSI-X control bits and the PCI_CFG window
        cfg(caps.get(CAP_COMMON) + 8, 4, 0x1234);
        assertEquals(COMMON_CFG, cfg(caps.get(CAP_COMMON) + 8, 4));
        cfg(msix + 2, 2, 0xffff);
        assertEquals(0xc002, cfg(msix + 2, 2));
    }

    @Test
    public void barSizingAndMapping() {
        assertEquals(((int) bar & ~0xf) | 0x4, cfg(PciConfigSpace.BAR0, 4));
        assertEquals((int) (bar >>> 32), cfg(PciConfigSpace.BAR0 + 4, 4));
        assertFalse("no decoding before memory enable", machine.mmio().claimed(bar));
        cfg(PciConfigSpace.BAR0, 4, -1);
        cfg(PciConfigSpace.BAR0 + 4, 4, -1);
        assertEquals((int) ~(BAR_SIZE - 1) | 0x4, cfg(PciConfigSpace.BAR0, 4));
        assertEquals(-1, cfg(PciConfigSpace.BAR0 + 4, 4));
        for (int b = 2; b < 6; b++) {
            cfg(PciConfigSpace.BAR0 + 4 * b, 4, -1);
            assertEquals("BAR" + b + " is unused", 0, cfg(PciConfigSpace.BAR0 + 4 * b, 4));
        }
        cfg(PciConfigSpace.BAR0, 4, (int) bar);
        cfg(PciConfigSpace.BAR0 + 4, 4, (int) (bar >>> 32));
        enableMemory();
        assertTrue(machine.mmio().claimed(bar));
        assertEquals(2, read(NUM_QUEUES, 2));
        long moved = bar + 0x10_0000;
        cfg(PciConfigSpace.BAR0, 4, (int) moved);
        assertFalse(machine.mmio().claimed(bar));
        assertTrue(machine.mmio().claimed(moved));
        assertEquals(2, machine.mmio().read(moved + NUM_QUEUES, 2));
        cfg(PciConfigSpace.COMMAND, 2, 0);
        assertFalse(machine.mmio().claimed(moved));
    }

    /** Issue 18: a guest that keeps placing BAR0 over another device gets a warning or two, not one per try. */
    @Test
    public void aBarPlacedOverAnotherDeviceAgainAndAgainIsLoggedAFewTimes() {
        long clash = bar + 0x10_0000;
        machine.mmio().register(clash, BAR_SIZE, "squatter", new org.vireo.bus.IoHandler() {
            @Override public long read(long offset, int size) { return 0; }

            @Override public void write(long offset, int size, long value) { }
        });
        enableMemory();
        try (LogCapture logs = LogCapture.of("org.vireo")) {
            for (int i = 0; i < 5000; i++) {
                cfg(PciConfigSpace.BAR0, 4, (int) clash);
                cfg(PciConfigSpace.BAR0, 4, (int) bar);
            }
            int warnings = logs.atLeast(java.util.logging.Level.WARNING).size();
            assertTrue("nothing was said", warnings >= 1);
            assertTrue(warnings + " warnings:\n" + logs.warnings(), warnings <= 2);
        }
        assertTrue(machine.mmio().claimed(bar));
        assertEquals(2, read(NUM_QUEUES, 2));
    }

    @Test
    public void commonConfiguration() {
        enableMemory();
        long offered = function.core().offeredFeatures();
        write(DEVICE_FEATURE_SELECT, 4, 0);
        assertEquals(offered & 0xffff_ffffL, read(DEVICE_FEATURE, 4));
        write(DEVICE_FEATURE_SELECT, 4, 1);
        assertEquals(1, read(DEVICE_FEATURE_SELECT, 4));
        assertEquals(offered >>> 32, read(DEVICE_FEATURE, 4));
        assertEquals(2, read(NUM_QUEUES, 2));
        assertEquals(0, read(NUM_QUEUES, 4)); // wrong width
        write(QUEUE_SELECT, 2, 1);
        assertEquals(1, read(QUEUE_SELECT, 2));
        assertEquals(16, read(QUEUE_SIZE, 2));
        assertEquals(1, read(QUEUE_NOTIFY_OFF, 2));
        assertEquals(NO_VECTOR, read(QUEUE_MSIX_VECTOR, 2));
        write(QUEUE_SIZE, 2, 8);
        assertEquals(8, read(QUEUE_SIZE, 2));
        write(QUEUE_DESC, 4, 0x1234_5000L);
        write(QUEUE_DESC + 4, 4, 0x9);
        assertEquals(0x9_1234_5000L, read(QUEUE_DESC, 8));
        assertEquals(0x9, read(QUEUE_DESC + 4, 4));
        write(QUEUE_DRIVER, 8, 0x7_0000_1000L);
        assertEquals(0x1000, read(QUEUE_DRIVER, 4));
        assertEquals(0x7, read(QUEUE_DRIVER + 4, 4));
        write(QUEUE_DEVICE, 2, 0x4444); // wrong width: ignored
        assertEquals(0, read(QUEUE_DEVICE, 8));
        write(QUEUE_MSIX_VECTOR, 2, 2);
        assertEquals(2, read(QUEUE_MSIX_VECTOR, 2));
        write(QUEUE_MSIX_VECTOR, 2, 3);
        assertEquals("no such table entry", NO_VECTOR, read(QUEUE_MSIX_VECTOR, 2));
        write(CONFIG_MSIX_VECTOR, 2, 0);
        assertEquals(0, read(CONFIG_MSIX_VECTOR, 2));
        write(QUEUE_SELECT, 2, 7);
        assertEquals(0, read(QUEUE_SIZE, 2));
        assertEquals(0, read(QUEUE_ENABLE, 2));
        assertEquals(0, read(QUEUE_NOTIFY_DATA, 2));
        assertEquals(0, read(QUEUE_RESET, 2));
        assertEquals(0, read(DEVICE_STATUS, 1));
        write(DEVICE_STATUS, 4, ACKNOWLEDGE); // wrong width
        assertEquals(0, read(DEVICE_STATUS, 1));
    }

    @Test
    public void statusMachineAndFeaturesOkRefusal() {
        enableMemory();
        negotiate(VirtioFeatures.bit(VirtioFeatures.VERSION_1) | (1L << 50));
        assertEquals(ACKNOWLEDGE | DRIVER, read(DEVICE_STATUS, 1));
        write(DEVICE_STATUS, 1, 0);
        negotiate(EchoDevice.OWN_FEATURE);
        assertEquals(ACKNOWLEDGE | DRIVER, read(DEVICE_STATUS, 1));
        write(DEVICE_STATUS, 1, 0);
        bringUp();
        write(DEVICE_STATUS, 1, ACKNOWLEDGE);
        assertEquals("bits only grow", ALL_DRIVER_BITS, read(DEVICE_STATUS, 1));
        int resets = device.resets.get();
        write(DEVICE_STATUS, 1, 0);
        assertEquals(resets + 1, device.resets.get());
        assertNull(device.context);
        write(QUEUE_SELECT, 2, 0);
        assertEquals(0, read(QUEUE_ENABLE, 2));
        assertEquals(64, read(QUEUE_SIZE, 2));
        assertEquals(0, read(QUEUE_DESC, 8));
    }

    @Test
    public void badQueueSetsNeedsReset() {
        enableMemory();
        negotiate(VirtioFeatures.bit(VirtioFeatures.VERSION_1));
        write(QUEUE_SELECT, 2, 0);
        write(QUEUE_SIZE, 2, 12);
        write(QUEUE_ENABLE, 2, 1);
        write(DEVICE_STATUS, 1, ALL_DRIVER_BITS);
        assertEquals(ALL_DRIVER_BITS | NEEDS_RESET, read(DEVICE_STATUS, 1));
        assertNull(device.context);
        assertTrue(line().level);
        assertEquals(2, read(ISR_CFG, 1));
        assertFalse(line().level);
    }

    @Test
    public void notifyRegistersPerQueue() {
        bringUp();
        write(NOTIFY_CFG, 2, 0);
        assertEquals(1, device.notifies.get());
        write(NOTIFY_CFG + 4, 2, 1); // queue 1 is not enabled
        write(NOTIFY_CFG + 2, 2, 0); // not a notify register
        write(NOTIFY_CFG + 8, 2, 2); // beyond the queues
        assertEquals(1, device.notifies.get());
        assertEquals(0, read(NOTIFY_CFG, 2));
    }

    @Test
    public void isrReadToClearDrivesIntx() {
        bringUp();
        int generation = (int) read(CONFIG_GENERATION, 1);
        device.context.signalConfigChange();
        assertEquals(generation + 1, read(CONFIG_GENERATION, 1));
        assertTrue(line().level);
        assertTrue((cfg(PciConfigSpace.STATUS, 2) & PciConfigSpace.STATUS_INTERRUPT) != 0);
        assertEquals(2, read(ISR_CFG, 1));
        assertFalse(line().level);
        assertEquals(0, cfg(PciConfigSpace.STATUS, 2) & PciConfigSpace.STATUS_INTERRUPT);
        assertEquals(0, read(ISR_CFG, 1));

        cfg(PciConfigSpace.COMMAND, 2, PciConfigSpace.COMMAND_MEMORY | PciConfigSpace.COMMAND_INTX_DISABLE);
        device.context.signalConfigChange();
        assertFalse("INTx disabled", line().level);
        assertTrue((cfg(PciConfigSpace.STATUS, 2) & PciConfigSpace.STATUS_INTERRUPT) != 0);
        cfg(PciConfigSpace.COMMAND, 2, PciConfigSpace.COMMAND_MEMORY);
        assertTrue("INTx enabled again with the interrupt still pending", line().level);
        cfg(PciConfigSpace.COMMAND, 2, PciConfigSpace.COMMAND_MEMORY | PciConfigSpace.COMMAND_INTX_DISABLE);
        assertFalse(line().level);
        assertEquals(2, read(ISR_CFG, 1));
        assertTrue(machine.msis.isEmpty());
    }

    @Test
    public void msixDeliveryMaskingAndPendingBits() {
        bringUp();
        int msix = capabilities().get(PciConfigSpace.CAP_MSIX << 8);
        cfg(msix + 2, 2, 0x8000);
        for (int v = 0; v < 3; v++) {
            write(MSIX_TABLE + 16 * v, 4, 0xfee0_0000L);
            write(MSIX_TABLE + 16 * v + 4, 4, 0);
            write(MSIX_TABLE + 16 * v + 8, 4, 0x40 + v);
            assertEquals("entries come out of reset masked", 1, read(MSIX_TABLE + 16 * v + 12, 4));
        }
        assertEquals(0xfee0_0000L, read(MSIX_TABLE + 16, 8));
        write(CONFIG_MSIX_VECTOR, 2, 2);

        device.context.signalConfigChange();
        assertTrue(machine.msis.isEmpty());
        assertEquals("vector 2 pending", 0b100, read(MSIX_PBA, 8));
        assertFalse("no INTx while MSI-X is on", line().level);
        write(MSIX_TABLE + 16 * 2 + 12, 4, 0); // unmask: the pending message goes out
        assertEquals(List.of(new RecordingMachine.Msi(0xfee0_0000L, 0x42)), machine.msis);
        assertEquals(0, read(MSIX_PBA, 8));

        machine.msis.clear();
        cfg(msix + 2, 2, 0xc000); // function mask
        device.context.signalConfigChange();
        assertTrue(machine.msis.isEmpty());
        assertEquals(0b100, read(MSIX_PBA, 4));
        cfg(msix + 2, 2, 0x8000);
        assertEquals(1, machine.msis.size());

        machine.msis.clear();
        write(CONFIG_MSIX_VECTOR, 2, NO_VECTOR);
        device.context.signalConfigChange();
        assertTrue("NO_VECTOR sends nothing", machine.msis.isEmpty());

        write(CONFIG_MSIX_VECTOR, 2, 2);
        cfg(PciConfigSpace.COMMAND, 2, PciConfigSpace.COMMAND_MEMORY); // bus master off
        device.context.signalConfigChange();
        assertTrue("no bus mastering, no MSI", machine.msis.isEmpty());
    }

    @Test
    public void pciCfgAccessWindow() {
        enableMemory();
        int at = capabilities().get(CAP_PCI_CFG);
        cfg(at + 4, 1, 0);
        cfg(at + 8, 4, NUM_QUEUES);
        cfg(at + 12, 4, 2);
        assertEquals(2, cfg(at + 16, 4));
        cfg(at + 8, 4, DEVICE_STATUS);
        cfg(at + 12, 4, 1);
        cfg(at + 16, 4, ACKNOWLEDGE);
        assertEquals(ACKNOWLEDGE, read(DEVICE_STATUS, 1));
        assertEquals(ACKNOWLEDGE, cfg(at + 16, 1));
        cfg(at + 8, 4, DEVICE_CFG);
        cfg(at + 12, 4, 4);
        assertEquals(EchoDevice.CONFIG_VALUE, cfg(at + 16, 4));
        // invalid windows do nothing
        cfg(at + 12, 4, 3);
        cfg(at + 16, 4, 0);
        cfg(at + 4, 1, 5);
        cfg(at + 12, 4, 4);
        cfg(at + 8, 4, (int) BAR_SIZE);
        cfg(at + 16, 4, 0);
        assertEquals(ACKNOWLEDGE, read(DEVICE_STATUS, 1));
    }

    @Test
    public void deviceConfigRegion() {
        enableMemory();
        assertEquals(EchoDevice.CONFIG_VALUE & 0xffff_ffffL, read(DEVICE_CFG, 4));
        assertEquals(0xf00d, read(DEVICE_CFG, 2));
        assertEquals(0, read(DEVICE_CFG + 8, 4));
        write(DEVICE_CFG + 4, 2, 0xbeef);
        assertEquals(0xbeef, read(DEVICE_CFG + 4, 4));
    }

    @Test
    public void hostileAccessesNeverThrowAndLeaveTheDeviceResettable() {
        bringUp();
        Random random = new Random(7);
        int[] sizes = {-1, 0, 1, 2, 3, 4, 5, 8};
        long[] values = {0, -1, 1, 0xffff};
        for (long offset = -4; offset < BAR_SIZE + 4; offset++) {
            for (int size : sizes) {
                for (long v : values) {
                    function.read(offset, size);
                    function.write(offset, size, v);
                }
                function.write(offset, size, random.nextLong());
            }
        }
        for (int offset = -4; offset < 264; offset++) {
            for (int size : sizes) {
                function.configRead(offset, size);
                function.configWrite(offset, size, random.nextInt());
                function.configWrite(offset, size, -1);
                machine.pci().configRead(0, SLOT, 0, offset, size);
                machine.pci().configWrite(0, SLOT, 0, offset, size, random.nextInt());
            }
        }
        // Restore what a guest would: BAR, decoding, MSI-X off, then reset and start again.
        cfg(PciConfigSpace.BAR0, 4, (int) bar);
        cfg(PciConfigSpace.BAR0 + 4, 4, (int) (bar >>> 32));
        cfg(capabilities().get(PciConfigSpace.CAP_MSIX << 8) + 2, 2, 0);
        enableMemory();
        write(DEVICE_STATUS, 1, 0);
        assertEquals(0, read(DEVICE_STATUS, 1));
        read(ISR_CFG, 1);
        bringUp();
        write(NOTIFY_CFG, 2, 0);
        assertTrue(device.notifies.get() > 0);
        assertEquals(0x1af4, cfg(PciConfigSpace.VENDOR_ID, 2));
    }

    @Test
    public void detachUnmapsAndCloseResets() {
        bringUp();
        machine.pci().detach(SLOT);
        assertFalse(machine.mmio().claimed(bar));
        int resets = device.resets.get();
        function.close();
        assertTrue(device.resets.get() > resets);
        assertFalse(line().level);
    }
}
