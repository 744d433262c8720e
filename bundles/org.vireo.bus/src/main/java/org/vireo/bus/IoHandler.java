package org.vireo.bus;

/**
 * A device's register window on an {@link IoBus}. Offsets are relative to the window's base; sizes are 1, 2, 4
 * or 8 bytes; values are little-endian in the low bits. Called from vCPU threads and Java drivers, possibly at once:
 * implementations synchronise their own state.
 */
public interface IoHandler {
    long read(long offset, int size);

    void write(long offset, int size, long value);
}
