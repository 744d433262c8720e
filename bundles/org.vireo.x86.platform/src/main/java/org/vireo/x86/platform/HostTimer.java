package org.vireo.x86.platform;

import java.util.concurrent.locks.LockSupport;

/**
 * Drives a {@link Pit8254} in host time: a daemon thread sleeps until channel 0's next output edge and calls
 * {@link Pit8254#update()}, re-planning whenever the guest reprograms the channel. The PIT must use the host clock.
 */
public final class PitTimer implements AutoCloseable {
    /** Sleeps at least this long (at most 100k wake-ups a second), however fast the guest programs channel 0. */
    private static final long MIN_SLEEP_NANOS = 10_000;

    private final Pit8254 pit;
    private final NanoClock clock;
    private final Thread thread;
    private volatile boolean running = true;

    public PitTimer(Pit8254 pit, NanoClock clock, String name) {
        this.pit = pit;
        this.clock = clock;
        this.thread = new Thread(this::loop, name);
        thread.setDaemon(true);
        pit.onReprogrammed(() -> LockSupport.unpark(thread));
    }

    public PitTimer start() {
        thread.start();
        return this;
    }

    private void loop() {
        while (running) {
            long wait = pit.nextEventNanos();
            if (wait != Long.MAX_VALUE) wait -= clock.nanos();
            if (wait > 0) {
                // Unparked early on reprogramming; a spurious wake-up only re-plans.
                LockSupport.parkNanos(this, Math.clamp(wait, MIN_SLEEP_NANOS, 1_000_000_000L));
            }
            pit.update();
        }
    }

    @Override
    public void close() {
        running = false;
        LockSupport.unpark(thread);
        try {
            thread.join(1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
