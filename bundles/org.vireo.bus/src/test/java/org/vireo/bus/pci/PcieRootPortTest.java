package org.vireo.bus.pci;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.Test;
import org.vireo.bus.InterruptLine;

public class PcieRootPortTest {
    private static final long WINDOW = 0xC010_0000L;
    private static final int GUEST_ENABLES = PcieRootPort.SLOT_CTL_LINK_STATE_ENABLE | PcieRootPort.SLOT_CTL_ATTENTION_BUTTON_ENABLE
            | PcieRootPort.SLOT_CTL_HOT_PLUG_INTERRUPT_ENABLE;

    private static final class Line implements InterruptLine {
        volatile boolean level;

        @Override public void set(boolean level) { this.level = level; }
    }

    private final Line line = new Line();
    private final PcieRootPort port = new PcieRootPort(3, WINDOW, 0x20_0000, 10, line);
    private final PciBus bus = new PciBus();

    private static PciFunction card(int vendor) {
        PciConfigSpace c = new PciConfigSpace(vendor, 0x1044, 0x00ff00, 1);
        return c;
    }

    private int cfg(int bus, int device, int offset, int size) { return this.bus.configRead(bus, device, 0, offset, size); }

    /** What Linux's pciehp does once bound: power the empty slot off, enable link-state, button and hot-plug interrupts. */
    private void guestEnablesHotplug() {
        port.configWrite(PcieRootPort.SLOT_CONTROL, 2, GUEST_ENABLES | PcieRootPort.SLOT_CTL_POWER_OFF | 0x3c0);
    }

    @Test
    public void typeOneHeaderWithPcieCapabilityAndHotplugSlot() {
        bus.attach(4, port);
        assertEquals(0x000c_1b36, cfg(0, 4, 0, 4));
        assertEquals(0x060400, cfg(0, 4, 0x08, 4) >>> 8);
        assertEquals(0x01, cfg(0, 4, 0x0e, 1));
        assertEquals(0x010100, cfg(0, 4, 0x18, 4) & 0xffffff);   // primary 0, secondary 1, subordinate 1
        assertEquals(0xc010, cfg(0, 4, 0x20, 2));
        assertEquals(0xc020, cfg(0, 4, 0x22, 2));                // limit 0xc02fffff
        assertEquals(0x40, cfg(0, 4, 0x34, 1));
        assertEquals(0x10, cfg(0, 4, 0x40, 1));
        assertEquals(0x0142, cfg(0, 4, 0x42, 2));               // v2, root port, slot implemented
        int linkCap = cfg(0, 4, PcieRootPort.LINK_CAPABILITIES, 4);
        assertTrue("DLL link active reporting", (linkCap & 1 << 20) != 0);
        int slotCap = cfg(0, 4, PcieRootPort.SLOT_CAPABILITIES, 4);
        assertTrue((slotCap & PcieRootPort.SLOT_CAP_HOT_PLUG_CAPABLE) != 0);
        assertTrue((slotCap & PcieRootPort.SLOT_CAP_NO_COMMAND_COMPLETED) != 0);
        assertEquals(3, slotCap >>> 19);
        assertEquals(10, cfg(0, 4, 0x3c, 1));
        assertEquals(1, cfg(0, 4, 0x3d, 1));
        assertEquals(0, cfg(0, 4, PcieRootPort.SLOT_STATUS, 2) & PcieRootPort.SLOT_STA_PRESENCE);
    }

    @Test
    public void ioAndPrefetchableWindowsAreAbsent() {
        port.configWrite(0x1c, 2, 0xe0f0);
        port.configWrite(0x24, 4, 0xffe0fff0);
        assertEquals(0, port.configRead(0x1c, 2));
        assertEquals(0, port.configRead(0x24, 4));
    }

    @Test
    public void memoryWindowAndBusNumbersAreProgrammable() {
        port.configWrite(0x18, 4, 0x00_05_02_00);
        port.configWrite(0x20, 4, 0xc0f0_c050 | 0x000f_000f);
        assertEquals(2, port.secondaryBusNumber());
        assertEquals(5, port.subordinateBusNumber());
        assertArrayEquals(new long[] {0xc050_0000L, 0xc0ff_ffffL}, port.memoryWindow());
        assertEquals(0xc0f0_c050, port.configRead(0x20, 4));
    }

