package org.vireo.x86.cpu;

/**
 * A region of 64-bit guest code translated to JVM bytecode by {@link RegionCompiler}: a hidden subclass whose
 * {@link #run} executes the region's blocks with the guest registers it uses in JVM locals, jumping between its
 * blocks (loops stay inside) until control leaves the region, the instruction budget would be exceeded, or an event
 * (interrupt, stop request, DMA into code) is pending. It leaves the CPU state exactly as the interpreter would:
 * registers and lazy flags written back, RIP at the next instruction. A guest fault inside it is rethrown after the
 * same write-back, with RIP at the faulting instruction and {@link Interpreter#regionRetired} set.
 */
abstract class RegionCode {
    /** Every instruction of the region in emission order; generated code passes those it does not translate to the interpreter. */
    final Insn[] insns;
    /** Per instruction index: its offset in the region's page (RIP = page base + offset). */
    final int[] ripOffset;
    /** Per instruction index: how many instructions of its block come before it. */
    final int[] indexInBlock;
    /** The seed block: the region is entered only through it and is dropped with it. */
    final Block seed;
    /** Statistics: bytecode bytes of {@link #run}, blocks and instructions translated. */
    int bytecodeBytes, blockCount;
    /** Built for HotSpot's optimizing tier (see {@link HotSpotTiers}); a quick-tier region is rebuilt so once hot. */
    boolean hot;
    /** Instructions retired in this region so far (the vCPU counts; decides the rebuild for the optimizing tier). */
    long retiredIn;
    /** The region's blocks in emission order; {@link Interpreter#regionExitBlock} indexes them. */
    Block[] blocks;
    /** The plan it was built from, for that rebuild. */
    RegionCompiler.Prepared prepared;

    protected RegionCode(Insn[] insns, int[] ripOffset, int[] indexInBlock, Block seed) {
        this.insns = insns;
        this.ripOffset = ripOffset;
        this.indexInBlock = indexInBlock;
        this.seed = seed;
    }

    /**
     * Runs the region from its seed block at linear page base {@code pageBase}, retiring at most {@code max}
     * instructions; returns how many retired (0 if even the seed block does not fit the budget).
     */
    abstract long run(Interpreter cpu, long pageBase, long max);
}
