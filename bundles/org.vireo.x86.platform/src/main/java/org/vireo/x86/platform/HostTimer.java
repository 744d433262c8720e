package org.vireo.x86.platform;

import java.util.concurrent.locks.LockSupport;

/**
 * Drives a {@link TimedDevice} (the PIT, a local APIC's timer) in host time: a daemon thread sleeps until the
 * device's next event and calls {@link TimedDevice#update()}, re-planning whenever the guest reprograms it. The
 * device must use the host clock.
 */
public final class HostTimer implements AutoCloseable {
    /** Sleeps at least this long (at most 100k wake-ups a second), however fast the guest programs channel 0. */
    private static final long MIN_SLEEP_NANOS = 10_000;

    private final TimedDevice device;
    private final NanoClock clock;
    private final Thread thread;
    private volatile boolean running = true;

    public HostTimer(TimedDevice device, NanoClock clock, String name) {
        this.device = device;
        this.clock = clock;
        this.thread = new Thread(this::loop, name);
        thread.setDaemon(true);
        device.onReprogrammed(() -> LockSupport.unpark(thread));
    }

    public HostTimer start() {
        thread.start();
        return this;
    }

    private void loop() {
        while (running) {
            long wait = device.nextEventNanos();
            if (wait != Long.MAX_VALUE) wait -= clock.nanos();
            if (wait > 0) {
                // Unparked early on reprogramming; a spurious wake-up only re-plans.
                LockSupport.parkNanos(this, Math.clamp(wait, MIN_SLEEP_NANOS, 1_000_000_000L));
            }
            device.update();
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
