package org.vireo.x86.cpu;

import static org.vireo.x86.cpu.CpuState.CR0_PG;
import static org.vireo.x86.cpu.CpuState.CR0_WP;
import static org.vireo.x86.cpu.CpuState.CR4_PAE;
import static org.vireo.x86.cpu.CpuState.CR4_PGE;
import static org.vireo.x86.cpu.CpuState.CR4_PSE;
import static org.vireo.x86.cpu.CpuState.EFER_LMA;
import static org.vireo.x86.cpu.CpuState.EFER_NXE;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import org.vireo.bus.IoBus;
import org.vireo.memory.GuestMemory;
import org.vireo.memory.MemoryRegion;

/**
 * Linear-to-physical translation and guest memory access. A direct-mapped software TLB per privilege
 * (supervisor, user) holds, per 4 KiB linear page, the RAM segment and offset of the page and whether it may
 * be read, written or executed. Only RAM pages are cached; MMIO always takes the slow path to the mmio bus.
 * The write tag is set only for pages whose dirty bit is already set and that hold no decoded code, so the fast
 * write path needs neither page-table updates nor code invalidation.
 */
final class Mmu {
    static final int TLB_BITS = 10, TLB_SIZE = 1 << TLB_BITS, TLB_MASK = TLB_SIZE - 1;
    static final int READ = 0, WRITE = 1, FETCH = 2;
    /** Physical address width advertised in CPUID 0x80000008. */
    static final int PHYS_BITS = 40;

    static final ValueLayout.OfShort LE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt LE32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong LE64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfByte B = ValueLayout.JAVA_BYTE;

    private static final long P = 1, RW = 2, US = 4, A = 32, D = 64, PS = 128, NX = 1L << 63;
    private static final long ADDR = 0x000f_ffff_ffff_f000L;
    private static final long RSVD_HIGH = ADDR & ~((1L << PHYS_BITS) - 1);
    private static final int PF_P = 1, PF_W = 2, PF_U = 4, PF_RSVD = 8, PF_I = 16;

    static final class Tlb {
        final long[] rTag = new long[TLB_SIZE];
        final long[] wTag = new long[TLB_SIZE];
        final long[] xTag = new long[TLB_SIZE];
        final MemorySegment[] seg = new MemorySegment[TLB_SIZE];
        final long[] base = new long[TLB_SIZE];     // offset of the page within seg
        final long[] phys = new long[TLB_SIZE];     // physical page address
        /** The entry came from a global page (G bit with CR4.PGE): it survives CR3 writes. */
        final boolean[] global = new boolean[TLB_SIZE];

        Tlb() { flush(); }

        void flush() {
            Arrays.fill(rTag, -1L);
            Arrays.fill(wTag, -1L);
            Arrays.fill(xTag, -1L);
        }

        void flushNonGlobal() {
            for (int i = 0; i < TLB_SIZE; i++) {
                if (!global[i]) {
                    rTag[i] = -1;
                    wTag[i] = -1;
                    xTag[i] = -1;
                }
            }
        }
    }

    private final CpuState s;
    private final GuestMemory memory;
    private final IoBus mmio;
    final CodeCache code;
    private final Tlb supervisor = new Tlb(), user = new Tlb();
    /** The TLB of the current privilege level. */
    Tlb tlb = supervisor;
    boolean userMode;
    /** The largest page size (4K, 2M/4M or 1G) that entries in the TLBs came from since the last full flush. */
    private long largestPageCached = 4096;
    /** Set when a write dropped decoded code: the executing block must stop after the current instruction. */
    boolean codeWritten;
    /** Statistics (slow paths only, so always counted). */
    long tlbMisses, pageWalks, invlpgs, flushes, mmioAccesses;

    Mmu(CpuState s, GuestMemory memory, IoBus mmio, CodeCache code) {
        this.s = s;
        this.memory = memory;
        this.mmio = mmio;
        this.code = code;
    }

    /** Changes whenever a translation may have changed (flushes, privilege switches): invalidates block chains. */
    int epoch;

    void setUserMode(boolean u) {
        if (u != userMode) epoch++;
        userMode = u;
        tlb = u ? user : supervisor;
    }

    void flush() {
        flushes++;
        epoch++;
        supervisor.flush();
        user.flush();
        largestPageCached = 4096;
    }

