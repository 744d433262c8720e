package org.vireo.x86.cpu;

/**
 * A run of decoded instructions that starts at one guest-physical address and stays within one page: it ends at
 * a control transfer, at an instruction that changes mode or interrupt state, or at the page end.
 */
final class Block {
    final long phys;
    final int mode;
    final Insn[] insns;
    /** Cleared when the guest writes to the page the block came from. */
    boolean valid = true;
    /**
     * Up to two successors in the same linear page, by the linear RIP they were reached at (from this block, or from
     * a compiled region seeded here); valid while the translation this block was entered through is current (the
     * interpreter checks that); saves the lookup on hot branches.
     */
    Block succ0, succ1;
    /** Executions counted towards JIT translation, and the translation once made. */
    int heat;
    JitBlock jit;
    /** Executions counted towards region compilation, and the region seeded here once compiled. */
    int regionHeat;
    RegionCode region;
    long succRip0 = -1, succRip1 = -1;
    /** One successor in another linear page, valid only in the MMU epoch it was found in (no translation changed since). */
    Block far;
    long farRip = -1;
    int farEpoch;
    /** Statistics only ({@code vireo run --stats}): times entered and instructions retired here. */
    long runs;
    long runRetired;

    Block(long phys, int mode, Insn[] insns) {
        this.phys = phys;
        this.mode = mode;
        this.insns = insns;
    }

    long key() { return key(phys, mode); }

    static long key(long phys, int mode) { return phys << 2 | mode; }
}
