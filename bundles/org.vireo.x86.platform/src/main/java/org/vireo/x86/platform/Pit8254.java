package org.vireo.x86.platform;

import java.util.function.BooleanSupplier;
import org.vireo.bus.InterruptLine;
import org.vireo.bus.IoHandler;

/**
 * The 8254 programmable interval timer on ports 0x40-0x43: three 16-bit down counters at 1.193182 MHz. Channel 0
 * drives IRQ0, channel 2's gate and output are wired to system control port B (0x61). Modes 0-5 (6 and 7 alias
 * 2 and 3), lobyte/hibyte access, counter latch and read-back commands; BCD counting is honoured for the count.
 *
 * <p>Counters are computed from the clock rather than stepped: a channel remembers when it (re)started counting,
 * and its value and output follow from the elapsed ticks. IRQ0 is raised by {@link #update()}, which whoever drives
 * time calls: a test after advancing a {@link ManualClock}, or a {@link HostTimer} thread at {@link #nextEventNanos()}.
 *
 * <p>Lost ticks: when the vCPU thread is descheduled by the host for longer than a period, further output edges
 * find IRQ0's previous request still latched in the PIC and would merge into it, so a guest counting jiffies
 * falls behind the host clock (and a TSC that follows host time then looks unstable to Linux's clocksource
 * watchdog). By default missed periods coalesce into one interrupt, like real hardware; with
 * {@link #reinjectLostTicks} the PIT instead owes the ticks it could not deliver (at most one second's worth) and
 * hands them over one at a time as soon as the guest has taken the previous one ({@link #irq0Acknowledged}).
 *
 * <p>Locking: the PIT's lock may be held while it calls into the interrupt controller, never the other way round.
 */
public final class Pit8254 implements IoHandler, TimedDevice {
    public static final int PORT = 0x40;
    public static final long FREQUENCY_HZ = 1_193_182L;
    private static final long NANOS_PER_SECOND = 1_000_000_000L;

    private final NanoClock clock;
    private final long origin;
    private final InterruptLine irq0;
    private final Channel[] channels = {new Channel(0), new Channel(1), new Channel(2)};
    private volatile Runnable reprogrammed = () -> { };
    /** The tick up to which channel 0's output edges have been turned into interrupts. */
    private long irqCheckedTick;
    /** Null: missed periods coalesce. Otherwise: whether IRQ0's last request is still waiting in the PIC. */
    private BooleanSupplier irq0Waiting;
    /** Channel 0 periods that passed while the previous interrupt was still waiting, not yet delivered. */
    private long owedTicks;

    public Pit8254(NanoClock clock, InterruptLine irq0) {
        this.clock = clock;
        this.origin = clock.nanos();
        this.irq0 = irq0;
        channels[0].gate = true;
        channels[1].gate = true;
    }

    /** Called (without the PIT's lock) after channel 0 is reprogrammed, so a timer thread can re-plan. */
    @Override
    public void onReprogrammed(Runnable listener) { this.reprogrammed = listener; }

    /**
     * Re-delivers ticks the guest missed instead of coalescing them. {@code irq0Waiting} tells whether the
     * interrupt controller still holds IRQ0's previous request unacknowledged (it is called with the PIT's lock
     * held); the controller should call {@link #irq0Acknowledged()} after each INTA of IRQ0.
     */
    public synchronized void reinjectLostTicks(BooleanSupplier irq0Waiting) {
        this.irq0Waiting = irq0Waiting;
        owedTicks = 0;
    }

    /** The guest took IRQ0: delivers one owed tick at once, so a backlog drains at the guest's own pace. */
    public void irq0Acknowledged() { update(); }

    /** Ticks owed to the guest (for tests and diagnostics). */
    public synchronized long owedTicks() { return owedTicks; }

    /** Ticks of the 1.193182 MHz input since this PIT was created. */
    private long now() {
        long t = Math.max(0, clock.nanos() - origin);
        return t / NANOS_PER_SECOND * FREQUENCY_HZ + t % NANOS_PER_SECOND * FREQUENCY_HZ / NANOS_PER_SECOND;
    }

    /** Clock time of the start of {@code tick}. */
    private long nanosOf(long tick) {
        long whole = tick / FREQUENCY_HZ, part = tick % FREQUENCY_HZ;
        return origin + whole * NANOS_PER_SECOND + (part * NANOS_PER_SECOND + FREQUENCY_HZ - 1) / FREQUENCY_HZ;
    }

    // --------------------------------------------------------------------------------------------- port I/O

    @Override
    public synchronized long read(long offset, int size) {
        int port = (int) offset;
        if (port == 3) return 0xff;     // the control register is write-only
        return channels[port].readByte(now());
    }

    @Override
    public void write(long offset, int size, long value) {
        boolean channel0Changed;
        synchronized (this) {
            int port = (int) offset, v = (int) value & 0xff;
            long now = now();
            if (port < 3) {
                channel0Changed = channels[port].writeByte(v, now) && port == 0;
            } else {
                channel0Changed = control(v, now);
            }
            if (channel0Changed) {
                irqCheckedTick = now;
                owedTicks = 0;        // the old period's debts do not carry over to a new program
            }
        }
        if (channel0Changed) reprogrammed.run();
    }

