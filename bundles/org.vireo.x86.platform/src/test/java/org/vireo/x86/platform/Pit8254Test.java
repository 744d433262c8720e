package org.vireo.x86.platform;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import org.junit.Test;
import org.vireo.bus.IoBus;

public class Pit8254Test {
    private static final long MS = 1_000_000L;

    private final ManualClock clock = new ManualClock(5_000_000_000L);
    private final RecordingLine irq0 = new RecordingLine();
    private final Pit8254 pit = new Pit8254(clock, irq0);
    private final IoBus pio = new IoBus("pio");
    private final SystemControlPortB portB = new SystemControlPortB(pit, clock);

    {
        pio.register(Pit8254.PORT, 4, "pit", pit);
        pio.register(SystemControlPortB.PORT, 1, "port-b", portB);
    }

    private void out(int port, int v) { pio.write(port, 1, v); }

    private int in(int port) { return (int) pio.read(port, 1); }

    private static long ticks(long nanos) { return nanos * Pit8254.FREQUENCY_HZ / 1_000_000_000L; }

    @Test
    public void periodicModeRaisesIrq0EveryPeriod() {
        out(0x43, 0x34);                 // channel 0, lobyte/hibyte, mode 2 (Linux's periodic tick)
        out(0x40, 11932 & 0xff);
        out(0x40, 11932 >> 8);           // ~10 ms
        long start = clock.nanos();
        assertEquals(start + ticksToNanos(11932), pit.nextEventNanos());
        clock.advance(9 * MS);
        pit.update();
        assertEquals(0, irq0.risingEdges);
        clock.advance(MS + MS / 10);     // 11932 ticks are a little over 10 ms
        pit.update();
        assertEquals(1, irq0.risingEdges);
        assertFalse("a pulse leaves the line low for the next edge", irq0.level);
        clock.advance(35 * MS);
        pit.update();
        assertEquals("missed periods coalesce into one interrupt", 2, irq0.risingEdges);
        assertEquals(start + ticksToNanos(5 * 11932), pit.nextEventNanos());
    }

    @Test
    public void oneShotModeFiresOnce() {
        out(0x43, 0x38);                 // channel 0, lobyte/hibyte, mode 4 (Linux's oneshot)
        out(0x40, 1193 & 0xff);
        out(0x40, 1193 >> 8);            // ~1 ms
        clock.advance(2 * MS);
        pit.update();
        assertEquals(1, irq0.risingEdges);
        assertEquals(Long.MAX_VALUE, pit.nextEventNanos());
        clock.advance(100 * MS);
        pit.update();
        assertEquals(1, irq0.risingEdges);
    }

    @Test
    public void reprogrammingNotifiesTheTimer() {
        int[] calls = {0};
        pit.onReprogrammed(() -> calls[0]++);
        out(0x43, 0x34);
        assertEquals("a control word stops channel 0", 1, calls[0]);
        out(0x40, 0x00);
        assertEquals("half a count changes nothing yet", 1, calls[0]);
        out(0x40, 0x10);
        assertEquals(2, calls[0]);
        out(0x43, 0xb0);
        out(0x42, 0x10);
        out(0x42, 0x10);
        assertEquals("channel 2 does not concern the timer", 2, calls[0]);
    }

    @Test
    public void countsDownAndLatches() {
        out(0x43, 0x30);                 // channel 0, mode 0
        out(0x40, 0xff);
        out(0x40, 0xff);
        clock.advance(1 * MS);
        out(0x43, 0x00);                 // latch channel 0
        clock.advance(5 * MS);           // a latched value does not move
        int lo = in(0x40), hi = in(0x40);
        assertEquals(0xffff - ticks(MS), lo | hi << 8);
        int live = in(0x40) | in(0x40) << 8;
        assertEquals(0xffff - ticks(6 * MS), live, 1);
    }

    @Test
    public void modeZeroOutputRisesAtTerminalCount() {
        out(0x43, 0x30);
        assertFalse("mode 0 output is low once programmed", pit.output(0));
        out(0x40, 100);
        out(0x40, 0);
        clock.advance(ticksToNanos(99));
        assertFalse(pit.output(0));
        clock.advance(ticksToNanos(2));
        assertTrue(pit.output(0));
        pit.update();
        assertEquals(1, irq0.risingEdges);
    }

