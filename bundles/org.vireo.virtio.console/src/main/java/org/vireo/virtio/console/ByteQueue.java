package org.vireo.virtio.console;

/**
 * A bounded FIFO of bytes: a ring that grows up to {@code limit} and then drops its oldest bytes to make room.
 * Not thread-safe; callers hold their own lock.
 */
final class ByteQueue {
    private final int limit;
    private byte[] ring = new byte[256];
    private int head;   // index of the oldest byte
    private int size;
    private long dropped;

    ByteQueue(int limit) { this.limit = limit; }

    int size() { return size; }

    boolean isEmpty() { return size == 0; }

    /** Bytes discarded because the queue was full. */
    long dropped() { return dropped; }

    void add(byte[] data, int off, int len) {
        if (len > limit) {   // only the newest bytes can survive
            dropped += len - limit;
            off += len - limit;
            len = limit;
        }
        int excess = size + len - limit;
        if (excess > 0) skip(excess);
        if (size + len > ring.length) grow(size + len);
        int tail = (head + size) % ring.length;
        int first = Math.min(len, ring.length - tail);
        System.arraycopy(data, off, ring, tail, first);
        System.arraycopy(data, off + first, ring, 0, len - first);
        size += len;
    }

    /** Copies up to {@code len} of the oldest bytes without removing them; returns how many. */
    int peek(byte[] dst, int off, int len) {
        int n = Math.min(len, size);
        int first = Math.min(n, ring.length - head);
        System.arraycopy(ring, head, dst, off, first);
        System.arraycopy(ring, 0, dst, off + first, n - first);
        return n;
    }

    /** Removes up to {@code len} of the oldest bytes into {@code dst}; returns how many. */
    int poll(byte[] dst, int off, int len) {
        int n = peek(dst, off, len);
        remove(n);
        return n;
    }

    void remove(int n) {
        int k = Math.min(n, size);
        head = (head + k) % ring.length;
        size -= k;
        if (size == 0) head = 0;
    }

    private void skip(int n) {
        int k = Math.min(n, size);
        remove(k);
        dropped += k;
    }

    private void grow(int needed) {
        int capacity = ring.length;
        while (capacity < needed) capacity = Math.min(limit, capacity * 2);
        byte[] bigger = new byte[capacity];
        peek(bigger, 0, size);
        ring = bigger;
        head = 0;
    }
}
