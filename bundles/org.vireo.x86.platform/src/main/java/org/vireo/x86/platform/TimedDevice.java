package org.vireo.x86.platform;

/** A device whose state moves with time at planned instants: a {@link HostTimer} calls it when they come. */
public interface TimedDevice {
    /** Clock time of the next event, or {@link Long#MAX_VALUE} if none is planned. */
    long nextEventNanos();

    /** Brings the device up to the clock's present: raises whatever interrupts became due. */
    void update();

    /** {@code listener} runs (without the device's lock) whenever the plan changes, so a timer thread re-plans. */
    void onReprogrammed(Runnable listener);
}
