package org.vireo.kvm;

/**
 * A segment register with its hidden descriptor cache ({@code struct kvm_segment}). {@code type} is the 4-bit
 * descriptor type; {@code s} is set for code/data segments, clear for system segments (TSS, LDT).
 */
public record Segment(long base, int limit, int selector, int type, boolean present, int dpl, boolean db, boolean s,
                      boolean l, boolean g, boolean avl, boolean unusable) {
    /** Code, execute/read, accessed. */
    public static final int TYPE_CODE = 0xB;
    /** Data, read/write, accessed. */
    public static final int TYPE_DATA = 0x3;
    /** Busy 32/64-bit TSS. */
    public static final int TYPE_TSS_BUSY = 0xB;
    public static final int TYPE_LDT = 0x2;

    public Segment {
        if (selector < 0 || selector > 0xFFFF) throw new IllegalArgumentException("selector out of range: " + selector);
        if (type < 0 || type > 0xF) throw new IllegalArgumentException("type out of range: " + type);
        if (dpl < 0 || dpl > 3) throw new IllegalArgumentException("dpl out of range: " + dpl);
    }

    /** A real-mode segment: base = selector * 16, 64 KiB limit. */
    public static Segment realMode(int selector, boolean code) {
        return new Segment((long) selector << 4, 0xFFFF, selector, code ? TYPE_CODE : TYPE_DATA, true, 0, false, true,
                false, false, false, false);
    }

    /** A flat 4 GiB 32-bit code segment. */
    public static Segment flatCode32(int selector) {
        return new Segment(0, 0xFFFF_FFFF, selector, TYPE_CODE, true, 0, true, true, false, true, false, false);
    }

    /** A flat 4 GiB data segment (also for 64-bit mode, where base and limit are ignored). */
    public static Segment flatData(int selector) {
        return new Segment(0, 0xFFFF_FFFF, selector, TYPE_DATA, true, 0, true, true, false, true, false, false);
    }

    /** A 64-bit code segment (L set, D clear). */
    public static Segment code64(int selector) {
        return new Segment(0, 0xFFFF_FFFF, selector, TYPE_CODE, true, 0, false, true, true, true, false, false);
    }

    /** A busy TSS, as VMX entry requires a usable TR in protected mode. */
    public static Segment tss(int selector, long base, int limit) {
        return new Segment(base, limit, selector, TYPE_TSS_BUSY, true, 0, false, false, false, false, false, false);
    }

    /** An unusable (null) segment. */
    public static Segment nullSegment() {
        return new Segment(0, 0, 0, 0, false, 0, false, false, false, false, false, true);
    }

    public Segment withSelector(int value) {
        return new Segment(base, limit, value, type, present, dpl, db, s, l, g, avl, unusable);
    }
}