    private boolean control(int v, long now) {
        int select = v >>> 6;
        if (select == 3) {                     // read-back: bit 5 clear latches counts, bit 4 clear latches status
            for (int c = 0; c < 3; c++) {
                if ((v & (2 << c)) == 0) continue;
                if ((v & 0x20) == 0) channels[c].latchCount(now);
                if ((v & 0x10) == 0) channels[c].latchStatus(now);
            }
            return false;
        }
        Channel ch = channels[select];
        int access = (v >>> 4) & 3;
        if (access == 0) {
            ch.latchCount(now);
            return false;
        }
        ch.program(access, (v >>> 1) & 7, (v & 1) != 0);
        return select == 0;
    }

    // --------------------------------------------------------------------------------------------- time

    /**
     * Raises IRQ0 if channel 0's output rose since the last call. With reinjection, counts every rising edge
     * and delivers one tick (owed or new) if the previous one has been taken.
     */
    @Override
    public synchronized void update() {
        long now = now();
        Channel c0 = channels[0];
        long edges = c0.risingEdges(irqCheckedTick, now);
        irqCheckedTick = now;
        boolean deliver;
        if (irq0Waiting == null) {
            deliver = edges > 0;
        } else {
            owedTicks = Math.min(owedTicks + edges, c0.ticksPerSecond());
            deliver = owedTicks > 0 && !irq0Waiting.getAsBoolean();
            if (deliver) owedTicks--;
        }
        // Under the lock, so two threads (timer and an acknowledging vCPU) cannot both spend the same owed tick.
        if (deliver) irq0.pulse();
    }

    /** Clock time at which channel 0's output next rises, or {@link Long#MAX_VALUE} if it never will as programmed. */
    @Override
    public synchronized long nextEventNanos() {
        long tick = channels[0].nextRisingEdge(irqCheckedTick);
        return tick == Long.MAX_VALUE ? Long.MAX_VALUE : nanosOf(tick);
    }

    /** Channel 2's gate input (port 0x61 bit 0). */
    public synchronized void setGate2(boolean high) { channels[2].setGate(high, now()); }

    public synchronized boolean gate2() { return channels[2].gate; }

    /** Channel 2's output (port 0x61 bit 5). */
    public synchronized boolean output2() { return channels[2].output(now()); }

    /** Channel {@code c}'s current count, as a latch would read it (for tests). */
    public synchronized int counter(int c) { return channels[c].counter(now()); }

    /** Channel {@code c}'s output (for tests). */
    public synchronized boolean output(int c) { return channels[c].output(now()); }

    // --------------------------------------------------------------------------------------------- a channel

    private static final class Channel {
        final int index;
        int access = 3;          // 1: low byte, 2: high byte, 3: low then high
        int mode;
        boolean bcd;
        boolean gate;
        /** The reload value as written (0 means the maximum count). */
        int count;
        boolean loaded;          // a count has been written since the control word
        boolean counting;        // counting has started (modes 1 and 5 wait for a gate edge)
        long startTick;          // when the current count started
        long frozenElapsed = -1; // modes 0 and 4 with the gate low: elapsed ticks when it fell
        boolean nullCount;

        boolean writeHigh;       // lobyte/hibyte: the next write is the high byte
        int writeLow;
        boolean readHigh;
        boolean countLatched;
        int latchedCount;
        boolean latchedHigh;
        boolean statusLatched;
        int latchedStatus;

        Channel(int index) { this.index = index; }

        void program(int access, int mode, boolean bcd) {
            this.access = access;
            this.mode = mode > 5 ? mode - 4 : mode;
            this.bcd = bcd;
            loaded = false;
            counting = false;
            nullCount = true;
            frozenElapsed = -1;
            writeHigh = false;
            readHigh = false;
            countLatched = false;
        }

        /** Returns true when a count was loaded. */
        boolean writeByte(int v, long now) {
            int value;
            switch (access) {
                case 1 -> value = v;
                case 2 -> value = v << 8;
                default -> {
                    if (!writeHigh) {
                        writeLow = v;
                        writeHigh = true;
                        if (mode == 0) counting = false;   // mode 0 stops counting on the first byte
                        return false;
                    }
                    writeHigh = false;
                    value = writeLow | v << 8;
                }
            }
            count = value;
            loaded = true;
            nullCount = false;
            frozenElapsed = -1;
            boolean gateTriggered = mode == 1 || mode == 5;
            if (!gateTriggered && (gate || mode == 0 || mode == 4)) {
                counting = true;
                startTick = now;
                if (!gate) frozenElapsed = 0;
            } else {
                counting = false;
            }
            return true;
        }

