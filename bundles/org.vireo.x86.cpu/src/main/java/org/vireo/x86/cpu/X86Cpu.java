package org.vireo.x86.cpu;

import java.util.Objects;
import org.vireo.bus.IoBus;
import org.vireo.memory.GuestMemory;

/**
 * One emulated x86-64 CPU. Not thread-safe except where noted: one thread calls {@link #run(long)} (the vCPU
 * thread); any thread may call {@link #wakeUp()}, {@link #requestStop()} and {@link #invalidateCode}.
 *
 * <p>CPUID reports an AMD K8 (vendor "AuthenticAMD", family 0Fh model 2Fh, as QEMU's TCG models do: glibc reads
 * the feature leaf only for vendors it knows) with the hypervisor bit and a hypervisor leaf 40000000h naming
 * "VireoVireoVi", the L1/L2/L3 cache leaves, and exactly the implemented features: leaf 1 FPU, PSE, TSC, MSR, PAE, CX8, PGE, CMOV, PAT, CLFLUSH, MMX, FXSR, SSE, SSE2, SSE3, SSSE3, CX16, SSE4.1, SSE4.2, POPCNT (x86-64-v2 with LAHF-LM);
 * leaf 7 ERMS (forward REP MOVSB/STOSB are bulk copies and fills) and ARCH_CAPABILITIES (the MSR reports "not affected" by Meltdown, MDS and kin: an interpreter does not
 * speculate, and Linux then skips page-table isolation); leaf 0x80000001 SYSCALL, NX, RDTSCP, LM, LAHF-LM.
 * A local APIC only when one is attached ({@link #attachLocalApic}); no x2APIC, no XSAVE, no AVX.
 * The TSC counts host nanoseconds (a 1 GHz clock) so it agrees with wall-clock-driven platform timers; telling
 * Linux so ({@code tsc_early_khz=1000000}) spares it a PIT calibration that host jitter tends to fail.
 */
public final class X86Cpu {
    private final CpuState state = new CpuState();
    private final CodeCache code = new CodeCache();
    private final Mmu mmu;
    private final Interpreter engine;

    public X86Cpu(GuestMemory memory, IoBus pio, IoBus mmio, InterruptSource interrupts) {
        Objects.requireNonNull(memory, "memory");
        Objects.requireNonNull(pio, "pio");
        Objects.requireNonNull(mmio, "mmio");
        Objects.requireNonNull(interrupts, "interrupts");
        this.mmu = new Mmu(state, memory, mmio, code);
        this.engine = new Interpreter(state, mmu, code, pio, interrupts);
        reset();
        GuestProfiler.attachIfRequested(engine);
    }

    /** The register file; changes made between runs take effect at the next {@link #run(long)}. */
    public CpuState state() { return state; }

    /** Power-on state: real mode, CS:IP = F000:FFF0 (linear 0xFFFFFFF0), caches empty. */
    public void reset() {
        CpuState s = state;
        java.util.Arrays.fill(s.r, 0);
        s.r[CpuState.RDX] = 0x663;
        s.rip = 0xfff0;
        s.loadFlags(2);
        for (int seg = 0; seg < 6; seg++) s.putSeg(seg, Segment.real(0, seg == CpuState.CS));
        s.putSeg(CpuState.CS, new Segment(0xf000, 0xffff0000L, 0xffff,
                Segment.PRESENT | Segment.S | Segment.TYPE_CODE | Segment.TYPE_RW | Segment.TYPE_ACCESSED));
        s.putSeg(CpuState.SEG_FLAT, new Segment(0, 0, -1, 0));
        s.putSeg(CpuState.LDTR, new Segment(0, 0, 0xffff, 0x82));
        s.putSeg(CpuState.TR, new Segment(0, 0, 0xffff, 0x8b));
        s.cr0 = CpuState.CR0_ET | CpuState.CR0_CD | CpuState.CR0_NW;
        s.cr2 = s.cr3 = s.cr4 = s.cr8 = 0;
        s.efer = 0;
        s.gdtBase = s.idtBase = 0;
        s.gdtLimit = s.idtLimit = 0xffff;
        java.util.Arrays.fill(s.dr, 0);
        s.dr[6] = 0xffff0ff0L;
        s.dr[7] = 0x400;
        s.star = s.lstar = s.cstar = s.sfmask = s.kernelGsBase = s.tscAux = 0;
        s.pat = 0x0007040600070406L;
        java.util.Arrays.fill(s.xmm, 0);
        s.mxcsr = 0x1f80;
        engine.fpu.init();
        s.ftw = 0xffff;
        code.clear();
        engine.halted = false;
        engine.shutdown = false;
        engine.interruptShadow = false;
        s.externallyModified = true;
    }

    /**
     * Runs until the budget of instructions is used, HLT with interrupts disabled, shutdown (triple fault) or a
     * stop request. HLT with interrupts enabled parks the thread until {@link #wakeUp()} or a pending interrupt.
     */
    public StopReason run(long maxInstructions) { return engine.run(maxInstructions); }

    /** Thread-safe: an interrupt may have become pending (or a stop was requested); unparks a halted CPU. */
    public void wakeUp() { engine.wakeUp(); }

    /** Thread-safe: makes {@link #run(long)} return {@link StopReason#STOPPED} soon. */
    public void requestStop() { engine.requestStop(); }

