package org.vireo.virtio.ring;

/** Split ring layout (virtio 1.x 2.7): sizes and alignments of the three parts for a queue of {@code n} entries. */
public final class SplitRing {
    public static final int DESC_ALIGN = 16;
    public static final int AVAIL_ALIGN = 2;
    public static final int USED_ALIGN = 4;
    public static final int MAX_SIZE = 32768;

    private SplitRing() {}

    public static long descTableSize(int n) { return 16L * n; }

    /** flags, idx, ring[n], used_event. */
    public static long availSize(int n) { return 6L + 2L * n; }

    /** flags, idx, ring[n] of (id, len), avail_event. */
    public static long usedSize(int n) { return 6L + 8L * n; }

    public static boolean validSize(int n) { return n > 0 && n <= MAX_SIZE && Integer.bitCount(n) == 1; }
}
