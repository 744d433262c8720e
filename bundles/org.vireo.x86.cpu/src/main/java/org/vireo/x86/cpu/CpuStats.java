package org.vireo.x86.cpu;

/**
 * What the CPU did, for {@code vireo run --stats}. The per-block figures (user/kernel split, chaining, block heat) are
 * counted only after {@link X86Cpu#enableStats()}; the others come from slow paths and are always counted.
 *
 * @param retired         instructions retired
 * @param userRetired     of those, retired in blocks entered at CPL 3
 * @param blocks          blocks entered
 * @param chainHits       of those, entered through a chain link (no lookup)
 * @param hot1k           instructions retired in blocks that ran at least 1 000 times (likewise 10 000, 100 000)
 * @param cachedBlocks    decoded blocks in the code cache at the end
 * @param tlbMisses       software-TLB misses (translations through the slow path)
 * @param pageWalks       of those, page-table walks (paging on)
 * @param invlpg          INVLPG instructions
 * @param tlbFlushes      whole-TLB flushes (CR3/CR4/CR0 writes, WRMSR, mode changes)
 * @param codeInvalidations code pages whose decoded blocks were dropped (writes to code, DMA)
 * @param faults          exceptions delivered (faults and traps raised by instructions)
 * @param pageFaults      of those, page faults
 * @param interrupts      external interrupts taken
 * @param syscalls        SYSCALL instructions
 * @param pio             port I/O accesses (IN/OUT, one per element of INS/OUTS)
 * @param mmio            memory-mapped I/O accesses (physical accesses outside RAM)
 * @param regionsCompiled regions of hot code compiled to JVM bytecode (RegionCompiler)
 * @param regionsRefused  seeds the region compiler declined (too little it could translate, or too large)
 * @param regionsPromoted regions rebuilt for HotSpot's C2 after running long in C1 code
 * @param regionBytecode  bytecode bytes of the compiled regions
 * @param regionCompileMillis wall time spent compiling regions, in milliseconds
 * @param regionRetired   instructions retired in compiled regions
 * @param regionEntries   times a compiled region was entered
 * @param cpuMillis       CPU time of the thread(s) that ran the CPU, in milliseconds (counted while statistics are on)
 * @param regionFallbacks the instructions compiled regions left to the interpreter most often, as text
 *                        ({@code name/size/r|m count, ...}; counted while statistics are on)
 */
public record CpuStats(long retired, long userRetired, long blocks, long chainHits, long hot1k, long hot10k,
                       long hot100k, int cachedBlocks, long tlbMisses, long pageWalks, long invlpg, long tlbFlushes,
                       long codeInvalidations, long faults, long pageFaults, long interrupts, long syscalls, long pio,
                       long mmio, long regionsCompiled, long regionsRefused, long regionsPromoted, long regionBytecode,
                       long regionCompileMillis, long regionRetired, long regionEntries, long cpuMillis,
                       String regionFallbacks) {

    /** A few lines of text (no trailing newline). */
    public String report() {
        return String.format("""
                instructions %,d: user (CPL 3) %s, kernel %s
                block heat: %s of instructions from blocks run >=1k times, %s >=10k, %s >=100k; %,d blocks cached
                blocks entered %,d, chained %s (%.1f instructions per block)
                TLB misses %,d (%s per 1k instructions), page walks %,d, INVLPG %,d, TLB flushes %,d
                code pages invalidated %,d; faults delivered %,d (page faults %,d); interrupts %,d; syscalls %,d
                port I/O %,d, MMIO %,d
                compiled regions %,d (%,d declined, %,d rebuilt for C2, %,d bytecode bytes, %,d ms compiling): %s of instructions, %,d entries (%.1f instructions per entry)
                regions left to the interpreter: %s
                vCPU thread CPU time %,d ms (%s MIPS of its CPU time)""",
                retired, pct(userRetired, retired), pct(retired - userRetired, retired),
                pct(hot1k, retired), pct(hot10k, retired), pct(hot100k, retired), cachedBlocks,
                blocks, pct(chainHits, blocks), blocks == 0 ? 0.0 : (double) retired / blocks,
                tlbMisses, retired == 0 ? "0" : String.format("%.2f", tlbMisses * 1000.0 / retired), pageWalks, invlpg, tlbFlushes,
                codeInvalidations, faults, pageFaults, interrupts, syscalls, pio, mmio,
                regionsCompiled, regionsRefused, regionsPromoted, regionBytecode, regionCompileMillis, pct(regionRetired, retired), regionEntries,
                regionEntries == 0 ? 0.0 : (double) regionRetired / regionEntries,
                regionFallbacks.isEmpty() ? "-" : regionFallbacks,
                cpuMillis, cpuMillis == 0 ? "-" : String.valueOf(retired / 1000 / cpuMillis))
                + hotSpotLine();
    }

    /** HotSpot's own JIT time (all of the JVM's compiler threads): what compiled regions cost beyond building them. */
    private static String hotSpotLine() {
        var jit = java.lang.management.ManagementFactory.getCompilationMXBean();
        return jit != null && jit.isCompilationTimeMonitoringSupported()
                ? String.format("%nHotSpot JIT compiling (all compiler threads, whole JVM): %,d ms", jit.getTotalCompilationTime())
                : "";
    }

    private static String pct(long part, long whole) {
        return whole == 0 ? "-" : String.format("%.1f%%", 100.0 * part / whole);
    }
}
