package org.vireo.x86.platform;

import org.vireo.bus.IoHandler;

/**
 * System control port B (0x61): bit 0 gates PIT channel 2, bit 1 enables the speaker, bits 2-3 are kept;
 * reads add the refresh toggle (bit 4, flips every ~15 us) and channel 2's output (bit 5), which Linux polls to
 * calibrate the TSC against the PIT.
 */
public final class SystemControlPortB implements IoHandler {
    public static final int PORT = 0x61;
    private static final long REFRESH_PERIOD_NANOS = 15_085;

    private final Pit8254 pit;
    private final NanoClock clock;
    private int latched;

    public SystemControlPortB(Pit8254 pit, NanoClock clock) {
        this.pit = pit;
        this.clock = clock;
    }

    @Override
    public synchronized long read(long offset, int size) {
        int refresh = (int) ((clock.nanos() / REFRESH_PERIOD_NANOS) & 1) << 4;
        return (latched & 0x0e) | (pit.gate2() ? 1 : 0) | refresh | (pit.output2() ? 0x20 : 0);
    }

    @Override
    public synchronized void write(long offset, int size, long value) {
        latched = (int) value & 0x0f;
        pit.setGate2((value & 1) != 0);
    }

    /** Whether the guest enabled the speaker (bit 1); nothing is played. */
    public synchronized boolean speakerEnabled() { return (latched & 2) != 0; }
}
