package org.vireo.x86.cpu;

/**
 * A segment register's visible selector and hidden descriptor cache. {@code attributes} packs descriptor bits
 * 40..47 (type, S, DPL, P) into bits 0..7 and bits 52..55 (AVL, L, D/B, G) into bits 12..15, the layout VMX and
 * KVM use. {@code limit} is the byte-granular limit (already scaled when G is set).
 */
public record Segment(int selector, long base, int limit, int attributes) {
    public static final int TYPE_ACCESSED = 0x1;
    public static final int TYPE_RW = 0x2;           // readable code / writable data
    public static final int TYPE_CODE = 0x8;
    public static final int S = 0x10;                // code or data (not a system descriptor)
    public static final int PRESENT = 0x80;
    public static final int L = 0x2000;              // 64-bit code
    public static final int DB = 0x4000;             // 32-bit default size
    public static final int G = 0x8000;

    /** Flat 64-bit ring-0 code segment. */
    public static Segment code64(int selector) {
        return new Segment(selector, 0, -1, PRESENT | S | TYPE_CODE | TYPE_RW | TYPE_ACCESSED | L | G);
    }

    /** Flat 32-bit ring-0 code segment (4 GiB). */
    public static Segment code32(int selector) {
        return new Segment(selector, 0, -1, PRESENT | S | TYPE_CODE | TYPE_RW | TYPE_ACCESSED | DB | G);
    }

    /** Flat 32-bit ring-0 writable data segment (4 GiB). */
    public static Segment data32(int selector) {
        return new Segment(selector, 0, -1, PRESENT | S | TYPE_RW | TYPE_ACCESSED | DB | G);
    }

    /** A real-mode segment: base = selector * 16, 64 KiB limit. */
    public static Segment real(int selector, boolean code) {
        return new Segment(selector & 0xffff, (selector & 0xffffL) << 4, 0xffff,
                PRESENT | S | TYPE_RW | TYPE_ACCESSED | (code ? TYPE_CODE : 0));
    }

    public int dpl() { return (attributes >> 5) & 3; }

    public boolean present() { return (attributes & PRESENT) != 0; }

    @Override
    public String toString() {
        return String.format("Segment[sel=%04x base=%x limit=%x attr=%04x]", selector, base, limit, attributes);
    }
}
