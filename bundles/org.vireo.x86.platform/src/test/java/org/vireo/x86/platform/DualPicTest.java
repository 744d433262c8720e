package org.vireo.x86.platform;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.util.concurrent.atomic.AtomicInteger;
import org.junit.Before;
import org.junit.Test;
import org.vireo.bus.IoBus;

public class DualPicTest {
    private final IoBus pio = new IoBus("pio");
    private final DualPic pic = new DualPic();
    private final AtomicInteger wakes = new AtomicInteger();

    @Before
    public void setUp() {
        pic.register(pio);
        pic.setWake(wakes::incrementAndGet);
    }

    /** The ICW sequence Linux's init_8259A writes (vectors 0x30 and 0x38), then everything unmasked. */
    private void initialiseLikeLinux(int icw4) {
        out(0x21, 0xff); out(0xa1, 0xff);
        out(0x20, 0x11); out(0x21, 0x30); out(0x21, 0x04); out(0x21, icw4);
        out(0xa0, 0x11); out(0xa1, 0x38); out(0xa1, 0x02); out(0xa1, icw4);
        out(0x21, 0x00); out(0xa1, 0x00);
    }

    private void out(int port, int v) { pio.write(port, 1, v); }

    private int in(int port) { return (int) pio.read(port, 1); }

    private void eoi(int irq) {
        if (irq >= 8) out(0xa0, 0x60 | (irq & 7));
        out(0x20, 0x60 | (irq >= 8 ? 2 : irq));
    }

    @Test
    public void edgeInterruptIsDeliveredOnceUntilEoi() {
        initialiseLikeLinux(0x01);
        assertFalse(pic.interruptPending());
        pic.line(4).raise();
        assertTrue(pic.interruptPending());
        assertTrue("a raised line wakes the CPU", wakes.get() > 0);
        assertEquals(0x34, pic.acknowledgeInterrupt());
        assertEquals(1 << 4, pic.inService());
        assertFalse("the edge was consumed", pic.interruptPending());
        pic.line(4).raise();     // still high: no new edge
        eoi(4);
        assertEquals(0, pic.inService());
        assertFalse(pic.interruptPending());
        pic.line(4).lower();
        pic.line(4).raise();
        assertTrue("a new edge requests again", pic.interruptPending());
    }

    @Test
    public void higherPriorityNestsLowerWaits() {
        initialiseLikeLinux(0x01);
        pic.line(5).raise();
        pic.line(3).raise();
        assertEquals(0x33, pic.acknowledgeInterrupt());
        assertFalse("IRQ5 waits while IRQ3 is in service", pic.interruptPending());
        pic.line(1).raise();
        assertTrue("IRQ1 outranks IRQ3", pic.interruptPending());
        assertEquals(0x31, pic.acknowledgeInterrupt());
        out(0x20, 0x20);                              // non-specific EOI ends the highest: IRQ1
        assertEquals(1 << 3, pic.inService());
        out(0x20, 0x20);
        assertEquals(0x35, pic.acknowledgeInterrupt());
    }

    @Test
    public void maskedLinesWaitInIrr() {
        initialiseLikeLinux(0x01);
        out(0x21, 1 << 6);
        pic.line(6).raise();
        assertFalse(pic.interruptPending());
        assertEquals(1 << 6, pic.requested() & 0xff);
        assertEquals(1 << 6, in(0x21));
        int before = wakes.get();
        out(0x21, 0);
        assertTrue(pic.interruptPending());
        assertTrue("unmasking a pending line wakes the CPU", wakes.get() > before);
        assertEquals(0x36, pic.acknowledgeInterrupt());
    }

    @Test
    public void slaveInterruptsCascadeThroughIrq2() {
        initialiseLikeLinux(0x01);
        pic.line(10).raise();
        assertTrue(pic.interruptPending());
        assertEquals(0x3a, pic.acknowledgeInterrupt());
        assertEquals(1 << 2 | 1 << 10, pic.inService());
        eoi(10);
        assertEquals(0, pic.inService());
        pic.line(14).raise();
        pic.line(12).raise();
        assertEquals(0x3c, pic.acknowledgeInterrupt());
        eoi(12);
        assertTrue("the other slave request comes through once the first ends", pic.interruptPending());
        assertEquals(0x3e, pic.acknowledgeInterrupt());
    }

