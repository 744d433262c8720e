package org.vireo.x86.boot;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import org.vireo.memory.GuestMemory;

/**
 * Puts a vmlinux that is being unpacked (a {@link KernelPayload.Sink}) into guest RAM as its bytes arrive: the first
 * piece carries the ELF and program headers, whose load segments are checked against guest RAM before anything is
 * written; after that each piece is copied to whichever segments it overlaps. Bytes no segment loads (symbols,
 * debug sections) are dropped, and the note segments are kept aside to find the PVH entry at the end.
 */
final class VmlinuxPlacer implements KernelPayload.Sink {
    /** The unpacked kernel is not an ELF with a PVH entry: not an error, its own decompressor boots it. */
    static final class NotPvh extends RuntimeException {
        NotPvh() { super(null, null, false, false); }
    }

    /** More note bytes than a vmlinux carries (a few hundred) are refused rather than held. */
    static final long MAX_NOTES = 1 << 20;

    private final GuestMemory memory;
    private long size = -1;
    private List<ElfKernel.Segment> loads;
    private List<ElfKernel.Segment> notes;
    private byte[][] noteBytes;
    private long kernelStart = Long.MAX_VALUE, kernelEnd;

    VmlinuxPlacer(GuestMemory memory) {
        this.memory = memory;
    }

    @Override
    public void start(long size) {
        this.size = size;
    }

    @Override
    public void accept(long at, MemorySegment bytes) {
        if (loads == null) headers(at, bytes);
        long end = at + bytes.byteSize();
        for (ElfKernel.Segment s : loads) {
            long from = Math.max(at, s.fileOffset()), to = Math.min(end, s.fileOffset() + s.fileSize());
            if (from < to) {
                MemorySegment.copy(bytes, from - at, memory.slice(s.physicalAddress() + (from - s.fileOffset()), to - from), 0, to - from);
            }
        }
        for (int i = 0; i < notes.size(); i++) {
            ElfKernel.Segment n = notes.get(i);
            long from = Math.max(at, n.fileOffset()), to = Math.min(end, n.fileOffset() + n.fileSize());
            if (from < to) MemorySegment.copy(bytes, from - at, MemorySegment.ofArray(noteBytes[i]), from - n.fileOffset(), to - from);
        }
    }

    /** Reads and checks the program headers from the first piece; nothing is written to guest RAM before. */
    private void headers(long at, MemorySegment first) {
        if (at != 0 || size < 0) throw new IllegalStateException("the unpacked kernel must come in order from its start");
        if (!ElfKernel.isElf(first)) throw new NotPvh();
        ElfKernel.Headers h = ElfKernel.headers(first, size);
        List<E820Entry> map = LowMemory.memoryMap(memory);
        List<ElfKernel.Segment> kept = new ArrayList<>();
        for (ElfKernel.Segment s : h.loads()) {
            if (s.memorySize() == 0) continue;
            LinuxLoader.checkInRam(map, s);
            kept.add(s);
        }
        long noteTotal = 0;
        for (ElfKernel.Segment n : h.notes()) noteTotal += n.fileSize();
        if (noteTotal > MAX_NOTES) throw new BootException("the ELF kernel's note segments hold " + noteTotal + " bytes, more than a kernel's");
        noteBytes = new byte[h.notes().size()][];
        for (int i = 0; i < noteBytes.length; i++) noteBytes[i] = new byte[(int) h.notes().get(i).fileSize()];
        notes = h.notes();
        loads = List.copyOf(kept);
    }

    /**
     * Called once every byte has come: zeroes each segment's part beyond its file bytes (.bss) and gives the PVH
     * entry.
     *
     * @throws NotPvh if the kernel has no PVH entry note
     */
    long finish() {
        if (loads == null) throw new NotPvh();
        long entry = -1;
        for (byte[] n : noteBytes) {
            if (entry < 0) entry = ElfKernel.findPvhEntry(MemorySegment.ofArray(n));
        }
        if (entry < 0) throw new NotPvh();
        for (ElfKernel.Segment s : loads) {
            memory.fill(s.physicalAddress() + s.fileSize(), s.memorySize() - s.fileSize(), (byte) 0);
            kernelStart = Math.min(kernelStart, s.physicalAddress());
            kernelEnd = Math.max(kernelEnd, s.physicalAddress() + s.memorySize());
        }
        return entry;
    }

    long kernelStart() { return kernelStart; }

    long kernelEnd() { return kernelEnd; }

    /** Zeroes what was written, as guest RAM was before, when the kernel boots another way after all. */
    void clear() {
        if (loads == null) return;
        for (ElfKernel.Segment s : loads) memory.fill(s.physicalAddress(), s.memorySize(), (byte) 0);
    }
}
