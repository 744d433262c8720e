package org.vireo.x86.boot;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * An x86-64 ELF vmlinux: its loadable segments (by physical address) and its PVH entry point. Read from a
 * {@link MemorySegment}, so a mapped file or an unpacked kernel's first block serves without a copy.
 */
record ElfKernel(List<Segment> segments, long pvhEntry) {
    static final int PT_LOAD = 1, PT_NOTE = 4;
    static final int XEN_ELFNOTE_PHYS32_ENTRY = 18;
    private static final ValueLayout.OfShort LE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt LE32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LE64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    record Segment(long fileOffset, long fileSize, long physicalAddress, long memorySize) {}

    /** The program headers: the PT_LOAD segments and the PT_NOTE segments (physical address and memory size 0). */
    record Headers(List<Segment> loads, List<Segment> notes) {}

    static boolean isElf(byte[] image) {
        return isElf(MemorySegment.ofArray(image));
    }

    static boolean isElf(MemorySegment image) {
        return image.byteSize() >= 4 && image.get(ValueLayout.JAVA_BYTE, 0) == 0x7f && image.get(ValueLayout.JAVA_BYTE, 1) == 'E'
                && image.get(ValueLayout.JAVA_BYTE, 2) == 'L' && image.get(ValueLayout.JAVA_BYTE, 3) == 'F';
    }

    static ElfKernel parse(byte[] image) {
        return parse(MemorySegment.ofArray(image));
    }

    static ElfKernel parse(MemorySegment image) {
        Headers h = headers(image, image.byteSize());
        long entry = -1;
        for (Segment n : h.notes()) {
            if (entry < 0) entry = findPvhEntry(image.asSlice(n.fileOffset(), n.fileSize()));
        }
        if (entry < 0) throw noPvhNote();
        return new ElfKernel(h.loads(), entry);
    }

    static BootException noPvhNote() {
        return new BootException("the ELF kernel has no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY): build it with CONFIG_PVH=y, or boot the bzImage");
    }

    /**
     * The program headers of an ELF file of {@code fileSize} bytes whose first bytes are {@code head}; every
     * segment is checked to lie in the file.
     *
     * @throws BootException if the file is not an x86-64 ELF or its program headers are not all in {@code head}
     */
    static Headers headers(MemorySegment head, long fileSize) {
        if (head.byteSize() < 64 || head.get(ValueLayout.JAVA_BYTE, 4) != 2 || head.get(ValueLayout.JAVA_BYTE, 5) != 1) {
            throw new BootException("not a little-endian 64-bit ELF kernel");
        }
        int machine = head.get(LE16, 18) & 0xffff;
        if (machine != 62) throw new BootException("not an x86-64 ELF kernel (e_machine " + machine + ")");
        long phoff = head.get(LE64, 32);
        int phentsize = head.get(LE16, 54) & 0xffff, phnum = head.get(LE16, 56) & 0xffff;
        if (phentsize < 56 || phoff < 0 || phoff > fileSize || phoff + (long) phentsize * phnum > fileSize) {
            throw new BootException("ELF program headers out of the file");
        }
        if (phoff + (long) phentsize * phnum > head.byteSize()) {
            throw new BootException("the ELF program headers lie beyond the first " + head.byteSize() + " bytes of the kernel");
        }
        List<Segment> loads = new ArrayList<>(), notes = new ArrayList<>();
        for (int i = 0; i < phnum; i++) {
            long ph = phoff + (long) i * phentsize;
            int type = head.get(LE32, ph);
            long offset = head.get(LE64, ph + 8), paddr = head.get(LE64, ph + 24), filesz = head.get(LE64, ph + 32), memsz = head.get(LE64, ph + 40);
            if (offset < 0 || filesz < 0 || offset > fileSize || filesz > fileSize - offset) {
                throw new BootException("ELF segment " + i + " lies outside the file");
            }
            if (type == PT_LOAD) {
                if (memsz < filesz) throw new BootException("ELF segment " + i + " has p_memsz < p_filesz");
                loads.add(new Segment(offset, filesz, paddr, memsz));
            } else if (type == PT_NOTE) {
                notes.add(new Segment(offset, filesz, 0, 0));
            }
        }
        return new Headers(List.copyOf(loads), List.copyOf(notes));
    }

    /** Scans the bytes of a note segment for the Xen PHYS32_ENTRY note; -1 if absent. */
    static long findPvhEntry(MemorySegment notes) {
        long at = 0, end = notes.byteSize();
        while (at + 12 <= end) {
            long namesz = notes.get(LE32, at) & 0xffff_ffffL, descsz = notes.get(LE32, at + 4) & 0xffff_ffffL;
            int type = notes.get(LE32, at + 8);
            long name = at + 12;
            long desc = name + align4(namesz);
            long next = desc + align4(descsz);
            if (next > end) break;
            if (namesz == 4 && notes.get(ValueLayout.JAVA_BYTE, name) == 'X' && notes.get(ValueLayout.JAVA_BYTE, name + 1) == 'e'
                    && notes.get(ValueLayout.JAVA_BYTE, name + 2) == 'n' && notes.get(ValueLayout.JAVA_BYTE, name + 3) == 0
                    && type == XEN_ELFNOTE_PHYS32_ENTRY) {
                if (descsz == 4) return notes.get(LE32, desc) & 0xffff_ffffL;
                if (descsz == 8) return notes.get(LE64, desc);
            }
            at = next;
        }
        return -1;
    }

    private static long align4(long v) { return (v + 3) & ~3L; }
}