    @Test
    public void configAccessesRouteBySecondaryBusNumber() {
        bus.attach(4, port);
        PciFunction inner = card(0x1af4);
        port.secondaryBus().attach(0, inner);
        assertEquals(0x1af4, cfg(1, 0, 0, 2));
        assertEquals(0xffff, cfg(1, 1, 0, 2));     // only device 0 sits behind a port
        assertEquals(0xffff, cfg(2, 0, 0, 2));     // beyond the subordinate bus
        bus.configWrite(0, 4, 0, 0x19, 1, 7);      // the guest renumbers the secondary bus
        bus.configWrite(0, 4, 0, 0x1a, 1, 7);
        assertEquals(0xffff, cfg(1, 0, 0, 2));
        assertEquals(0x1af4, cfg(7, 0, 0, 2));
        bus.configWrite(7, 0, 0, PciConfigSpace.INTERRUPT_LINE, 1, 0x2a);
        assertEquals(0x2a, inner.configRead(PciConfigSpace.INTERRUPT_LINE, 1));
        bus.configWrite(0, 4, 0, 0x19, 1, 0);      // unassigned: nothing routes, bus 0 stays bus 0
        assertEquals(0xffff, cfg(7, 0, 0, 2));
        assertEquals(0x1b36, cfg(0, 4, 0, 2));
    }

    @Test
    public void bridgesNestBehindBridges() {
        bus.attach(4, port);
        port.configWrite(0x18, 4, 0x00_03_01_00);
        PcieRootPort inner = new PcieRootPort(4, 0xC040_0000L, 0x10_0000, 11, new Line());
        inner.configWrite(0x18, 4, 0x00_03_03_01);
        port.secondaryBus().attach(0, inner);
        inner.secondaryBus().attach(0, card(0x1234));
        assertEquals(0x1b36, cfg(1, 0, 0, 2));
        assertEquals(0x1234, cfg(3, 0, 0, 2));
        assertEquals(0xffff, cfg(2, 0, 0, 2));
    }

    @Test
    public void insertionReportsPresenceAndLinkUpThroughIntx() {
        assertFalse("the guest does not listen yet", port.accepting());
        guestEnablesHotplug();
        assertTrue(port.accepting());
        assertFalse(line.level);
        PciFunction f = card(0x1af4);
        port.insert(f);
        assertSame(f, port.secondaryBus().function(0));
        assertTrue(line.level);
        int status = port.configRead(PcieRootPort.SLOT_STATUS, 2);
        assertEquals(PcieRootPort.SLOT_STA_PRESENCE | PcieRootPort.SLOT_STA_PRESENCE_CHANGED | PcieRootPort.SLOT_STA_LINK_STATE_CHANGED, status);
        assertTrue((port.configRead(PcieRootPort.LINK_STATUS, 2) & PcieRootPort.LINK_STA_ACTIVE) != 0);
        assertTrue("interrupt status", (port.configRead(PciConfigSpace.STATUS, 2) & 0x8) != 0);
        // write-1-to-clear the events: the line drops, presence stays
        port.configWrite(PcieRootPort.SLOT_STATUS, 2, status);
        assertFalse(line.level);
        assertEquals(PcieRootPort.SLOT_STA_PRESENCE, port.configRead(PcieRootPort.SLOT_STATUS, 2));
        assertFalse(port.accepting());
    }

    @Test
    public void intxDisableAndDisabledEventsKeepTheLineLow() {
        guestEnablesHotplug();
        port.configWrite(PciConfigSpace.COMMAND, 2, 0x400);
        port.insert(card(0x1af4));
        assertFalse(line.level);
        port.configWrite(PciConfigSpace.COMMAND, 2, 0);
        assertTrue(line.level);
        port.configWrite(PcieRootPort.SLOT_CONTROL, 2, PcieRootPort.SLOT_CTL_HOT_PLUG_INTERRUPT_ENABLE);   // no event enabled
        assertFalse(line.level);
    }