    private static long ticksToNanos(long t) { return (t * 1_000_000_000L + Pit8254.FREQUENCY_HZ - 1) / Pit8254.FREQUENCY_HZ; }

    @Test
    public void readBackReportsStatusAndCount() {
        out(0x43, 0xb6);                 // channel 2, lobyte/hibyte, mode 3
        out(0x43, 0xe8);                 // read back status of channel 2
        int status = in(0x42);
        assertEquals("null count before a count is written", 0x40 | 0x30 | 3 << 1, status & 0x7f);
        out(0x42, 0x00);
        out(0x42, 0x10);                 // 0x1000
        out(0x43, 0xc8);                 // read back count and status of channel 2
        status = in(0x42);
        assertEquals(0x30 | 3 << 1, status & 0x7f);
        int count = in(0x42) | in(0x42) << 8;
        assertEquals(0x1000, count);
    }

    @Test
    public void lowByteAndHighByteOnlyAccess() {
        out(0x43, 0x50);                 // channel 1, low byte only, mode 0
        out(0x41, 0x80);
        assertEquals(0x80, in(0x41));
        out(0x43, 0x60);                 // channel 1, high byte only, mode 0
        out(0x41, 0x12);
        assertEquals(0x12, in(0x41));
        out(0x43, 0x40);                 // latch channel 1
        assertEquals(0x12, in(0x41));
    }

    /** The sequence of Linux's pit_calibrate_tsc / quick_pit_calibrate on channel 2 through port 0x61. */
    @Test
    public void channel2GateAndOutputThroughPortB() {
        out(0x61, (in(0x61) & ~0x02) | 0x01);     // gate high, speaker off
        out(0x43, 0xb0);                          // channel 2, lobyte/hibyte, mode 0
        out(0x42, 0xff);
        out(0x42, 0xff);
        assertEquals(0, in(0x61) & 0x20);
        in(0x42);
        int msb1 = in(0x42);
        clock.advance(10 * MS);
        in(0x42);
        int msb2 = in(0x42);
        assertEquals(0xffff - ticks(10 * MS) >> 8, msb2);
        assertTrue(msb2 < msb1);
        clock.advance(50 * MS);
        assertEquals("OUT2 rises at terminal count (~54.9 ms)", 0x20, in(0x61) & 0x20);
        assertEquals(1, in(0x61) & 0x01);
    }

    @Test
    public void gateLowPausesModeZero() {
        out(0x61, 0x00);
        out(0x43, 0xb0);
        out(0x42, 0x00);
        out(0x42, 0x10);
        clock.advance(10 * MS);
        assertEquals("gate low: not counting", 0x1000, pit.counter(2));
        out(0x61, 0x01);
        clock.advance(ticksToNanos(0x100));
        assertEquals(0x1000 - 0x100, pit.counter(2), 1);
        out(0x61, 0x00);
        clock.advance(10 * MS);
        assertEquals(0x1000 - 0x100, pit.counter(2), 1);
    }

    @Test
    public void squareWaveIsHighHalfThePeriod() {
        out(0x61, 0x01);
        out(0x43, 0xb6);
        out(0x42, 100);
        out(0x42, 0);
        clock.advance(ticksToNanos(10));
        assertTrue(pit.output(2));
        clock.advance(ticksToNanos(50));
        assertFalse(pit.output(2));
        clock.advance(ticksToNanos(50));
        assertTrue(pit.output(2));
    }

    @Test
    public void bcdCounting() {
        out(0x43, 0x31);                 // channel 0, mode 0, BCD
        out(0x40, 0x00);
        out(0x40, 0x10);                 // 1000 decimal
        clock.advance(ticksToNanos(1));
        out(0x43, 0x00);
        assertEquals(0x0999, in(0x40) | in(0x40) << 8);
    }

    /** IRQ0 as the PIC holds it: an edge latches a request until the guest takes it (INTA). */
    private static final class LatchedIrq0 implements org.vireo.bus.InterruptLine {
        private boolean level;
        boolean waiting;
        int requests;

        @Override
        public synchronized void set(boolean high) {
            if (high && !level && !waiting) {
                waiting = true;
                requests++;
            }
            level = high;
        }

        synchronized boolean waiting() { return waiting; }

