package org.vireo.x86.cpu;

import java.util.ArrayList;

/**
 * Decoded blocks by guest-physical address and decode mode, with a bitmap of the physical pages that hold
 * decoded code: a write to such a page (seen by the MMU's slow write path, since the write TLB never maps code
 * pages) drops that page's blocks. Used by the CPU thread only.
 */
final class CodeCache {
    private static final int FAST_BITS = 14;
    /** Beyond this many blocks (~100 MB of decoded instructions) the cache starts over. */
    private static final int MAX_BLOCKS = 1 << 17;

    private final LongMap<Block> blocks = new LongMap<>(1 << 14);
    private final LongMap<ArrayList<Block>> byPage = new LongMap<>(1 << 10);
    private final Block[] fast = new Block[1 << FAST_BITS];
    private long[] codePages = new long[1024];
    private long invalidations;
    /** With statistics on: instructions retired by dropped blocks, by {@link #heatBucket} of their run count. */
    boolean stats;
    final long[] droppedHeat = new long[4];

    private static int fastIndex(long phys, int mode) {
        long h = (phys ^ (phys >>> FAST_BITS)) * 31 + mode;
        return (int) h & ((1 << FAST_BITS) - 1);
    }

    Block lookup(long phys, int mode) {
        int fi = fastIndex(phys, mode);
        Block b = fast[fi];
        if (b != null && b.phys == phys && b.mode == mode) return b;
        b = blocks.get(Block.key(phys, mode));
        if (b != null) fast[fi] = b;
        return b;
    }

    /** Adds a block; returns true if its page was not a code page before (the caller drops write mappings). */
    boolean add(Block b) {
        if (blocks.size() >= MAX_BLOCKS) clear();
        blocks.put(b.key(), b);
        fast[fastIndex(b.phys, b.mode)] = b;
        long ppn = b.phys >>> 12;
        ArrayList<Block> list = byPage.get(ppn);
        if (list == null) {
            list = new ArrayList<>();
            byPage.put(ppn, list);
        }
        list.add(b);
        return setCodePage(ppn);
    }

    boolean isCodePage(long ppn) {
        int w = (int) (ppn >>> 6);
        return ppn >= 0 && w < codePages.length && (codePages[w] & (1L << ppn)) != 0;
    }

    private boolean setCodePage(long ppn) {
        int w = (int) (ppn >>> 6);
        if (w >= codePages.length) {
            long[] bigger = new long[Math.max(w + 1, codePages.length * 2)];
            System.arraycopy(codePages, 0, bigger, 0, codePages.length);
            codePages = bigger;
        }
        boolean was = (codePages[w] & (1L << ppn)) != 0;
        codePages[w] |= 1L << ppn;
        return !was;
    }

    /** Drops every block decoded from physical page {@code ppn}; returns true if there were any. */
    boolean invalidatePage(long ppn) {
        int w = (int) (ppn >>> 6);
        if (w >= codePages.length || w < 0) return false;
        codePages[w] &= ~(1L << ppn);
        ArrayList<Block> list = byPage.remove(ppn);
        if (list == null) return false;
        for (Block b : list) {
            if (stats) retireHeat(b);
            b.valid = false;
            blocks.remove(b.key());
            int fi = fastIndex(b.phys, b.mode);
            if (fast[fi] == b) fast[fi] = null;
        }
        invalidations++;
        return true;
    }

    void clear() {
        blocks.forEachValue(b -> {
            if (stats) retireHeat(b);
            b.valid = false;
        });
        blocks.clear();
        byPage.clear();
        java.util.Arrays.fill(fast, null);
        java.util.Arrays.fill(codePages, 0);
    }

    int blockCount() { return blocks.size(); }

    /** 0: run fewer than 1k times, 1: at least 1k, 2: 10k, 3: 100k. */
    static int heatBucket(long runs) {
        return runs >= 100_000 ? 3 : runs >= 10_000 ? 2 : runs >= 1_000 ? 1 : 0;
    }

    private void retireHeat(Block b) {
        droppedHeat[heatBucket(b.runs)] += b.runRetired;
        b.runRetired = 0;
    }

    /** Instructions retired by blocks by heat bucket, dropped ones and those still cached. */
    long[] heat() {
        long[] h = droppedHeat.clone();
        blocks.forEachValue(b -> h[heatBucket(b.runs)] += b.runRetired);
        return h;
    }

    long invalidations() { return invalidations; }
}
