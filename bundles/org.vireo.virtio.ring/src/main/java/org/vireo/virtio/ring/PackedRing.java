package org.vireo.virtio.ring;

/**
 * Packed ring layout (virtio 1.2 2.8): one descriptor ring that both sides write, and two 4-byte event suppression
 * structures, the driver's (the "driver area", read by the device) and the device's (the "device area", read by the
 * driver).
 * <p>
 * <b>Positions.</b> Each side walks the ring with a slot number and a wrap counter that starts at 1 and flips each
 * time the slot wraps to 0. {@link #lin} maps such a pair to one counter modulo {@code 2 * size}, so "did the index
 * pass the event" is {@link #needEvent} on plain integers, as with the split ring's free-running 16-bit indices.
 */
public final class PackedRing {
    public static final int DESC_ALIGN = 16;
    public static final int EVENT_ALIGN = 4;
    public static final int MAX_SIZE = 32768;

    /** Bytes of one descriptor: addr (le64), len (le32), id (le16), flags (le16). */
    public static final int DESC_SIZE = 16;
    /** Bytes of an event suppression structure: off_wrap (le16), flags (le16). */
    public static final int EVENT_SIZE = 4;

    /** Descriptor flags (2.8.1, 2.8.6, 2.8.7). */
    public static final int DESC_F_NEXT = 1;
    public static final int DESC_F_WRITE = 2;
    public static final int DESC_F_INDIRECT = 4;
    public static final int DESC_F_AVAIL = 1 << 7;
    public static final int DESC_F_USED = 1 << 15;

    /** Event suppression flags (2.8.10): the low two bits of the flags field. */
    public static final int EVENT_F_ENABLE = 0;
    public static final int EVENT_F_DISABLE = 1;
    /** Only with RING_EVENT_IDX: notify when the position in off_wrap is reached. */
    public static final int EVENT_F_DESC = 2;
    /** The wrap counter bit of off_wrap. */
    public static final int EVENT_WRAP_BIT = 15;

    private PackedRing() {}

    /** Any size from 1 to 32768 (2.8: a packed ring's size need not be a power of two). */
    public static boolean validSize(int n) { return n > 0 && n <= MAX_SIZE; }

    public static long descRingSize(int n) { return (long) DESC_SIZE * n; }

    /** Offsets within a descriptor. */
    static final long ADDR = 0, LEN = 8, ID = 12, FLAGS = 14;

    /** Whether a descriptor's flags make it available in the lap whose wrap counter is {@code wrap} (2.8.1). */
    static boolean isAvail(int flags, boolean wrap) {
        return ((flags & DESC_F_AVAIL) != 0) == wrap && ((flags & DESC_F_USED) != 0) != wrap;
    }

    /** Whether a descriptor's flags mark it used in the lap whose wrap counter is {@code wrap}: AVAIL == USED == wrap. */
    static boolean isUsed(int flags, boolean wrap) {
        return ((flags & DESC_F_AVAIL) != 0) == wrap && ((flags & DESC_F_USED) != 0) == wrap;
    }

    /** AVAIL and USED as the driver sets them to make a descriptor available in lap {@code wrap}. */
    static int availFlags(boolean wrap) { return wrap ? DESC_F_AVAIL : DESC_F_USED; }

    /** AVAIL and USED as the device sets them to mark a descriptor used in lap {@code wrap}. */
    static int usedFlags(boolean wrap) { return wrap ? DESC_F_AVAIL | DESC_F_USED : 0; }

    /** A (slot, wrap) position as one counter modulo 2 * size: the first lap (wrap 1) is 0..size-1. */
    static int lin(int slot, boolean wrap, int size) { return wrap ? slot : slot + size; }

    /** The (slot, wrap) position in an off_wrap field, as {@link #lin}; a slot beyond the ring is taken modulo size. */
    static int linOfOffWrap(int offWrap, int size) {
        return lin((offWrap & 0x7fff) % size, (offWrap >>> EVENT_WRAP_BIT) != 0, size);
    }

    static int offWrap(int slot, boolean wrap) { return slot | (wrap ? 1 << EVENT_WRAP_BIT : 0); }

    /**
     * The EVENT_IDX rule on {@link #lin} counters: whether moving from {@code oldLin} to {@code newLin} passed
     * {@code event}, i.e. {@code event} lies in {@code [oldLin, newLin)} modulo {@code 2 * size}.
     */
    static boolean needEvent(int event, int newLin, int oldLin, int size) {
        int m = 2 * size;
        return Math.floorMod(newLin - event - 1, m) < Math.floorMod(newLin - oldLin, m);
    }
}