    @Test
    public void levelTriggeredLinesFollowTheLineViaElcr() {
        initialiseLikeLinux(0x01);
        out(0x4d0, 0xff);
        out(0x4d1, 0xff);
        assertEquals("IRQ0-2 are always edge", 0xf8, in(0x4d0));
        assertEquals("IRQ8 and IRQ13 are always edge", 0xde, in(0x4d1));
        out(0x4d1, 1 << 3);                        // IRQ11 level
        pic.line(11).raise();
        assertEquals(0x3b, pic.acknowledgeInterrupt());
        eoi(11);
        assertTrue("a level line still high requests again", pic.interruptPending());
        assertEquals(0x3b, pic.acknowledgeInterrupt());
        pic.line(11).lower();
        eoi(11);
        assertFalse(pic.interruptPending());
        out(0x4d0, 0x00);
        pic.setLevelTriggered(5, true);
        assertEquals(1 << 5, in(0x4d0));
    }

    @Test
    public void requestThatGoesAwayIsSpurious() {
        initialiseLikeLinux(0x01);
        pic.setLevelTriggered(9, true);
        pic.setLevelTriggered(5, true);
        pic.line(5).raise();
        assertTrue(pic.interruptPending());
        pic.line(5).lower();
        assertEquals("spurious IRQ7", 0x37, pic.acknowledgeInterrupt());
        assertEquals("a spurious interrupt is not put in service", 0, pic.inService());

        pic.line(9).raise();
        pic.line(5).raise();
        pic.line(5).lower();
        pic.line(9).lower();
        assertEquals("spurious IRQ15 from the slave", 0x3f, pic.acknowledgeInterrupt());
        assertEquals("the master's cascade input is in service, the slave's nothing", 1 << 2, pic.inService());
    }

    @Test
    public void autoEoiLeavesNothingInService() {
        initialiseLikeLinux(0x03);
        pic.line(3).raise();
        assertEquals(0x33, pic.acknowledgeInterrupt());
        assertEquals(0, pic.inService());
        pic.line(4).raise();
        assertEquals(0x34, pic.acknowledgeInterrupt());
    }

    @Test
    public void ocw3SelectsIrrOrIsrAndPolls() {
        initialiseLikeLinux(0x01);
        out(0x21, 0xff);                           // masked: requests stay in IRR
        pic.line(6).raise();
        out(0x20, 0x0a);
        assertEquals(1 << 6, in(0x20));
        out(0x21, 0x00);
        pic.acknowledgeInterrupt();
        out(0x20, 0x0b);
        assertEquals(1 << 6, in(0x20));
        eoi(6);
        pic.line(3).raise();
        out(0x20, 0x0c);                           // poll
        assertEquals(0x80 | 3, in(0x20));
        assertEquals("a poll acknowledges", 1 << 3, pic.inService());
    }

    @Test
    public void specificRotationChangesPriority() {
        initialiseLikeLinux(0x01);
        out(0x20, 0xc0 | 3);                       // IRQ3 lowest, IRQ4 highest
        pic.line(1).raise();
        pic.line(5).raise();
        assertEquals(0x35, pic.acknowledgeInterrupt());
        out(0x20, 0x20);
        assertEquals(0x31, pic.acknowledgeInterrupt());
    }

    @Test(expected = IllegalArgumentException.class)
    public void cascadeLineIsNotADeviceLine() {
        pic.line(2);
    }

    @Test(expected = IllegalArgumentException.class)
    public void onlySixteenLines() {
        pic.line(16);
    }

    @Test
    public void acknowledgeListenerHearsWhichLineWasTaken() {
        initialiseLikeLinux(0x01);
        java.util.List<Integer> taken = new java.util.ArrayList<>();
        pic.setAcknowledgeListener(taken::add);
        pic.line(0).pulse();
        assertTrue(pic.requestPending(0));
        assertEquals(0x30, pic.acknowledgeInterrupt());
        assertFalse("INTA clears the request", pic.requestPending(0));
        eoi(0);
        pic.line(12).pulse();
        assertTrue(pic.requestPending(12));
        assertEquals(0x3c, pic.acknowledgeInterrupt());
        eoi(12);
        assertEquals(0x37, pic.acknowledgeInterrupt());      // nothing pending: spurious IRQ7
        assertEquals("spurious cycles are not reported", java.util.List.of(0, 12), taken);
    }
}