    /**
     * A CR3 write: drops every translation but those of global pages. Linux maps the kernel with global pages, so a
     * context switch keeps the kernel's entries, as on hardware (it flushes them by toggling CR4.PGE).
     */
    void flushNonGlobal() {
        flushes++;
        epoch++;
        supervisor.flushNonGlobal();
        user.flushNonGlobal();
        // largestPageCached stays: global large-page entries may remain, and INVLPG must still find them.
    }

    /** INVLPG: drops {@code lin}'s page, or every entry inside the largest page size cached since the last flush. */
    void flushPage(long lin) {
        invlpgs++;
        epoch++;
        if (largestPageCached > 4096) {
            long region = lin & -largestPageCached;
            for (Tlb t : new Tlb[] {supervisor, user}) {
                for (int i = 0; i < TLB_SIZE; i++) {
                    long tag = t.rTag[i];
                    if (tag != -1 && (tag & -largestPageCached) == region) {
                        t.rTag[i] = -1;
                        t.wTag[i] = -1;
                        t.xTag[i] = -1;
                    }
                }
            }
            return;
        }
        int idx = (int) (lin >>> 12) & TLB_MASK;
        for (Tlb t : new Tlb[] {supervisor, user}) {
            t.rTag[idx] = -1;
            t.wTag[idx] = -1;
            t.xTag[idx] = -1;
        }
    }

    /** A page just became a code page: no write mapping may point at it any more. */
    void dropWriteMappings(long physPage) {
        for (Tlb t : new Tlb[] {supervisor, user}) {
            for (int i = 0; i < TLB_SIZE; i++) if (t.phys[i] == physPage) t.wTag[i] = -1;
        }
    }

    // ------------------------------------------------------------------ fast paths (current privilege)

    int read8(long lin) {
        Tlb t = tlb;
        int idx = (int) (lin >>> 12) & TLB_MASK;
        long off = lin & 0xfff;
        if (t.rTag[idx] == lin - off) return t.seg[idx].get(B, t.base[idx] + off) & 0xff;
        return (int) readSlow(lin, 1, userMode);
    }

    int read16(long lin) {
        Tlb t = tlb;
        int idx = (int) (lin >>> 12) & TLB_MASK;
        long off = lin & 0xfff;
        if (t.rTag[idx] == lin - off && off <= 4094) return t.seg[idx].get(LE16, t.base[idx] + off) & 0xffff;
        return (int) readSlow(lin, 2, userMode);
    }

    int read32(long lin) {
        Tlb t = tlb;
        int idx = (int) (lin >>> 12) & TLB_MASK;
        long off = lin & 0xfff;
        if (t.rTag[idx] == lin - off && off <= 4092) return t.seg[idx].get(LE32, t.base[idx] + off);
        return (int) readSlow(lin, 4, userMode);
    }

    long read64(long lin) {
        Tlb t = tlb;
        int idx = (int) (lin >>> 12) & TLB_MASK;
        long off = lin & 0xfff;
        if (t.rTag[idx] == lin - off && off <= 4088) return t.seg[idx].get(LE64, t.base[idx] + off);
        return readSlow(lin, 8, userMode);
    }

    /** Reads 1, 2, 4 or 8 bytes, zero-extended. */
    long read(long lin, int size) {
        return switch (size) {
            case 1 -> read8(lin);
            case 2 -> read16(lin);
            case 4 -> read32(lin) & 0xffffffffL;
            default -> read64(lin);
        };
    }

    void write8(long lin, long v) {
        Tlb t = tlb;
        int idx = (int) (lin >>> 12) & TLB_MASK;
        long off = lin & 0xfff;
        if (t.wTag[idx] == lin - off) { t.seg[idx].set(B, t.base[idx] + off, (byte) v); return; }
        writeSlow(lin, 1, v, userMode);
    }

    void write16(long lin, long v) {
        Tlb t = tlb;
        int idx = (int) (lin >>> 12) & TLB_MASK;
        long off = lin & 0xfff;
        if (t.wTag[idx] == lin - off && off <= 4094) { t.seg[idx].set(LE16, t.base[idx] + off, (short) v); return; }
        writeSlow(lin, 2, v, userMode);
    }

    void write32(long lin, long v) {
        Tlb t = tlb;
        int idx = (int) (lin >>> 12) & TLB_MASK;
        long off = lin & 0xfff;
        if (t.wTag[idx] == lin - off && off <= 4092) { t.seg[idx].set(LE32, t.base[idx] + off, (int) v); return; }
        writeSlow(lin, 4, v, userMode);
    }

