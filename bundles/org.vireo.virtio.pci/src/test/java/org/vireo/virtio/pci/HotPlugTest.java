package org.vireo.virtio.pci;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.After;
import org.junit.Test;
import org.vireo.bus.pci.PciConfigSpace;
import org.vireo.bus.pci.PcieRootPort;
import org.vireo.virtio.core.PluggedDevice;
import org.vireo.virtio.testkit.EchoDevice;
import org.vireo.virtio.testkit.RecordingMachine;

/** {@link VirtioPci#plug} with a PCIe hot-plug slot on bus 0: into the slot only while the guest listens on it. */
public class HotPlugTest {
    private static final int PORT_SLOT = 7;
    private static final int LISTENING = PcieRootPort.SLOT_CTL_HOT_PLUG_INTERRUPT_ENABLE | PcieRootPort.SLOT_CTL_LINK_STATE_ENABLE
            | PcieRootPort.SLOT_CTL_ATTENTION_BUTTON_ENABLE;

    private final RecordingMachine machine = new RecordingMachine();
    private final PcieRootPort port;

    public HotPlugTest() {
        int irq = machine.allocateIrq();
        port = new PcieRootPort(1, 0xC000_0000L, 0x20_0000, irq, machine.interrupts().line(irq));
        machine.pci().attach(PORT_SLOT, port);
    }

    @After
    public void close() { machine.close(); }

    private void guestControls(int slotControl) {
        machine.pci().configWrite(0, PORT_SLOT, 0, PcieRootPort.SLOT_CONTROL, 2, slotControl);
    }

    @Test
    public void beforeTheGuestListensDevicesGoOnBusZero() {
        try (PluggedDevice plugged = VirtioPci.plug(machine, new EchoDevice(), "echo")) {
            assertFalse(port.occupied());
            assertTrue(plugged.info().toString(), plugged.info().toString().contains("00:01.0"));
            assertEquals(VirtioPci.VENDOR, machine.pci().configRead(0, 1, 0, PciConfigSpace.VENDOR_ID, 2));
        }
    }

    @Test
    public void aListeningGuestGetsTheDeviceInTheSlotAndReleasesItByPoweringOff() throws Exception {
        guestControls(LISTENING | PcieRootPort.SLOT_CTL_POWER_OFF);
        PluggedDevice plugged = VirtioPci.plug(machine, new EchoDevice(), "echo");
        assertTrue(port.occupied());
        assertTrue(plugged.info().toString(), plugged.info().toString().contains("01:00.0"));
        assertEquals(VirtioPci.VENDOR, machine.pci().configRead(1, 0, 0, PciConfigSpace.VENDOR_ID, 2));
        assertEquals(0xffff, machine.pci().configRead(0, 1, 0, PciConfigSpace.VENDOR_ID, 2));
        assertFalse("one device per slot", port.accepting());

        guestControls(LISTENING);   // the guest powers the slot on and uses the device
        CompletableFuture<Void> unplug = CompletableFuture.runAsync(plugged::close);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while ((port.configRead(PcieRootPort.SLOT_STATUS, 2) & PcieRootPort.SLOT_STA_ATTENTION_BUTTON) == 0) {
            assertTrue("the attention button was pressed", System.nanoTime() < deadline);
            Thread.onSpinWait();
        }
        assertFalse("waits for the guest", unplug.isDone());
        assertEquals(VirtioPci.VENDOR, machine.pci().configRead(1, 0, 0, PciConfigSpace.VENDOR_ID, 2));
        guestControls(LISTENING | PcieRootPort.SLOT_CTL_POWER_OFF);
        unplug.get(30, TimeUnit.SECONDS);
        assertFalse(port.occupied());
        assertNull(port.secondaryBus().function(0));
        assertTrue("the slot takes the next device", port.accepting());
    }

    @Test
    public void anUnpoweredSlotEmptiesAtOnceAndGivesBackTheLineAndWindow() {
        guestControls(LISTENING | PcieRootPort.SLOT_CTL_POWER_OFF);
        PluggedDevice plugged = VirtioPci.plug(machine, new EchoDevice(), "echo");
        int line = machine.pci().configRead(1, 0, 0, PciConfigSpace.INTERRUPT_LINE, 1);
        plugged.close();
        assertFalse(port.occupied());
        assertEquals("the line is free again", line, machine.allocateIrq());
    }
}