        /** The guest takes the request; then the PIC tells the PIT, as PcPlatform wires it. */
        void take(Pit8254 pit) {
            synchronized (this) {
                assertTrue("only a waiting request can be taken", waiting);
                waiting = false;
            }
            pit.irq0Acknowledged();
        }
    }

    private static void programChannel0(Pit8254 pit, int mode, int count) {
        pit.write(3, 1, 0x30 | mode << 1);
        pit.write(0, 1, count & 0xff);
        pit.write(0, 1, count >> 8);
    }

    @Test
    public void reinjectionDeliversEveryPeriodOnceTheGuestTakesThePreviousOne() {
        LatchedIrq0 line = new LatchedIrq0();
        Pit8254 p = new Pit8254(clock, line);
        p.reinjectLostTicks(line::waiting);
        programChannel0(p, 2, 11932);                 // ~100 Hz
        clock.advance(35 * MS);                       // the vCPU was away for three and a half periods
        p.update();
        assertEquals("one request at a time", 1, line.requests);
        assertEquals(2, p.owedTicks());
        line.take(p);
        assertEquals("taking a tick hands over the next owed one at once", 2, line.requests);
        line.take(p);
        assertEquals(3, line.requests);
        assertEquals(0, p.owedTicks());
        line.take(p);
        assertEquals("nothing more is owed", 3, line.requests);
        clock.advance(6 * MS);                        // the fourth period ends just after 40 ms
        p.update();
        assertEquals("every period became exactly one interrupt", 4, line.requests);
    }

    @Test
    public void reinjectionWaitsWhileTheRequestIsPendingAndKeepsAtMostOneSecond() {
        LatchedIrq0 line = new LatchedIrq0();
        Pit8254 p = new Pit8254(clock, line);
        p.reinjectLostTicks(line::waiting);
        programChannel0(p, 2, 1193);                  // ~1 kHz
        for (int i = 0; i < 5000; i++) {              // 5 s of ticks with interrupts never taken
            clock.advance(MS);
            p.update();
        }
        assertEquals(1, line.requests);
        assertEquals("at most a second's worth of ticks is owed", Pit8254.FREQUENCY_HZ / 1193, p.owedTicks());
        programChannel0(p, 2, 1193);
        assertEquals("reprogramming forgives the debt", 0, p.owedTicks());
    }

    @Test
    public void oneShotIsNeverRepeatedByReinjection() {
        LatchedIrq0 line = new LatchedIrq0();
        Pit8254 p = new Pit8254(clock, line);
        p.reinjectLostTicks(line::waiting);
        programChannel0(p, 4, 1193);                  // Linux's oneshot: one edge ~1 ms after loading
        clock.advance(50 * MS);
        p.update();
        line.take(p);
        clock.advance(50 * MS);
        p.update();
        assertEquals(1, line.requests);
        assertEquals(0, p.owedTicks());
    }

    /**
     * Linux's pit_calibrate_tsc against a TSC on the same clock as the PIT: channel 2 in mode 0 through port 0x61,
     * one loop iteration per fixed step of the clock. The result must be the clock's own rate (1 GHz for a
     * nanosecond TSC), and the loop must see the spread of per-iteration deltas Linux demands (max <= 10 x min).
     */
    @Test
    public void tscCalibrationAgainstChannel2OnTheSameClockFindsItsRate() {
        long latch = Pit8254.FREQUENCY_HZ / 100;      // CAL_LATCH: 10 ms
        out(0x61, (in(0x61) & ~0x02) | 0x01);
        out(0x43, 0xb0);
        out(0x42, (int) (latch & 0xff));
        out(0x42, (int) (latch >> 8));
        long t1 = clock.nanos(), t2 = t1, min = Long.MAX_VALUE, max = 0;
        int loops = 0;
        while ((in(0x61) & 0x20) == 0) {
            clock.advance(317);                       // what one iteration costs, as a virtual clock would see it
            long t = clock.nanos();
            min = Math.min(min, t - t2);
            max = Math.max(max, t - t2);
            t2 = t;
            loops++;
            assertTrue("OUT2 never rose", loops < 1_000_000);
        }
        assertTrue("Linux wants at least 1000 loops in 10 ms", loops >= 1000);
        assertTrue(max <= 10 * min);
        long khz = (t2 - t1) / 10;
        assertEquals(1_000_000, khz, 100);           // within 100 ppm
    }
}