    void write64(long lin, long v) {
        Tlb t = tlb;
        int idx = (int) (lin >>> 12) & TLB_MASK;
        long off = lin & 0xfff;
        if (t.wTag[idx] == lin - off && off <= 4088) { t.seg[idx].set(LE64, t.base[idx] + off, v); return; }
        writeSlow(lin, 8, v, userMode);
    }

    void write(long lin, int size, long v) {
        switch (size) {
            case 1 -> write8(lin, v);
            case 2 -> write16(lin, v);
            case 4 -> write32(lin, v);
            default -> write64(lin, v);
        }
    }

    /** Checks that {@code [lin, lin+size)} may be written, faulting if not, without writing. */
    void probeWrite(long lin, int size) {
        Tlb t = tlb;
        int idx = (int) (lin >>> 12) & TLB_MASK;
        long off = lin & 0xfff;
        if (t.wTag[idx] == lin - off && off <= 4096 - size) return;
        translate(lin, WRITE, userMode);
        if (off + size > 4096) translate(lin - off + 4096, WRITE, userMode);
    }

    /** TLB index of {@code lin}'s page mapped for writing (translating if needed), or -1 (MMIO, code page). */
    int bulkWriteIndex(long lin) {
        Tlb t = tlb;
        int idx = (int) (lin >>> 12) & TLB_MASK;
        long page = lin & ~0xfffL;
        if (t.wTag[idx] == page) return idx;
        checkCanonical(lin);
        translate(lin, WRITE, userMode);
        return t.wTag[idx] == page ? idx : -1;
    }

    /** TLB index of {@code lin}'s page mapped for reading (translating if needed), or -1 (MMIO). */
    int bulkReadIndex(long lin) {
        Tlb t = tlb;
        int idx = (int) (lin >>> 12) & TLB_MASK;
        long page = lin & ~0xfffL;
        if (t.rTag[idx] == page) return idx;
        checkCanonical(lin);
        translate(lin, READ, userMode);
        return t.rTag[idx] == page ? idx : -1;
    }

    // ------------------------------------------------------------------ implicit supervisor accesses (descriptor tables, TSS, interrupt stacks)

    long readSys(long lin, int size) { return readSlow(lin, size, false); }

    void writeSys(long lin, int size, long v) { writeSlow(lin, size, v, false); }

    // ------------------------------------------------------------------ slow paths

    long readSlow(long lin, int size, boolean asUser) {
        checkCanonical(lin);
        long off = lin & 0xfff;
        if (off + size <= 4096) return physRead(translate(lin, READ, asUser), size);
        int first = (int) (4096 - off);
        long pa1 = translate(lin, READ, asUser);
        long pa2 = translate(nextPage(lin), READ, asUser);
        long v = 0;
        for (int k = 0; k < size; k++) {
            long b = physRead(k < first ? pa1 + k : pa2 + (k - first), 1);
            v |= b << (8 * k);
        }
        return v;
    }

    void writeSlow(long lin, int size, long v, boolean asUser) {
        checkCanonical(lin);
        long off = lin & 0xfff;
        if (off + size <= 4096) {
            physWrite(translate(lin, WRITE, asUser), size, v);
            return;
        }
        int first = (int) (4096 - off);
        long pa1 = translate(lin, WRITE, asUser);
        long pa2 = translate(nextPage(lin), WRITE, asUser);
        for (int k = 0; k < size; k++) {
            physWrite(k < first ? pa1 + k : pa2 + (k - first), 1, v >>> (8 * k));
        }
    }

    private long nextPage(long lin) {
        long n = (lin | 0xfff) + 1;
        return (s.efer & EFER_LMA) != 0 ? n : n & 0xffffffffL;
    }

    private void checkCanonical(long lin) {
        if ((s.efer & EFER_LMA) != 0 && (lin << 16 >> 16) != lin) throw CpuException.gp(0);
    }

    /** Physical address of an instruction byte, for the decoder. */
    long fetchPhys(long lin) {
        Tlb t = tlb;
        int idx = (int) (lin >>> 12) & TLB_MASK;
        long off = lin & 0xfff;
        if (t.xTag[idx] == lin - off) return t.phys[idx] + off;
        checkCanonical(lin);
        return translate(lin, FETCH, userMode);
    }

