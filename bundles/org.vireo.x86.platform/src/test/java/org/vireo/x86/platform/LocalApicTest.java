package org.vireo.x86.platform;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.Before;
import org.junit.Test;

public class LocalApicTest {
    /** A PIC stand-in: INTR as set, INTA returns 0x20 + the number of acknowledgements so far. */
    private static final class FakePic implements InterruptOutput {
        boolean intr;
        int acks;

        @Override public boolean interruptPending() { return intr; }

        @Override public int acknowledgeInterrupt() { return 0x20 + acks++; }
    }

    private final ManualClock clock = new ManualClock(1_000_000);
    private final FakePic pic = new FakePic();
    private final LocalApic apic = new LocalApic(0, clock, pic);
    private final AtomicInteger wakes = new AtomicInteger();
    private final List<Integer> levelEois = new ArrayList<>();

    @Before
    public void setUp() {
        apic.setWake(wakes::incrementAndGet);
        apic.setLevelEoiListener(levelEois::add);
    }

    private void write(int reg, int value) { apic.write(reg, 4, value & 0xffff_ffffL); }

    private int read(int reg) { return (int) apic.read(reg, 4); }

    private void enable() { write(LocalApic.SVR, LocalApic.SVR_ENABLE | 0xff); }

    @Test
    public void resetStateIsSoftwareDisabledWithTheBootProcessorsLint0InVirtualWireMode() {
        assertEquals(0x0005_0014, read(LocalApic.VER));
        assertEquals(0xff, read(LocalApic.SVR));
        assertEquals(0xffff_ffff, read(LocalApic.DFR));
        assertEquals(LocalApic.MASKED, read(LocalApic.LVT_TIMER));
        assertEquals(0x700, read(LocalApic.LVT_LINT0));
        assertEquals(LocalApic.DEFAULT_BASE | LocalApic.BASE_ENABLE | LocalApic.BASE_BSP, apic.apicBase());
        assertEquals("not the BSP, LINT0 masked", LocalApic.MASKED, read(new LocalApic(1, clock, pic), LocalApic.LVT_LINT0));
    }

    private static int read(LocalApic a, int reg) { return (int) a.read(reg, 4); }

    @Test
    public void thePicsInterruptsPassThroughLint0UntilItIsMasked() {
        pic.intr = true;
        assertTrue(apic.interruptPending());
        assertEquals(0x20, apic.acknowledgeInterrupt());
        enable();
        write(LocalApic.LVT_LINT0, LocalApic.MASKED | 0x700);
        assertFalse("LINT0 masked: the PIC no longer reaches the CPU", apic.interruptPending());
        assertEquals(-1, apic.acknowledgeInterrupt());
    }

    @Test
    public void aFixedInterruptWaitsForTheSoftwareEnableThenGoesFromIrrToIsrAndAnEoiEndsIt() {
        apic.accept(LocalApic.FIXED, 0x41, false);
        assertFalse("software-disabled", apic.interruptPending());
        assertEquals(1 << 1, read(LocalApic.IRR + 0x20));
        enable();
        assertTrue(apic.interruptPending());
        assertTrue(wakes.get() > 0);
        assertEquals(0x41, apic.acknowledgeInterrupt());
        assertEquals(0, read(LocalApic.IRR + 0x20));
        assertEquals(1 << 1, read(LocalApic.ISR + 0x20));
        assertEquals("the processor priority is the in-service class", 0x40, read(LocalApic.PPR));
        assertFalse(apic.interruptPending());
        write(LocalApic.EOI, 0);
        assertEquals(0, read(LocalApic.ISR + 0x20));
        assertEquals(0, read(LocalApic.PPR));
        assertTrue("an edge-triggered EOI is not broadcast", levelEois.isEmpty());
    }

