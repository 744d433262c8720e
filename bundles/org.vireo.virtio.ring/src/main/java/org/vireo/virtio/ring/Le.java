package org.vireo.virtio.ring;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** Little-endian plain accesses to ring memory (ordering is done with explicit fences by the callers). */
final class Le {
    private static final ValueLayout.OfShort LE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt LE32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LE64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Le() {}

    static int u16(MemorySegment s, long offset) { return s.get(LE16, offset) & 0xffff; }

    static int i32(MemorySegment s, long offset) { return s.get(LE32, offset); }

    static long u32(MemorySegment s, long offset) { return Integer.toUnsignedLong(s.get(LE32, offset)); }

    static long i64(MemorySegment s, long offset) { return s.get(LE64, offset); }

    static void put16(MemorySegment s, long offset, int value) { s.set(LE16, offset, (short) value); }

    static void put32(MemorySegment s, long offset, int value) { s.set(LE32, offset, value); }

    static void put64(MemorySegment s, long offset, long value) { s.set(LE64, offset, value); }
}
