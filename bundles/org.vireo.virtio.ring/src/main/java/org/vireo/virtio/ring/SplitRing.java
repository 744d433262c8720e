package org.vireo.virtio.ring;

/** Split ring layout (virtio 1.x 2.7): sizes and alignments of the three parts for a queue of {@code n} entries. */
public final class SplitRing {
    public static final int DESC_ALIGN = 16;
    public static final int AVAIL_ALIGN = 2;
    public static final int USED_ALIGN = 4;
    public static final int MAX_SIZE = 32768;

    /** Bytes of one descriptor: addr (le64), len (le32), flags (le16), next (le16). */
    public static final int DESC_SIZE = 16;

    /** Descriptor flags (2.7.5). */
    public static final int DESC_F_NEXT = 1;
    public static final int DESC_F_WRITE = 2;
    public static final int DESC_F_INDIRECT = 4;

    /** Available ring flag (2.7.6): the driver does not want interrupts. */
    public static final int AVAIL_F_NO_INTERRUPT = 1;

    /** Used ring flag (2.7.8): the device does not want notifications. */
    public static final int USED_F_NO_NOTIFY = 1;

    private SplitRing() {}

    public static long descTableSize(int n) { return 16L * n; }

    /** flags, idx, ring[n], used_event. */
    public static long availSize(int n) { return 6L + 2L * n; }

    /** flags, idx, ring[n] of (id, len), avail_event. */
    public static long usedSize(int n) { return 6L + 8L * n; }

    public static boolean validSize(int n) { return n > 0 && n <= MAX_SIZE && Integer.bitCount(n) == 1; }

    /** Offset of the avail idx field within the available ring. */
    static final long AVAIL_IDX = 2;
    /** Offset of the used idx field within the used ring. */
    static final long USED_IDX = 2;

    static long availEntry(int slot) { return 4L + 2L * slot; }

    static long usedEntry(int slot) { return 4L + 8L * slot; }

    /** Offset of used_event in the available ring (only meaningful with EVENT_IDX). */
    static long usedEventOffset(int n) { return 4L + 2L * n; }

    /** Offset of avail_event in the used ring (only meaningful with EVENT_IDX). */
    static long availEventOffset(int n) { return 4L + 8L * n; }

    /**
     * The EVENT_IDX rule (2.7.7.2 / 2.7.10.1): whether moving an index from {@code oldIdx} to {@code newIdx} crossed
     * {@code event}, i.e. {@code event} lies in {@code [oldIdx, newIdx)} modulo 2^16.
     */
    public static boolean needEvent(int event, int newIdx, int oldIdx) {
        return ((newIdx - event - 1) & 0xffff) < ((newIdx - oldIdx) & 0xffff);
    }
}
