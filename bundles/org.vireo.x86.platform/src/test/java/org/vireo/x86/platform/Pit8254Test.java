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
}
