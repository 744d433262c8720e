package org.vireo.x86.platform;

import org.vireo.bus.IoHandler;

/** System control port A (0x92): bit 0 is the fast reset (writing 1 resets the machine), bit 1 the fast A20 gate. */
public final class SystemControlPortA implements IoHandler {
    public static final int PORT = 0x92;

    private final Runnable resetRequest;
    private int value = 0x02;

    public SystemControlPortA(Runnable resetRequest) { this.resetRequest = resetRequest; }

    @Override
    public synchronized long read(long offset, int size) { return value; }

    @Override
    public void write(long offset, int size, long v) {
        synchronized (this) {
            value = (int) v & 0x02;
        }
        if ((v & 1) != 0) resetRequest.run();
    }

    public synchronized boolean a20() { return (value & 2) != 0; }
}
