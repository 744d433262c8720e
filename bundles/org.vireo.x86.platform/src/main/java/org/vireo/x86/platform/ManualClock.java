package org.vireo.x86.platform;

/** A clock that moves only when told to: virtual time for deterministic device tests. */
public final class ManualClock implements NanoClock {
    private volatile long now;

    public ManualClock() { this(0); }

    public ManualClock(long start) { this.now = start; }

    @Override
    public long nanos() { return now; }

    public synchronized void advance(long nanos) {
        if (nanos < 0) throw new IllegalArgumentException("time does not run backwards");
        now += nanos;
    }
}
