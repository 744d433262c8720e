package org.vireo.x86.boot;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/** An x86-64 ELF vmlinux: its loadable segments (by physical address) and its PVH entry point. */
record ElfKernel(List<Segment> segments, long pvhEntry) {
    static final int PT_LOAD = 1, PT_NOTE = 4;
    static final int XEN_ELFNOTE_PHYS32_ENTRY = 18;

    record Segment(long fileOffset, long fileSize, long physicalAddress, long memorySize) {}

    static boolean isElf(byte[] image) {
        return image.length >= 4 && image[0] == 0x7f && image[1] == 'E' && image[2] == 'L' && image[3] == 'F';
    }

    static ElfKernel parse(byte[] image) {
        ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
        if (image.length < 64 || image[4] != 2 || image[5] != 1) throw new BootException("not a little-endian 64-bit ELF kernel");
        if ((b.getShort(18) & 0xffff) != 62) throw new BootException("not an x86-64 ELF kernel (e_machine " + (b.getShort(18) & 0xffff) + ")");
        long phoff = b.getLong(32);
        int phentsize = b.getShort(54) & 0xffff, phnum = b.getShort(56) & 0xffff;
        if (phentsize < 56 || phoff < 0 || phoff + (long) phentsize * phnum > image.length) throw new BootException("ELF program headers out of the file");
        List<Segment> segments = new ArrayList<>();
        long entry = -1;
        for (int i = 0; i < phnum; i++) {
            int ph = (int) (phoff + (long) i * phentsize);
            int type = b.getInt(ph);
            long offset = b.getLong(ph + 8), paddr = b.getLong(ph + 24), filesz = b.getLong(ph + 32), memsz = b.getLong(ph + 40);
            if (offset < 0 || filesz < 0 || offset + filesz > image.length) throw new BootException("ELF segment " + i + " lies outside the file");
            if (type == PT_LOAD) {
                if (memsz < filesz) throw new BootException("ELF segment " + i + " has p_memsz < p_filesz");
                segments.add(new Segment(offset, filesz, paddr, memsz));
            } else if (type == PT_NOTE && entry < 0) {
                entry = findPvhEntry(b, (int) offset, (int) filesz);
            }
        }
        if (entry < 0) throw new BootException("the ELF kernel has no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY): build it with CONFIG_PVH=y, or boot the bzImage");
        return new ElfKernel(List.copyOf(segments), entry);
    }

    /** Scans a note segment for the Xen PHYS32_ENTRY note; -1 if absent. */
    private static long findPvhEntry(ByteBuffer b, int start, int length) {
        int at = start, end = start + length;
        while (at + 12 <= end) {
            long namesz = b.getInt(at) & 0xffff_ffffL, descsz = b.getInt(at + 4) & 0xffff_ffffL;
            int type = b.getInt(at + 8);
            long name = at + 12L;
            long desc = name + align4(namesz);
            long next = desc + align4(descsz);
            if (next > end) break;
            if (namesz == 4 && b.get((int) name) == 'X' && b.get((int) name + 1) == 'e' && b.get((int) name + 2) == 'n'
                    && b.get((int) name + 3) == 0 && type == XEN_ELFNOTE_PHYS32_ENTRY) {
                if (descsz == 4) return b.getInt((int) desc) & 0xffff_ffffL;
                if (descsz == 8) return b.getLong((int) desc);
            }
            at = (int) next;
        }
        return -1;
    }

    private static long align4(long v) { return (v + 3) & ~3L; }
}