    /**
     * Thread-safe: guest RAM in {@code [phys, phys+length)} was written by something other than this CPU (device
     * DMA); drops decoded instructions from those pages before the CPU runs on. Only needed where such memory
     * may later be executed.
     */
    public void invalidateCode(long phys, long length) { engine.invalidateCode(phys, length); }

    public long instructionsRetired() { return engine.retired; }

    /** Turns the block translator on or off and sets after how many executions a block is translated. */
    void configureJit(boolean enabled, int threshold) {
        engine.jitEnabled = enabled;
        engine.jitThreshold = threshold;
    }

    long compiledBlocks() { return engine.compiledBlocks(); }

    /**
     * Turns the region compiler on or off and sets after how many executions of a 64-bit block a region is
     * compiled from it (-Dvireo.x86.regions and -Dvireo.x86.regions.threshold set the defaults).
     */
    public void configureRegions(boolean enabled, int threshold) {
        engine.regionsEnabled = enabled;
        engine.regionThreshold = threshold;
        engine.regionsInBackground = false;   // deterministic: a region exists as soon as its seed reaches the threshold
    }

    /** As {@link #configureRegions(boolean, int)}, also setting after how many retired instructions a region is rebuilt for C2. */
    void configureRegions(boolean enabled, int threshold, long hotThreshold) {
        configureRegions(enabled, threshold);
        engine.regionHotThreshold = hotThreshold;
    }

    long regionsCompiled() { return engine.regionsCompiled; }

    long regionsPromoted() { return engine.regionsPromoted; }

    /**
     * Turns on the per-block statistics of {@link #stats()} (user/kernel split, chaining, block heat). Call before
     * {@link #run(long)}; they cost a few counter updates per block, which is why they are off by default.
     */
    public void enableStats() {
        engine.stats = true;
        code.stats = true;
    }

    /**
     * What the CPU did so far (see {@link CpuStats}). Call from the vCPU thread or after it stopped: the counters
     * are plain fields, so a concurrent call sees approximate values.
     */
    public CpuStats stats() {
        Interpreter e = engine;
        long[] heat = code.heat();
        return new CpuStats(e.retired, e.userRetired, e.chainHits + e.lookups, e.chainHits, heat[1] + heat[2] + heat[3],
                heat[2] + heat[3], heat[3], code.blockCount(), mmu.tlbMisses, mmu.pageWalks, mmu.invlpgs, mmu.flushes,
                code.invalidations(), e.faults, e.pageFaults, e.interrupts, e.syscalls, e.pioAccesses, mmu.mmioAccesses,
                e.regionsCompiled, e.regionsRefused, e.regionsPromoted, e.regionBytecode, e.regionCompileNanos / 1_000_000, e.regionInstructions,
                e.regionEntries, e.cpuNanos / 1_000_000, topFallbacks(e.regionFallbacks, 10));
    }

    /** The {@code n} most frequent entries of {@link Interpreter#regionFallbacks}, as "name/size/r|m count, ...". */
    private static String topFallbacks(long[] counts, int n) {
        Integer[] keys = new Integer[counts.length];
        for (int k = 0; k < keys.length; k++) keys[k] = k;
        java.util.Arrays.sort(keys, (a, b) -> Long.compare(counts[b], counts[a]));
        StringBuilder sb = new StringBuilder();
        for (int j = 0; j < n && counts[keys[j]] > 0; j++) {
            int k = keys[j];
            if (j > 0) sb.append(", ");
            sb.append(Ops.name(k >>> 5).toLowerCase(java.util.Locale.ROOT)).append('/').append(k >>> 1 & 0xf)
                    .append((k & 1) != 0 ? "/m " : "/r ").append(String.format("%,d", counts[k]));
        }
        return sb.toString();
    }

    /** Diagnostics: blocks entered through a chain link, and blocks looked up by address. */
    String blockStats() { return "chained " + engine.chainHits + ", looked up " + engine.lookups + ", cached blocks " + code.blockCount()
            + ", compiled " + engine.compiledBlocks(); }

    /**
     * Gives this CPU a local APIC: CPUID then reports it (with its ID and the TSC-deadline timer), and IA32_APIC_BASE
     * and IA32_TSC_DEADLINE reach it. Its interrupts come through the {@link InterruptSource}. Call before running.
     */
    public void attachLocalApic(LocalApicPort apic) {
        engine.apic = Objects.requireNonNull(apic, "apic");
    }

    /** The guest's time stamp counter (1 GHz, from the host's monotonic clock, plus any guest-written offset). */
    public long tsc() { return engine.tsc(); }

    /** Whether the CPU is halted (HLT), waiting for an interrupt. */
    public boolean halted() { return engine.halted; }

    /** Reads a model-specific register as RDMSR would; IllegalArgumentException if the CPU has no such MSR. */
    public long readMsr(int msr) {
        try {
            return engine.readMsr(msr);
        } catch (CpuException e) {
            throw new IllegalArgumentException("no MSR 0x" + Integer.toHexString(msr));
        }
    }

    /** Writes a model-specific register as WRMSR would; IllegalArgumentException where WRMSR would raise #GP. */
    public void writeMsr(int msr, long value) {
        try {
            engine.writeMsr(msr, value);
        } catch (CpuException e) {
            throw new IllegalArgumentException("cannot write MSR 0x" + Integer.toHexString(msr) + " = 0x" + Long.toHexString(value));
        }
        state.externallyModified = true;
    }
}
