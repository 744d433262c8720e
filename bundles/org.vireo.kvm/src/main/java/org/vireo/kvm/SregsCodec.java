package org.vireo.kvm;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.MemorySegment;
import org.vireo.kvm.internal.KvmAbi;

/** Reads and writes {@code struct kvm_sregs} through the layout's field offsets. */
final class SregsCodec {
    private static final String[] SEGMENTS = {"cs", "ds", "es", "fs", "gs", "ss", "tr", "ldt"};
    private static final long BASE = KvmAbi.offset(KvmAbi.SEGMENT, "base");
    private static final long LIMIT = KvmAbi.offset(KvmAbi.SEGMENT, "limit");
    private static final long SELECTOR = KvmAbi.offset(KvmAbi.SEGMENT, "selector");
    private static final long TYPE = KvmAbi.offset(KvmAbi.SEGMENT, "type");
    private static final long PRESENT = KvmAbi.offset(KvmAbi.SEGMENT, "present");
    private static final long DPL = KvmAbi.offset(KvmAbi.SEGMENT, "dpl");
    private static final long DB = KvmAbi.offset(KvmAbi.SEGMENT, "db");
    private static final long S = KvmAbi.offset(KvmAbi.SEGMENT, "s");
    private static final long L = KvmAbi.offset(KvmAbi.SEGMENT, "l");
    private static final long G = KvmAbi.offset(KvmAbi.SEGMENT, "g");
    private static final long AVL = KvmAbi.offset(KvmAbi.SEGMENT, "avl");
    private static final long UNUSABLE = KvmAbi.offset(KvmAbi.SEGMENT, "unusable");
    private static final long DT_BASE = KvmAbi.offset(KvmAbi.DTABLE, "base");
    private static final long DT_LIMIT = KvmAbi.offset(KvmAbi.DTABLE, "limit");

    private SregsCodec() {}

    private static long at(String field) { return KvmAbi.offset(KvmAbi.SREGS, field); }

    static SpecialRegisters read(MemorySegment s) {
        Segment[] seg = new Segment[SEGMENTS.length];
        for (int i = 0; i < seg.length; i++) seg[i] = readSegment(s.asSlice(at(SEGMENTS[i]), KvmAbi.SEGMENT.byteSize()));
        long[] bitmap = new long[4];
        long bitmapAt = at("interrupt_bitmap");
        for (int i = 0; i < 4; i++) bitmap[i] = s.get(JAVA_LONG, bitmapAt + i * 8L);
        return new SpecialRegisters(seg[0], seg[1], seg[2], seg[3], seg[4], seg[5], seg[6], seg[7],
                readTable(s, at("gdt")), readTable(s, at("idt")),
                s.get(JAVA_LONG, at("cr0")), s.get(JAVA_LONG, at("cr2")), s.get(JAVA_LONG, at("cr3")),
                s.get(JAVA_LONG, at("cr4")), s.get(JAVA_LONG, at("cr8")), s.get(JAVA_LONG, at("efer")),
                s.get(JAVA_LONG, at("apic_base")), bitmap);
    }

    static void write(MemorySegment s, SpecialRegisters r) {
        s.asSlice(0, KvmAbi.SREGS.byteSize()).fill((byte) 0);
        Segment[] seg = {r.cs(), r.ds(), r.es(), r.fs(), r.gs(), r.ss(), r.tr(), r.ldt()};
        for (int i = 0; i < seg.length; i++) writeSegment(s.asSlice(at(SEGMENTS[i]), KvmAbi.SEGMENT.byteSize()), seg[i]);
        writeTable(s, at("gdt"), r.gdt());
        writeTable(s, at("idt"), r.idt());
        s.set(JAVA_LONG, at("cr0"), r.cr0());
        s.set(JAVA_LONG, at("cr2"), r.cr2());
        s.set(JAVA_LONG, at("cr3"), r.cr3());
        s.set(JAVA_LONG, at("cr4"), r.cr4());
        s.set(JAVA_LONG, at("cr8"), r.cr8());
        s.set(JAVA_LONG, at("efer"), r.efer());
        s.set(JAVA_LONG, at("apic_base"), r.apicBase());
        long[] bitmap = r.interruptBitmap();
        long bitmapAt = at("interrupt_bitmap");
        for (int i = 0; i < 4; i++) s.set(JAVA_LONG, bitmapAt + i * 8L, bitmap[i]);
    }

    private static Segment readSegment(MemorySegment s) {
        return new Segment(s.get(JAVA_LONG, BASE), s.get(JAVA_INT, LIMIT), s.get(JAVA_SHORT, SELECTOR) & 0xFFFF,
                s.get(JAVA_BYTE, TYPE) & 0xF, flag(s, PRESENT), s.get(JAVA_BYTE, DPL) & 3, flag(s, DB), flag(s, S),
                flag(s, L), flag(s, G), flag(s, AVL), flag(s, UNUSABLE));
    }

    private static boolean flag(MemorySegment s, long offset) { return s.get(JAVA_BYTE, offset) != 0; }

    private static void writeSegment(MemorySegment s, Segment g) {
        s.set(JAVA_LONG, BASE, g.base());
        s.set(JAVA_INT, LIMIT, g.limit());
        s.set(JAVA_SHORT, SELECTOR, (short) g.selector());
        s.set(JAVA_BYTE, TYPE, (byte) g.type());
        s.set(JAVA_BYTE, PRESENT, bit(g.present()));
        s.set(JAVA_BYTE, DPL, (byte) g.dpl());
        s.set(JAVA_BYTE, DB, bit(g.db()));
        s.set(JAVA_BYTE, S, bit(g.s()));
        s.set(JAVA_BYTE, L, bit(g.l()));
        s.set(JAVA_BYTE, G, bit(g.g()));
        s.set(JAVA_BYTE, AVL, bit(g.avl()));
        s.set(JAVA_BYTE, UNUSABLE, bit(g.unusable()));
    }

    private static byte bit(boolean b) { return (byte) (b ? 1 : 0); }

    private static DescriptorTable readTable(MemorySegment s, long at) {
        return new DescriptorTable(s.get(JAVA_LONG, at + DT_BASE), s.get(JAVA_SHORT, at + DT_LIMIT) & 0xFFFF);
    }

    private static void writeTable(MemorySegment s, long at, DescriptorTable t) {
        s.set(JAVA_LONG, at + DT_BASE, t.base());
        s.set(JAVA_SHORT, at + DT_LIMIT, (short) t.limit());
    }
}