    @Test
    public void priorityClassesNestAndTheTaskPriorityHoldsBackLowerClasses() {
        enable();
        apic.accept(LocalApic.FIXED, 0x51, false);
        assertEquals(0x51, apic.acknowledgeInterrupt());
        apic.accept(LocalApic.FIXED, 0x55, false);
        assertFalse("same class as the one in service", apic.interruptPending());
        apic.accept(LocalApic.FIXED, 0x61, false);
        assertTrue(apic.interruptPending());
        assertEquals("the higher class interrupts the lower", 0x61, apic.acknowledgeInterrupt());
        write(LocalApic.EOI, 0);
        write(LocalApic.EOI, 0);
        write(LocalApic.TPR, 0x60);
        assertFalse("TPR 0x60 holds back class 5", apic.interruptPending());
        write(LocalApic.TPR, 0x40);
        assertEquals(0x55, apic.acknowledgeInterrupt());
    }

    @Test
    public void theEoiOfALevelTriggeredVectorGoesToTheIoApic() {
        enable();
        apic.accept(LocalApic.FIXED, 0x31, true);
        assertEquals(1 << 17, read(LocalApic.TMR + 0x10));
        assertEquals(0x31, apic.acknowledgeInterrupt());
        write(LocalApic.EOI, 0);
        assertEquals(List.of(0x31), levelEois);
    }

    @Test
    public void vectorsBelowSixteenAreRefusedAndReportedInTheErrorStatus() {
        enable();
        apic.accept(LocalApic.FIXED, 3, false);
        assertFalse(apic.interruptPending());
        write(LocalApic.ESR, 0);
        assertEquals(LocalApic.ESR_RECEIVE_ILLEGAL_VECTOR, read(LocalApic.ESR));
    }

    @Test
    public void aOneShotTimerCountsDownInBusClocksAndFiresOnce() {
        enable();
        write(LocalApic.TIMER_DIVIDE, 0b1011);                 // divide by 1
        write(LocalApic.LVT_TIMER, 0xec);
        assertEquals("the timer's mask bit is writable", 0xec, read(LocalApic.LVT_TIMER));
        write(LocalApic.TIMER_INITIAL, 1000);
        assertEquals(clock.nanos() + 1000, apic.nextEventNanos());
        clock.advance(400);
        assertEquals(600, read(LocalApic.TIMER_CURRENT));
        apic.update();
        assertFalse(apic.interruptPending());
        clock.advance(600);
        apic.update();
        assertEquals(0xec, apic.acknowledgeInterrupt());
        assertEquals(0, read(LocalApic.TIMER_CURRENT));
        assertEquals(Long.MAX_VALUE, apic.nextEventNanos());
        assertEquals(1, apic.timerExpirations());
    }

    @Test
    public void aPeriodicTimerReArmsAndCoalescesPeriodsTheHostMissed() {
        enable();
        write(LocalApic.TIMER_DIVIDE, 0b0000);                 // divide by 2: a count is 2 ns
        write(LocalApic.LVT_TIMER, 1 << 17 | 0xef);
        write(LocalApic.TIMER_INITIAL, 500);
        long start = clock.nanos();
        clock.advance(1000);
        apic.update();
        assertEquals(start + 2000, apic.nextEventNanos());
        clock.advance(3500);                                   // three periods late
        apic.update();
        assertEquals(start + 5000, apic.nextEventNanos());
        assertEquals(2, apic.timerExpirations());
        assertEquals("coalesced into one pending interrupt", 0xef, apic.acknowledgeInterrupt());
        write(LocalApic.EOI, 0);
        assertFalse(apic.interruptPending());
    }

    @Test
    public void theTscDeadlineModeFiresAtTheDeadlineAndIgnoresTheInitialCount() {
        enable();
        write(LocalApic.LVT_TIMER, 2 << 17 | 0xee);
        write(LocalApic.TIMER_INITIAL, 5);
        assertEquals(Long.MAX_VALUE, apic.nextEventNanos());
        long tsc = 77_000;
        apic.setTscDeadline(tsc + 300, tsc);
        assertEquals(tsc + 300, apic.tscDeadline());
        assertEquals(clock.nanos() + 300, apic.nextEventNanos());
        clock.advance(300);
        apic.update();
        assertEquals(0xee, apic.acknowledgeInterrupt());
        write(LocalApic.EOI, 0);
        assertEquals("a fired deadline reads 0", 0, apic.tscDeadline());
        apic.setTscDeadline(tsc - 1, tsc);
        assertTrue("a deadline in the past fires at once", read(LocalApic.IRR + 0x70) != 0);
        assertEquals(0xee, apic.acknowledgeInterrupt());
        apic.write(LocalApic.EOI, 4, 0);
        apic.setTscDeadline(Long.MAX_VALUE, tsc);
        apic.update();
        assertFalse("a deadline centuries away does not wrap into the past", apic.interruptPending());
        assertTrue(apic.nextEventNanos() > clock.nanos());
    }