    // ------------------------------------------------------------------ physical memory

    long physRead(long pa, int size) {
        MemoryRegion r = memory.find(pa, size);
        if (r == null) {
            mmioAccesses++;
            return mmio.read(pa, size);
        }
        MemorySegment seg = r.segment();
        long o = pa - r.base();
        return switch (size) {
            case 1 -> seg.get(B, o) & 0xffL;
            case 2 -> seg.get(LE16, o) & 0xffffL;
            case 4 -> seg.get(LE32, o) & 0xffffffffL;
            default -> seg.get(LE64, o);
        };
    }

    void physWrite(long pa, int size, long v) {
        MemoryRegion r = memory.find(pa, size);
        if (r == null) {
            mmioAccesses++;
            mmio.write(pa, size, v);
            return;
        }
        long ppn = pa >>> 12;
        if (code.isCodePage(ppn) && code.invalidatePage(ppn)) codeWritten = true;
        MemorySegment seg = r.segment();
        long o = pa - r.base();
        switch (size) {
            case 1 -> seg.set(B, o, (byte) v);
            case 2 -> seg.set(LE16, o, (short) v);
            case 4 -> seg.set(LE32, o, (int) v);
            default -> seg.set(LE64, o, v);
        }
    }

    boolean isRam(long pa, long len) { return memory.find(pa, len) != null; }

    /** Copies instruction bytes from physical memory (RAM, or the mmio bus byte by byte). */
    void readCode(long pa, byte[] dst, int off, int len) {
        MemoryRegion r = memory.find(pa, len);
        if (r != null) {
            MemorySegment.copy(r.segment(), B, pa - r.base(), dst, off, len);
            return;
        }
        for (int k = 0; k < len; k++) dst[off + k] = (byte) physRead(pa + k, 1);
    }

    // ------------------------------------------------------------------ translation

    /** Translates {@code lin} for an access of {@code kind}, raising #PF, and caches the page in the TLB. */
    long translate(long lin, int kind, boolean asUser) {
        tlbMisses++;
        long page = lin & ~0xfffL;
        long physPage;
        boolean writable, executable, global = false;
        if ((s.cr0 & CR0_PG) == 0) {
            physPage = page & 0xffffffffL;
            writable = executable = true;
        } else {
            long leaf = walk(lin, kind, asUser);
            physPage = leaf & ~0xfffL;
            writable = (leaf & WALK_WRITABLE) != 0;
            executable = (leaf & WALK_EXEC) != 0;
            global = (leaf & WALK_GLOBAL) != 0;
        }
        fill(asUser ? user : supervisor, page, physPage, writable, executable, global);
        return physPage | (lin & 0xfff);
    }

    // walk() returns the physical page address with these flags in the low bits
    private static final long WALK_WRITABLE = 1, WALK_EXEC = 2, WALK_GLOBAL = 4;
    private static final long G = 0x100;

    private void fill(Tlb t, long page, long physPage, boolean writable, boolean executable, boolean global) {
        MemoryRegion r = memory.find(physPage, 4096);
        if (r == null) return;
        int idx = (int) (page >>> 12) & TLB_MASK;
        t.rTag[idx] = page;
        t.seg[idx] = r.segment();
        t.base[idx] = physPage - r.base();
        t.phys[idx] = physPage;
        t.wTag[idx] = writable && !code.isCodePage(physPage >>> 12) ? page : -1;
        t.xTag[idx] = executable ? page : -1;
        t.global[idx] = global;
    }

    private CpuException pageFault(long lin, int kind, boolean asUser, int bits) {
        int err = bits;
        if (kind == WRITE) err |= PF_W;
        if (asUser) err |= PF_U;
        if (kind == FETCH && (s.efer & EFER_NXE) != 0) err |= PF_I;
        s.cr2 = lin;
        return CpuException.fault(CpuException.PF, err);
    }

    private final long[] walkAddr = new long[4];
    private final long[] walkEntry = new long[4];

