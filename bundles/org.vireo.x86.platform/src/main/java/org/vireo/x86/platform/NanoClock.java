package org.vireo.x86.platform;

/** A monotonic time source in nanoseconds: the host's for real runs, a {@link ManualClock} in tests. */
@FunctionalInterface
public interface NanoClock {
    long nanos();

    /** The host's monotonic clock. */
    static NanoClock host() { return System::nanoTime; }
}