        void setGate(boolean high, long now) {
            if (high == gate) return;
            gate = high;
            if (!loaded) return;
            switch (mode) {
                case 0, 4 -> {
                    if (!counting) return;
                    if (!high) {
                        frozenElapsed = now - startTick;
                    } else if (frozenElapsed >= 0) {
                        startTick = now - frozenElapsed;
                        frozenElapsed = -1;
                    }
                }
                default -> {      // 1, 2, 3, 5: a rising gate (re)starts the count; modes 2 and 3 stop while low
                    if (high) {
                        counting = true;
                        startTick = now;
                    } else if (mode == 2 || mode == 3) {
                        counting = false;
                    }
                }
            }
        }

        private int modulus() { return bcd ? 10_000 : 0x10000; }

        private int reload() {
            int n = bcd ? fromBcd(count) : count;
            return n == 0 ? modulus() : n;
        }

        private long elapsed(long now) {
            return frozenElapsed >= 0 ? frozenElapsed : now - startTick;
        }

        int counter(long now) {
            if (!loaded || !counting) return count;
            long d = elapsed(now);
            long n = reload();
            long value = switch (mode) {
                case 2 -> n - d % Math.max(n, 2);
                case 3 -> {
                    long v = n - (2 * d) % n;
                    yield v == n ? n : v & ~1L;
                }
                default -> Math.floorMod(n - d, (long) modulus());
            };
            int v = (int) (value % modulus());
            return bcd ? toBcd(v) : v;
        }

        boolean output(long now) {
            if (!loaded) return mode != 0;
            if (!counting) return mode != 0;
            long d = elapsed(now);
            long n = reload();
            return switch (mode) {
                case 0 -> d >= n;
                case 1 -> d >= n;
                case 2 -> d % Math.max(n, 2) != Math.max(n, 2) - 1;
                case 3 -> d % n < (n + 1) / 2;
                default -> d != n;   // 4, 5: low for one tick at terminal count
            };
        }

        /** Rising edges of the output in the ticks (after, upTo]. */
        long risingEdges(long after, long upTo) {
            if (upTo <= after || !loaded || !counting || frozenElapsed >= 0) return 0;
            long n = reload();
            return switch (mode) {
                case 0, 4 -> {
                    long edge = startTick + n + (mode == 4 ? 1 : 0);
                    yield after < edge && edge <= upTo ? 1 : 0;
                }
                case 2, 3 -> {
                    long period = mode == 2 ? Math.max(n, 2) : n;
                    long from = Math.max(after, startTick);
                    yield Math.max(0, Math.floorDiv(upTo - startTick, period) - Math.floorDiv(from - startTick, period));
                }
                default -> 0;
            };
        }

        /** How many periods fit in a second (at least one): the most ticks the PIT will owe. */
        long ticksPerSecond() {
            if (!loaded || (mode != 2 && mode != 3)) return 1;
            return Math.max(1, FREQUENCY_HZ / reload());
        }

        /** First tick after {@code after} at which the output rises, or Long.MAX_VALUE. */
        long nextRisingEdge(long after) {
            if (!loaded || !counting || frozenElapsed >= 0) return Long.MAX_VALUE;
            long n = reload();
            long edge = switch (mode) {
                case 0 -> startTick + n;
                case 4 -> startTick + n + 1;
                case 2, 3 -> {
                    long period = mode == 2 ? Math.max(n, 2) : n;
                    long k = Math.max(1, Math.floorDiv(after - startTick, period) + 1);
                    yield startTick + k * period;
                }
                default -> Long.MAX_VALUE;   // 1 and 5 need a gate edge, which channel 0 never sees
            };
            return edge > after ? edge : Long.MAX_VALUE;
        }

        void latchCount(long now) {
            if (countLatched) return;       // a second latch before the first is read is ignored
            countLatched = true;
            latchedCount = counter(now);
            latchedHigh = false;
        }

        void latchStatus(long now) {
            if (statusLatched) return;
            statusLatched = true;
            latchedStatus = (output(now) ? 0x80 : 0) | (nullCount ? 0x40 : 0) | access << 4 | mode << 1 | (bcd ? 1 : 0);
        }

        int readByte(long now) {
            if (statusLatched) {
                statusLatched = false;
                return latchedStatus;
            }
            if (countLatched) {
                int v = latchedCount;
                switch (access) {
                    case 1 -> { countLatched = false; return v & 0xff; }
                    case 2 -> { countLatched = false; return v >>> 8 & 0xff; }
                    default -> {
                        if (!latchedHigh) { latchedHigh = true; return v & 0xff; }
                        countLatched = false;
                        return v >>> 8 & 0xff;
                    }
                }
            }
            int v = counter(now);
            return switch (access) {
                case 1 -> v & 0xff;
                case 2 -> v >>> 8 & 0xff;
                default -> {
                    boolean high = readHigh;
                    readHigh = !readHigh;
                    yield high ? v >>> 8 & 0xff : v & 0xff;
                }
            };
        }

        private static int fromBcd(int v) {
            return (v >>> 12 & 0xf) * 1000 + (v >>> 8 & 0xf) * 100 + (v >>> 4 & 0xf) * 10 + (v & 0xf);
        }

        private static int toBcd(int v) {
            return (v / 1000 % 10) << 12 | (v / 100 % 10) << 8 | (v / 10 % 10) << 4 | v % 10;
        }
    }
}