    /**
     * Walks the page tables for the current paging mode and checks permissions. Sets accessed bits (and the
     * dirty bit for a write). Returns the physical page, plus WALK_WRITABLE if the TLB may map the page for
     * writing at this privilege (allowed and already dirty) and WALK_EXEC if it may be executed.
     */
    private long walk(long lin, int kind, boolean asUser) {
        pageWalks++;
        boolean nxe = (s.efer & EFER_NXE) != 0;
        boolean lma = (s.efer & EFER_LMA) != 0;
        boolean pae = (s.cr4 & CR4_PAE) != 0;
        long allow = US | RW;
        boolean nx = false;
        int n = 0;
        long physPage;
        long leafEntry;
        if (!pae) {
            // Legacy 32-bit paging: two levels of 4-byte entries, 4 MiB pages with CR4.PSE.
            long pdeAddr = (s.cr3 & 0xfffff000L) | ((lin >>> 22) & 0x3ff) * 4;
            long pde = physRead(pdeAddr, 4);
            if ((pde & P) == 0) throw pageFault(lin, kind, asUser, 0);
            walkAddr[n] = pdeAddr;
            walkEntry[n++] = pde;
            allow &= pde;
            if ((pde & PS) != 0 && (s.cr4 & CR4_PSE) != 0) {
                physPage = (pde & 0xffc00000L) | ((pde & 0x1fe000L) << 19) | (lin & 0x3ff000L);
                largestPageCached = Math.max(largestPageCached, 1L << 22);
            } else {
                long pteAddr = (pde & 0xfffff000L) | ((lin >>> 12) & 0x3ff) * 4;
                long pte = physRead(pteAddr, 4);
                if ((pte & P) == 0) throw pageFault(lin, kind, asUser, 0);
                walkAddr[n] = pteAddr;
                walkEntry[n++] = pte;
                allow &= pte;
                physPage = pte & 0xfffff000L;
            }
        } else {
            long rsvd = RSVD_HIGH | (nxe ? 0 : NX);
            long table;
            int level;
            if (lma) {
                table = s.cr3 & ADDR;
                level = 4;
            } else {
                long pdpteAddr = (s.cr3 & 0xffffffe0L) + ((lin >>> 30) & 3) * 8;
                long pdpte = physRead(pdpteAddr, 8);
                if ((pdpte & P) == 0) throw pageFault(lin, kind, asUser, 0);
                if ((pdpte & (RSVD_HIGH | 0x1e6)) != 0) throw pageFault(lin, kind, asUser, PF_P | PF_RSVD);
                table = pdpte & ADDR;
                level = 2;
            }
            while (true) {
                int shift = 12 + 9 * (level - 1);
                long ea = table + ((lin >>> shift) & 511) * 8;
                long e = physRead(ea, 8);
                if ((e & P) == 0) throw pageFault(lin, kind, asUser, 0);
                if ((e & rsvd) != 0 || (level == 4 && (e & PS) != 0)) throw pageFault(lin, kind, asUser, PF_P | PF_RSVD);
                walkAddr[n] = ea;
                walkEntry[n++] = e;
                allow &= e;
                if ((e & NX) != 0) nx = true;
                if (level == 1) {
                    physPage = e & ADDR;
                    break;
                }
                if ((e & PS) != 0 && (level == 2 || level == 3)) {
                    long pageMask = (1L << shift) - 1;
                    physPage = (e & ADDR & ~pageMask) | (lin & pageMask & ~0xfffL);
                    largestPageCached = Math.max(largestPageCached, 1L << shift);
                    break;
                }
                table = e & ADDR;
                level--;
            }
        }
        leafEntry = walkEntry[n - 1];
        boolean userOk = (allow & US) != 0;
        boolean writeOk = (allow & RW) != 0 || (!asUser && (s.cr0 & CR0_WP) == 0);
        if (asUser && !userOk) throw pageFault(lin, kind, asUser, PF_P);
        if (kind == WRITE && !writeOk) throw pageFault(lin, kind, asUser, PF_P);
        boolean exec = !(nx && nxe);
        if (kind == FETCH && !exec) throw pageFault(lin, kind, asUser, PF_P);
        int entrySize = pae ? 8 : 4;
        for (int k = 0; k < n; k++) {
            long e = walkEntry[k];
            long want = e | A;
            if (k == n - 1 && kind == WRITE) want |= D;
            if (want != e) physWrite(walkAddr[k], entrySize, want);
        }
        boolean dirty = (leafEntry & D) != 0 || kind == WRITE;
        boolean global = (leafEntry & G) != 0 && (s.cr4 & CR4_PGE) != 0;
        return physPage | (writeOk && dirty ? WALK_WRITABLE : 0) | (exec ? WALK_EXEC : 0) | (global ? WALK_GLOBAL : 0);
    }
}