    @Test
    public void orderlyRemovalPressesTheButtonAndWaitsForPowerOff() throws Exception {
        guestEnablesHotplug();
        PciFunction f = card(0x1af4);
        port.insert(f);
        port.configWrite(PcieRootPort.SLOT_STATUS, 2, 0x1ff);
        port.configWrite(PcieRootPort.SLOT_CONTROL, 2, GUEST_ENABLES);   // the guest powers the slot on
        assertTrue(port.poweredOn());
        CompletableFuture<Boolean> removal = CompletableFuture.supplyAsync(() -> port.remove(f, Duration.ofMinutes(1)));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while ((port.configRead(PcieRootPort.SLOT_STATUS, 2) & PcieRootPort.SLOT_STA_ATTENTION_BUTTON) == 0) {
            assertTrue("attention button pressed", System.nanoTime() < deadline);
            Thread.onSpinWait();
        }
        assertTrue(line.level);
        assertFalse(removal.isDone());
        assertSame("still there until the guest powers off", f, port.secondaryBus().function(0));
        port.configWrite(PcieRootPort.SLOT_STATUS, 2, PcieRootPort.SLOT_STA_ATTENTION_BUTTON);
        port.configWrite(PcieRootPort.SLOT_CONTROL, 2, GUEST_ENABLES | PcieRootPort.SLOT_CTL_POWER_OFF);
        assertTrue(removal.get(30, TimeUnit.SECONDS));
        assertNull(port.secondaryBus().function(0));
        assertEquals(0, port.configRead(PcieRootPort.SLOT_STATUS, 2) & PcieRootPort.SLOT_STA_PRESENCE);
        assertEquals(0, port.configRead(PcieRootPort.LINK_STATUS, 2) & PcieRootPort.LINK_STA_ACTIVE);
        assertTrue(port.accepting());
    }

    @Test
    public void removalTimesOutIntoSurpriseRemoval() {
        guestEnablesHotplug();
        PciFunction f = card(0x1af4);
        port.insert(f);
        port.configWrite(PcieRootPort.SLOT_CONTROL, 2, GUEST_ENABLES);
        assertFalse(port.remove(f, Duration.ofMillis(1)));
        assertNull(port.secondaryBus().function(0));
        assertTrue((port.configRead(PcieRootPort.SLOT_STATUS, 2) & PcieRootPort.SLOT_STA_PRESENCE_CHANGED) != 0);
    }

    @Test
    public void afterTheGuestStoppedARemovalDoesNotWaitForIt() throws Exception {
        guestEnablesHotplug();
        PciFunction f = card(0x1af4);
        port.insert(f);
        port.configWrite(PcieRootPort.SLOT_CONTROL, 2, GUEST_ENABLES);   // powered on, and nobody will power it off
        port.guestStopped();
        // Without guestStopped this would wait a day; the guard below fails the test instead of hanging it.
        CompletableFuture<Boolean> removal = CompletableFuture.supplyAsync(() -> port.remove(f, Duration.ofDays(1)));
        assertFalse("pulled, not powered off", removal.get(30, TimeUnit.SECONDS));
        assertNull(port.secondaryBus().function(0));
    }

    @Test
    public void aSlotTheGuestNeverPoweredEmptiesAtOnce() {
        guestEnablesHotplug();
        PciFunction f = card(0x1af4);
        port.insert(f);
        assertTrue(port.remove(f, Duration.ofDays(1)));
        assertNull(port.secondaryBus().function(0));
    }

    @Test
    public void hostileAccessesNeitherThrowNorReachReadOnlyRegisters() {
        for (int offset = -4; offset < 264; offset++) {
            for (int size : new int[] {0, 1, 2, 3, 4, 8}) {
                port.configWrite(offset, size, -1);
                port.configRead(offset, size);
            }
        }
        assertEquals(0x000c_1b36, port.configRead(0, 4));
        assertEquals(0x060400, port.configRead(0x08, 4) >>> 8);
        assertEquals(0, port.configRead(PcieRootPort.SLOT_STATUS, 2) & PcieRootPort.SLOT_STA_PRESENCE);
    }
}
