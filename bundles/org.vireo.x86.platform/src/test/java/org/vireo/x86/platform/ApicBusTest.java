package org.vireo.x86.platform;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.util.List;
import org.junit.Test;
import org.vireo.bus.IoBus;

public class ApicBusTest {
    private final ManualClock clock = new ManualClock();
    private final DualPic pic = new DualPic();
    private final LocalApic apic = new LocalApic(0, clock, pic);
    private final ApicBus bus = new ApicBus(pic, List.of(apic));

    private void enable() { apic.write(LocalApic.SVR, 4, LocalApic.SVR_ENABLE | 0xff); }

    /** Acknowledges the interrupt the CPU would take now and ends it, returning its vector. */
    private int take() {
        int vector = apic.acknowledgeInterrupt();
        apic.write(LocalApic.EOI, 4, 0);
        return vector;
    }

    private void program(int pin, long entry) {
        IoApic io = bus.ioApic();
        io.write(IoApic.SELECT, 4, 0x10 + 2 * pin + 1);
        io.write(IoApic.WINDOW, 4, entry >>> 32);
        io.write(IoApic.SELECT, 4, 0x10 + 2 * pin);
        io.write(IoApic.WINDOW, 4, entry & 0xffff_ffffL);
    }

    @Test
    public void anMsiReachesTheLocalApicItAddresses() {
        enable();
        bus.sendMsi(0xFEE0_0000L, 0x4022);
        assertTrue(apic.interruptPending());
        assertEquals(0x22, apic.acknowledgeInterrupt());
        bus.sendMsi(0xFEE0_1000L, 0x23);                       // APIC ID 1: nobody
        bus.sendMsi(0xFED0_0000L, 0x24);                       // outside the window
        assertFalse(apic.interruptPending());
    }

    @Test
    public void logicalFlatAndClusterDestinationsAreMatchedAgainstTheLogicalId() {
        enable();
        apic.write(LocalApic.LDR, 4, 0x0400_0000);
        bus.sendMsi(0xFEE0_4004L, 0x30);                       // logical, destination 0x04
        assertEquals(0x30, take());
        apic.write(LocalApic.DFR, 4, 0x0fff_ffff);              // cluster model: cluster 0, member bit 2
        bus.sendMsi(0xFEE1_4004L, 0x31);
        assertFalse("cluster 1 is not ours", apic.interruptPending());
        bus.sendMsi(0xFEE0_F004L, 0x32);
        assertEquals(0x32, apic.acknowledgeInterrupt());
    }

    @Test
    public void isaIrq0IsIoApicPin2AndOtherLinesReachBothControllers() {
        enable();
        program(2, 0x30);
        program(9, IoApic.LEVEL | 0x39);
        bus.line(0).pulse();
        assertEquals(0x30, take());
        bus.line(9).raise();
        assertTrue("the PIC saw it too", pic.requestPending(9));
        assertEquals(0x39, apic.acknowledgeInterrupt());
        apic.write(LocalApic.EOI, 4, 0);                        // ends 0x39: level, the line is still up
        assertEquals("re-sent after the EOI", 0x39, apic.acknowledgeInterrupt());
        assertThrows(IllegalArgumentException.class, () -> bus.line(2));
        assertThrows(IllegalArgumentException.class, () -> bus.line(24));
        bus.line(20).raise();                                   // a PCI GSI: IOAPIC only
    }

    @Test
    public void aSelfIpiThroughTheIcrIsDelivered() {
        enable();
        IoBus mmio = new IoBus("mmio");
        mmio.register(LocalApic.DEFAULT_BASE, LocalApic.SIZE, "lapic", apic);
        mmio.write(LocalApic.DEFAULT_BASE + LocalApic.ICR_LOW, 4, 1 << 18 | 0xfd);     // shorthand "self"
        assertEquals(0xfd, take());
        mmio.write(LocalApic.DEFAULT_BASE + LocalApic.ICR_HIGH, 4, 0);
        mmio.write(LocalApic.DEFAULT_BASE + LocalApic.ICR_LOW, 4, 0xfc);                // physical, APIC 0
        assertEquals(0xfc, apic.acknowledgeInterrupt());
        mmio.write(LocalApic.DEFAULT_BASE + LocalApic.ICR_LOW, 4, 3 << 18 | 0xfb);     // all excluding self
        assertFalse(apic.interruptPending());
    }
}
