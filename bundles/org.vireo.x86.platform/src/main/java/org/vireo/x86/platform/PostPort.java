package org.vireo.x86.platform;

import org.vireo.bus.IoHandler;

/** The POST diagnostic port (0x80): firmware progress codes and Linux's I/O delay writes land here and are dropped. */
public final class PostPort implements IoHandler {
    public static final int PORT = 0x80;

    private volatile int lastCode;

    @Override
    public long read(long offset, int size) { return lastCode; }

    @Override
    public void write(long offset, int size, long value) { lastCode = (int) value & 0xff; }

    public int lastCode() { return lastCode; }
}
