package org.vireo.virtio.vsock;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;

/**
 * A bounded FIFO of bytes between a guest connection and its host socket. Starts small and grows up to its capacity,
 * so an idle connection costs little; never holds more than the capacity (callers check {@link #free()}).
 * Not thread-safe: the device's lock guards it.
 */
final class ByteFifo {
    private static final int INITIAL = 4096;

    private final int capacity;
    /** In "fill" mode: bytes [0, position) are held, oldest first. */
    private ByteBuffer buf = ByteBuffer.allocate(0);

    ByteFifo(int capacity) { this.capacity = capacity; }

    int size() { return buf.position(); }

    boolean isEmpty() { return buf.position() == 0; }

    int free() { return capacity - buf.position(); }

    int capacity() { return capacity; }

    /** Appends {@code len} bytes; the caller has checked that they fit. */
    void add(byte[] data, int off, int len) {
        if (len > free()) throw new IllegalStateException(len + " bytes do not fit in " + free());
        ensure(size() + len);
        buf.put(data, off, len);
    }

    /** Reads from {@code ch} into the free space, at most {@code max} bytes; returns what read returned (-1 at EOF). */
    int readFrom(ReadableByteChannel ch, int max) throws IOException {
        int want = Math.min(max, free());
        if (want <= 0) return 0;
        ensure(size() + want);
        int limit = buf.limit();
        buf.limit(buf.position() + want);
        try {
            return ch.read(buf);
        } finally {
            buf.limit(limit);
        }
    }

    /** Writes the oldest bytes to {@code ch} (non-blocking: maybe not all); returns the bytes written. */
    int writeTo(WritableByteChannel ch) throws IOException {
        if (isEmpty()) return 0;
        buf.flip();
        try {
            return ch.write(buf);
        } finally {
            buf.compact();
        }
    }

    /** Removes up to {@code len} of the oldest bytes into {@code dst}; returns how many. */
    int poll(byte[] dst, int off, int len) {
        int n = Math.min(len, size());
        buf.flip();
        buf.get(dst, off, n);
        buf.compact();
        return n;
    }

    void clear() { buf = ByteBuffer.allocate(0); }

    private void ensure(int needed) {
        if (needed <= buf.capacity()) return;
        int cap = Math.max(INITIAL, buf.capacity());
        while (cap < needed) cap = Math.min(capacity, cap * 2);
        ByteBuffer bigger = ByteBuffer.allocate(cap);
        buf.flip();
        bigger.put(buf);
        buf = bigger;
    }
}