    @Test
    public void aMaskedTimerExpiresWithoutAnInterruptAndAModeChangeDisarmsIt() {
        enable();
        write(LocalApic.TIMER_DIVIDE, 0b1011);
        write(LocalApic.LVT_TIMER, LocalApic.MASKED | 0xec);
        write(LocalApic.TIMER_INITIAL, 10);
        clock.advance(10);
        apic.update();
        assertEquals(1, apic.timerExpirations());
        assertFalse(apic.interruptPending());
        write(LocalApic.LVT_TIMER, 1 << 17 | 0xec);
        write(LocalApic.TIMER_INITIAL, 10);
        write(LocalApic.LVT_TIMER, 2 << 17 | 0xec);
        assertEquals(Long.MAX_VALUE, apic.nextEventNanos());
        assertEquals(0, read(LocalApic.TIMER_INITIAL));
    }

    @Test
    public void clearingTheSoftwareEnableMasksEveryLvtEntry() {
        enable();
        write(LocalApic.LVT_TIMER, 0xec);
        write(LocalApic.SVR, 0xff);
        assertEquals(LocalApic.MASKED | 0xec, read(LocalApic.LVT_TIMER));
        write(LocalApic.LVT_ERROR, 0xfe);
        assertEquals("cannot be unmasked while disabled", LocalApic.MASKED | 0xfe, read(LocalApic.LVT_ERROR));
    }

    @Test
    public void theApicBaseRefusesReservedBitsAndX2ApicAndAGlobalDisableHandsInterruptsToThePic() {
        assertThrows(IllegalArgumentException.class, () -> apic.setApicBase(LocalApic.DEFAULT_BASE | LocalApic.BASE_ENABLE | 1 << 10));
        assertThrows(IllegalArgumentException.class, () -> apic.setApicBase(LocalApic.DEFAULT_BASE | 1));
        enable();
        write(LocalApic.LVT_LINT0, LocalApic.MASKED);
        apic.setApicBase(LocalApic.DEFAULT_BASE);
        assertEquals("the BSP flag stays", LocalApic.DEFAULT_BASE | LocalApic.BASE_BSP, apic.apicBase());
        assertEquals("registers of a disabled APIC read 0", 0, read(LocalApic.VER));
        pic.intr = true;
        assertTrue(apic.interruptPending());
        apic.accept(LocalApic.FIXED, 0x40, false);
        assertEquals("a disabled APIC takes no message", 0x20, apic.acknowledgeInterrupt());
    }

    @Test
    public void partialAndUnalignedAccessesNeverThrow() {
        assertEquals(0x14, apic.read(LocalApic.VER, 1));
        assertEquals(0x05, apic.read(LocalApic.VER + 2, 1));
        assertEquals(0, apic.read(LocalApic.VER + 4, 4));
        apic.write(LocalApic.TPR + 1, 1, 0xff);
        apic.write(LocalApic.TPR, 2, 0xff);
        assertEquals("only aligned 32-bit writes count", 0, read(LocalApic.TPR));
        for (int offset = 0; offset < LocalApic.SIZE; offset += 4) {
            apic.read(offset, 4);
            apic.write(offset, 4, 0xffff_ffffL);
        }
        assertEquals("an xAPIC ID is 0-254", 255, assertThrowsIae(() -> new LocalApic(255, clock, pic)));
    }

    private static int assertThrowsIae(Runnable r) {
        assertThrows(IllegalArgumentException.class, r::run);
        return 255;
    }
}
