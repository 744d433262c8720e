package org.vireo.x86.cpu;

import static org.vireo.x86.cpu.CpuState.*;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.locks.LockSupport;
import org.vireo.bus.IoBus;

/**
 * The execution loop and the integer instruction set. Blocks of pre-decoded instructions are looked up by the
 * physical address of RIP and run one instruction after another; interrupts are taken between blocks. A guest
 * exception unwinds as a {@link CpuException} to {@link #executeBlock}, which delivers it through the IDT.
 */
final class Interpreter extends SystemOps {
    /** Iterations of a REP string instruction between checks for interrupts (the instruction restarts). */
    private static final int REP_SLICE = 1 << 16;
    private static final int MAX_BLOCK = 64;

    private final Decoder decoder = new Decoder();
    private final byte[] codeBuf = new byte[4096 + 32];
    final SseUnit sse;
    final FpuUnit fpu;

    long retired;
    volatile boolean stopRequested;
    volatile Thread runThread;
    private final ConcurrentLinkedQueue<long[]> foreignWrites = new ConcurrentLinkedQueue<>();
    private volatile boolean foreignWritesPending;

    Interpreter(CpuState s, Mmu m, CodeCache code, IoBus pio, InterruptSource irq) {
        super(s, m, code, pio, irq);
        this.sse = new SseUnit(this);
        this.fpu = new FpuUnit(this);
    }

    // ------------------------------------------------------------------ run loop

    private static final System.Logger LOG = System.getLogger(Interpreter.class.getName());

    StopReason run(long maxInstructions) {
        runThread = Thread.currentThread();
        long cpu0 = stats ? THREADS.getCurrentThreadCpuTime() : 0;
        try {
            return runLoop(maxInstructions);
        } catch (RuntimeException | StackOverflowError e) {
            // An emulator bug, never a guest fault (those are CpuExceptions): stop this machine, keep the host up.
            LOG.log(System.Logger.Level.ERROR, "x86 emulator internal error at rip=0x" + Long.toHexString(s.rip)
                    + "; the machine is shut down\n" + s, e);
            shutdown = true;
            return StopReason.SHUTDOWN;
        } finally {
            runThread = null;
            if (stats) cpuNanos += THREADS.getCurrentThreadCpuTime() - cpu0;
        }
    }

    private static final java.lang.management.ThreadMXBean THREADS = java.lang.management.ManagementFactory.getThreadMXBean();
    /** Statistics: CPU time of the threads in {@link #run}, counted while {@link #stats} is set. */
    long cpuNanos;

    private StopReason runLoop(long maxInstructions) {
        {
            if (s.externallyModified) {
                s.externallyModified = false;
                m.flush();
                updateMode();
            }
            long budget = maxInstructions;
            while (true) {
                if (shutdown) return StopReason.SHUTDOWN;
                if (stopRequested) {
                    stopRequested = false;
                    return StopReason.STOPPED;
                }
                if (foreignWritesPending) drainForeignWrites();
                if (interruptShadow) {
                    // One instruction runs with interrupts inhibited (after STI, MOV SS, POP SS).
                    if (budget <= 0) return StopReason.BUDGET;
                    interruptShadow = false;
                    budget -= executeBlock(1);
                    continue;
                }
                if ((s.flags & IF) != 0 && irq.interruptPending()) {
                    int vector = irq.acknowledgeInterrupt();
                    if (vector >= 0) {
                        interrupts++;
                        halted = false;
                        lastBlock = null;
                        deliver(vector & 0xff, KIND_EXTERNAL, 0, false);
                        continue;
                    }
                }
                if (halted) {
                    if ((s.flags & IF) == 0) return StopReason.HALTED;
                    if (!irq.interruptPending() && !stopRequested) LockSupport.park(this);
                    continue;
                }
                if (budget <= 0) return StopReason.BUDGET;
                if ((s.flags & TF) != 0) {
                    // Single-step: one instruction, then a #DB trap (unless it faulted or changed TF itself first).
                    long before = retired;
                    budget -= executeBlock(1);
                    if (retired > before && !shutdown) {
                        s.dr[6] |= 0x4000;   // BS
                        lastBlock = null;
                        deliver(CpuException.DB, KIND_EXCEPTION, 0, false);
                    }
                    continue;
                }
                budget -= executeBlock(budget);
            }
        }
    }

    long compiledBlocks() { return jit.compiledBlocks(); }

    // ------------------------------------------------------------------ compiled regions

    /**
     * The region compiler (RegionCompiler): on by default, -Dvireo.x86.regions=false turns it off (for diagnosis);
     * the threshold is in executions of the seed block. 100000 because each region costs HotSpot 10-20 ms of compiler
     * CPU (C1, twice: profiled, then plain) besides our ~2 ms: at 20000 the Debian guest compiled 3,700 regions and
     * booted slower than interpreted (178 s against 152 s to its quick checks), at 100000 it compiles ~560 and boots
     * faster (141 s against 154 s); the busybox boot gains at either (docs/benchmarks.md).
     */
    boolean regionsEnabled = !"false".equals(System.getProperty("vireo.x86.regions"));
    int regionThreshold = Integer.getInteger("vireo.x86.regions.threshold", 1_000_000);
    /**
     * Build region classes on a shared compiler thread while the vCPU goes on interpreting (-Dvireo.x86.regions.background=true).
     * Off by default: on this project's 2-core machines the vCPU, HotSpot's compilers and a builder thread compete,
     * and the busybox boot took 25.6 s against 21.0 s with regions built on the vCPU thread.
     */
    boolean regionsInBackground = Boolean.getBoolean("vireo.x86.regions.background");
    private final RegionCompiler regionCompiler = new RegionCompiler();
    /** Set by a compiled region as it returns: the index of the block it left from. */
    int regionExitBlock;
    /** The region running now, or null: read by the guest profiler ({@link GuestProfiler}) only. */
    RegionCode runningRegion;
    /** Set by a compiled region that faults: instructions it retired before the faulting one. */
    long regionRetired;
    /** Statistics of compiled regions; the compile figures are written by the compiler thread. */
    long regionInstructions, regionEntries;
    volatile long regionsCompiled, regionsRefused, regionsPromoted, regionBytecode, regionCompileNanos;

    /**
     * One daemon thread for the whole JVM builds region classes (a fraction of a millisecond to a few ms each) so
     * the vCPU keeps interpreting meanwhile; it ends when idle. A full queue drops the request (the seed may ask again).
     */
    private static final java.util.concurrent.ThreadPoolExecutor REGION_BUILDER = regionBuilder();

    private static java.util.concurrent.ThreadPoolExecutor regionBuilder() {
        var e = new java.util.concurrent.ThreadPoolExecutor(1, 1, 30, java.util.concurrent.TimeUnit.SECONDS,
                new java.util.concurrent.ArrayBlockingQueue<>(256), r -> {
                    Thread t = new Thread(r, "vireo-region-compiler");
                    t.setDaemon(true);
                    return t;
                }, (r, ex) -> ((RegionTask) r).rejected());
        e.allowCoreThreadTimeOut(true);
        return e;
    }

    /** A planned region waiting for the compiler thread. */
    private final class RegionTask implements Runnable {
        private final RegionCompiler.Prepared prepared;

        RegionTask(RegionCompiler.Prepared prepared) { this.prepared = prepared; }

        @Override
        public void run() {
            long t0 = System.nanoTime();
            RegionCode rc = null;
            try {
                rc = regionCompiler.finish(prepared);
            } catch (RuntimeException | LinkageError e) {
                LOG.log(System.Logger.Level.DEBUG, "region at 0x" + Long.toHexString(prepared.seed.phys) + " stays interpreted", e);
            }
            regionCompileNanos += System.nanoTime() - t0;
            if (rc == null) {
                regionsRefused++;
                return;
            }
            regionsCompiled++;
            regionBytecode += rc.bytecodeBytes;
            // Published through RegionCode's final fields; the vCPU picks it up on the seed's next execution.
            prepared.seed.region = rc;
        }

        void rejected() { prepared.seed.regionHeat = 0; }
    }

    /** Polled by compiled regions between their blocks: anything that must be handled between blocks. */
    final boolean regionEventPending() {
        return stopRequested | foreignWritesPending | shutdown || ((s.flags & IF) != 0 && irq.interruptPending());
    }

    /**
     * A quick-tier region that retired this many instructions is rebuilt for C2 (see {@link HotSpotTiers}); C2 costs
     * 0.1-1 s of compiler CPU a region and gains a few ns an instruction over C1, so only long-running code gets it.
     */
    long regionHotThreshold = Long.getLong("vireo.x86.regions.hotThreshold", 20_000_000L);

    private void promoteRegion(Block seed, RegionCode quick) {
        quick.hot = true;   // one attempt
        long t0 = System.nanoTime();
        RegionCode rc = null;
        try {
            rc = regionCompiler.finish(quick.prepared, true);
        } catch (RuntimeException | LinkageError e) {
            LOG.log(System.Logger.Level.DEBUG, "region at 0x" + Long.toHexString(seed.phys) + " stays in C1", e);
        }
        regionCompileNanos += System.nanoTime() - t0;
        quick.prepared = null;
        if (rc == null || !seed.valid || seed.region != quick) return;
        regionsPromoted++;
        regionBytecode += rc.bytecodeBytes;
        seed.region = rc;
    }

    private RegionCode compileRegion(Block seed) {
        long t0 = System.nanoTime();
        long pagePhys = seed.phys & ~0xfffL, pageLinear = s.rip & ~0xfffL;
        RegionCode rc = null;
        try {
            RegionCompiler.Prepared prepared = regionCompiler.prepare(seed, off -> {
                long phys = pagePhys + off;
                Block b = code.lookup(phys, mode);
                if (b == null) {
                    try {
                        b = decodeBlock(pageLinear + off, phys);
                    } catch (RuntimeException e) {
                        return null;   // undecodable bytes at a branch target: the region leaves there
                    }
                }
                return b.valid && b.mode == Decoder.MODE64 && b.insns.length > 0 ? b : null;
            });
            if (prepared != null && regionsInBackground) {
                REGION_BUILDER.execute(new RegionTask(prepared));
                regionCompileNanos += System.nanoTime() - t0;
                return null;   // interpreted until the compiler thread installs the region
            }
            if (prepared != null) rc = regionCompiler.finish(prepared);
        } catch (RuntimeException | LinkageError e) {
            LOG.log(System.Logger.Level.DEBUG, "region at 0x" + Long.toHexString(seed.phys) + " stays interpreted", e);
        }
        regionCompileNanos += System.nanoTime() - t0;
        if (rc == null || !seed.valid) {
            regionsRefused++;
            return null;
        }
        regionsCompiled++;
        regionBytecode += rc.bytecodeBytes;
        seed.region = rc;
        return rc;
    }

    void wakeUp() {
        Thread t = runThread;
        if (t != null) LockSupport.unpark(t);
    }

    void requestStop() {
        stopRequested = true;
        wakeUp();
    }

    /** Thread-safe: something other than this CPU (a device's DMA) wrote guest RAM that may hold decoded code. */
    void invalidateCode(long phys, long length) {
        foreignWrites.add(new long[] {phys, length});
        foreignWritesPending = true;
    }

    private void drainForeignWrites() {
        foreignWritesPending = false;
        long[] w;
        while ((w = foreignWrites.poll()) != null) {
            for (long p = w[0] & ~0xfffL; p < w[0] + w[1]; p += 4096) code.invalidatePage(p >>> 12);
        }
    }

    private long ripMask() {
        return mode == Decoder.MODE64 ? -1L : mode == Decoder.MODE32 ? 0xffffffffL : 0xffffL;
    }

    /** Runs at most {@code max} instructions of the block at RIP (or of the region seeded there); returns how many retired. */
    private long executeBlock(long max) {
        int k = 0;
        boolean compiled = false;
        Block b = null;
        int startCpl = cpl;
        try {
            b = blockAtRip();
            Insn[] insns = b.insns;
            if (regionsEnabled && b.valid && b.mode == Decoder.MODE64) {
                RegionCode rc = b.region;
                if (rc == null && b.regionHeat < regionThreshold && (b.regionHeat += insns.length) >= regionThreshold) {
                    rc = compileRegion(b);
                }
                if (rc != null) {
                    regionRetired = 0;
                    runningRegion = rc;
                    long n;
                    try {
                        n = rc.run(this, s.rip - (b.phys & 0xfff), max);
                    } finally {
                        runningRegion = null;
                    }
                    if (n > 0) {
                        endBlock = false;
                        m.codeWritten = false;
                        // Chaining continues from the block the region left from (all its blocks share the seed's page,
                        // entered through the same translation, so blockAtRip's epoch rules hold): each exit, a RET or an
                        // indirect jump included, keeps its own successor links, a one-entry cache of where it went.
                        int x = regionExitBlock;
                        Block[] bl = rc.blocks;
                        if (x > 0 && x < bl.length) lastBlock = bl[x];
                        retired += n;
                        regionInstructions += n;
                        regionEntries++;
                        if (stats && startCpl == 3) userRetired += n;
                        if (!rc.hot && (rc.retiredIn += n) >= regionHotThreshold) promoteRegion(b, rc);
                        return n;
                    }
                }
            }
            if (jitEnabled && b.jit == null && b.mode == Decoder.MODE64 && b.valid && ++b.heat == jitThreshold) {
                try {
                    b.jit = jit.compile(b);
                } catch (RuntimeException e) {
                    LOG.log(System.Logger.Level.WARNING, "JIT: block at 0x" + Long.toHexString(b.phys) + " stays interpreted", e);
                }
            }
            JitBlock jb = b.jit;
            if (jb != null && max >= insns.length && b.valid) {
                compiled = true;
                jitIndex = 0;
                k = jb.run(this, s.rip);
                endBlock = false;
                m.codeWritten = false;
                retired += k;
                if (stats) account(b, k, startCpl);
                return k;
            }
            int n = (int) Math.min(insns.length, max);
            long mask = ripMask();
            while (k < n) {
                Insn i = insns[k];
                nextRip = (s.rip + i.len) & mask;
                exec(i);
                s.rip = nextRip;
                k++;
                if (endBlock | m.codeWritten) {
                    endBlock = false;
                    m.codeWritten = false;
                    break;
                }
            }
        } catch (CpuException e) {
            faults++;
            if (e.vector == CpuException.PF) pageFaults++;
            if (compiled) k = jitIndex;
            if (regionRetired > 0) {
                // A fault inside a compiled region: the region set RIP and counted what retired before it.
                long n = regionRetired;
                regionRetired = 0;
                retired += n;
                regionInstructions += n;
                if (stats && startCpl == 3) userRetired += n;
                endBlock = false;
                m.codeWritten = false;
                lastBlock = null;
                deliver(e.vector, KIND_EXCEPTION, e.errorCode, e.hasErrorCode);
                return n;
            }
            endBlock = false;
            m.codeWritten = false;
            lastBlock = null;
            deliver(e.vector, KIND_EXCEPTION, e.errorCode, e.hasErrorCode);
        }
        retired += k;
        if (stats) account(b, k, startCpl);
        return k == 0 ? 1 : k;  // a fault still consumes budget so a faulting loop cannot spin forever
    }

    /** Statistics ({@code vireo run --stats}): per-block counting only while {@link #stats} is set. */
    boolean stats;
    long userRetired, chainHits, lookups;
    /** Statistics from slow paths, always counted. */
    long faults, pageFaults, interrupts, syscalls, pioAccesses;

    private void account(Block b, int k, int startCpl) {
        if (startCpl == 3) userRetired += k;
        if (b != null) {
            b.runs++;
            if (b.valid) b.runRetired += k;
            else code.droppedHeat[0] += k;   // uncached (MMIO, page-straddling) or dropped while it ran
        }
    }

    // The block that ran last, where it ran, and the MMU epoch then: the chaining context.
    /** Set by compiled blocks before each instruction: how many of the block's instructions completed. */
    int jitIndex;
    private final JitCompiler jit = new JitCompiler();
    boolean jitEnabled = Boolean.getBoolean("vireo.x86.jit");
    int jitThreshold = Integer.getInteger("vireo.x86.jit.threshold", 2000);
    private Block lastBlock;
    private long lastPage = -1;
    private int lastEpoch;

    private Block blockAtRip() {
        long linear = mode == Decoder.MODE64 ? s.rip : (s.segBase[CS] + s.rip) & 0xffffffffL;
        long page = linear & ~0xfffL;
        Block prev = lastBlock;
        // prev was entered through a translation that is still current; a successor in the same linear page is then in
        // prev's physical page whatever the epoch, one in another page only while no translation changed (epoch stamp).
        boolean chainable = prev != null && m.epoch == lastEpoch;
        boolean samePage = page == lastPage;
        if (chainable) {
            Block c;
            if (samePage) c = linear == prev.succRip0 ? prev.succ0 : linear == prev.succRip1 ? prev.succ1 : null;
            else c = linear == prev.farRip && prev.farEpoch == lastEpoch ? prev.far : null;
            if (c != null && c.valid && c.mode == mode) {
                if (stats) chainHits++;
                return enter(c, page);
            }
        }
        if (stats) lookups++;
        long phys = m.fetchPhys(linear);
        Block b = code.lookup(phys, mode);
        if (b == null) b = decodeBlock(linear, phys);
        if (chainable && b.valid && m.epoch == lastEpoch) {
            if (!samePage) { prev.far = b; prev.farRip = linear; prev.farEpoch = lastEpoch; }
            else if (prev.succ0 == null || !prev.succ0.valid) { prev.succ0 = b; prev.succRip0 = linear; }
            else { prev.succ1 = b; prev.succRip1 = linear; }
        }
        return enter(b, page);
    }

    private Block enter(Block b, long page) {
        lastBlock = b;
        lastPage = page;
        lastEpoch = m.epoch;
        return b;
    }

    private Block decodeBlock(long linear, long phys) {
        int pageOff = (int) (phys & 0xfff);
        int avail = 4096 - pageOff;
        m.readCode(phys, codeBuf, 0, avail);
        // A straddler seen before: straight to its check (a failed decode here costs a thrown Truncated each time).
        if (straddlers.get(Block.key(phys, mode)) != null) return crossPageBlock(linear, phys, avail);
        ArrayList<Insn> list = new ArrayList<>();
        int pos = 0;
        while (true) {
            Insn i;
            try {
                i = decoder.decode(codeBuf, pos, avail, mode);
            } catch (Decoder.Truncated t) {
                if (!list.isEmpty()) break;
                return crossPageBlock(linear, phys, avail);
            }
            i.offset = (short) (pos);
            list.add(i);
            pos += i.len;
            if (list.size() >= MAX_BLOCK) break;
            if ((i.op == Ops.JMP_REL || i.op == Ops.CALL64) && mode != Decoder.MODE16 && i.size != 2) {
                // Follow a direct jump or call whose target is on the same page: one block instead of two.
                long target = pageOff + pos + i.imm;
                if (target >= pageOff && target < 4096) {
                    pos = (int) (target - pageOff);
                    continue;
                }
                break;
            }
            if (Decoder.endsBlock(i) || pos >= avail) break;
        }
        Block b = new Block(phys, mode, list.toArray(new Insn[0]));
        if (m.isRam(phys & ~0xfffL, 4096)) {
            if (code.add(b)) m.dropWriteMappings(phys & ~0xfffL);
        } else {
            b.valid = false;   // not cached (MMIO): decoded afresh each time, never chained
        }
        return b;
    }

    /**
     * An instruction that straddles a page boundary: a block of its own, never cached in the code cache or chained to
     * (its bytes depend on two translations and two pages, which the code cache's page tracking does not cover). Its
     * bytes are read through both translations every time; the decoded instruction is kept (keyed by the first byte's
     * physical address) and reused while those bytes are unchanged, since a hot loop can hold one (mpihelp_mul_1 in
     * the busybox boot: decoded afresh each iteration before).
     */
    private Block crossPageBlock(long linear, long phys, int avail) {
        long nextLinear = (linear | 0xfff) + 1;
        if (mode != Decoder.MODE64) nextLinear &= 0xffffffffL;
        long phys2 = m.fetchPhys(nextLinear);
        m.readCode(phys2, codeBuf, avail, 16);
        long key = Block.key(phys, mode);
        Straddler known = straddlers.get(key);
        if (known != null && java.util.Arrays.equals(known.bytes, 0, known.bytes.length, codeBuf, 0, known.bytes.length)) {
            return known.block;
        }
        Insn i = decoder.decode(codeBuf, 0, avail + 16, mode);
        Block b = new Block(phys, mode, new Insn[] {i});
        b.valid = false;   // spans two pages: never cached or chained to
        if (straddlers.size() >= MAX_STRADDLERS) straddlers.clear();
        straddlers.put(key, new Straddler(b, java.util.Arrays.copyOf(codeBuf, Math.max(1, i.len))));
        return b;
    }

    /** A decoded page-straddling instruction and the bytes it was decoded from. */
    private record Straddler(Block block, byte[] bytes) {}

    private static final int MAX_STRADDLERS = 4096;
    private final LongMap<Straddler> straddlers = new LongMap<>(64);

    // ------------------------------------------------------------------ dispatch

    /** Executes one instruction (package-private: compiled blocks call it for what they do not translate). */
    /**
     * A compiled region runs an instruction it does not translate. Under statistics the calls are counted per
     * operation, operand size and operand kind, which tells what the region compiler should translate next.
     */
    final void regionExec(Insn i) {
        if (stats) regionFallbacks[(i.op << 5 | (i.size & 0xf) << 1 | (i.rm < 0 ? 1 : 0)) & (regionFallbacks.length - 1)]++;
        exec(i);
    }

    /** Statistics: {@link #regionExec} calls by {@code op << 5 | size << 1 | memoryOperand}. */
    final long[] regionFallbacks = new long[1 << 13];

    void exec(Insn i) {
        switch (i.op) {
            case Ops.MOV_RR64 -> R[i.reg] = R[i.rm];
            case Ops.MOV_RR32 -> R[i.reg] = R[i.rm] & 0xffffffffL;
            case Ops.LOAD64 -> R[i.reg] = m.read64(lin(i));
            case Ops.LOAD32 -> R[i.reg] = m.read32(lin(i)) & 0xffffffffL;
            case Ops.STORE64 -> m.write64(lin(i), R[i.reg]);
            case Ops.STORE32 -> m.write32(lin(i), R[i.reg]);
            case Ops.ALU_RR64 -> { long r = alu(i.sub, 3, R[i.reg], R[i.rm]); if (i.sub != 7) R[i.reg] = r; }
            case Ops.ALU_RR32 -> { long r = alu(i.sub, 2, R[i.reg] & 0xffffffffL, R[i.rm] & 0xffffffffL); if (i.sub != 7) R[i.reg] = r; }
            case Ops.ALU_RI64 -> { long r = alu(i.sub, 3, R[i.reg], i.imm); if (i.sub != 7) R[i.reg] = r; }
            case Ops.ALU_RI32 -> { long r = alu(i.sub, 2, R[i.reg] & 0xffffffffL, i.imm); if (i.sub != 7) R[i.reg] = r; }
            case Ops.ALU_RM64 -> { long r = alu(i.sub, 3, R[i.reg], m.read64(lin(i))); if (i.sub != 7) R[i.reg] = r; }
            case Ops.ALU_RM32 -> {
                long r = alu(i.sub, 2, R[i.reg] & 0xffffffffL, m.read32(lin(i)) & 0xffffffffL);
                if (i.sub != 7) R[i.reg] = r;
            }
            case Ops.TEST_RR64 -> logicFlags(R[i.reg] & R[i.rm], 3);
            case Ops.TEST_RR32 -> logicFlags(R[i.reg] & R[i.rm] & 0xffffffffL, 2);
            case Ops.LEA64 -> R[i.reg] = ea(i);
            case Ops.PUSH64 -> { long v = R[i.reg], sp = R[RSP] - 8; m.write64(sp, v); R[RSP] = sp; }
            case Ops.POP64 -> { long sp = R[RSP]; long v = m.read64(sp); R[RSP] = sp + 8; R[i.reg] = v; }
            case Ops.CALL64 -> { long sp = R[RSP] - 8; m.write64(sp, nextRip); R[RSP] = sp; nextRip += i.imm; }
            case Ops.RET64 -> { long sp = R[RSP]; nextRip = m.read64(sp); R[RSP] = sp + 8; }
            case Ops.MOV_RM_R -> writeRm(i, getReg(i.reg, i.size));
            case Ops.MOV_R_RM -> setReg(i.reg, i.size, readRm(i));
            case Ops.MOV_RM_I -> writeRm(i, i.imm);
            case Ops.MOV_R_I -> setReg(i.reg, i.size, i.imm);
            case Ops.ALU_RM_R -> aluRmR(i);
            case Ops.ALU_R_RM -> aluRRm(i);
            case Ops.ALU_RM_I -> aluRmI(i);
            case Ops.TEST_RM_R -> logicFlags(readRm(i) & getReg(i.reg, i.size), i.szi);
            case Ops.TEST_RM_I -> logicFlags(readRm(i) & i.imm, i.szi);
            case Ops.JCC -> { if (s.cond(i.sub)) jumpRel(i); }
            case Ops.JMP_REL -> jumpRel(i);
            case Ops.CALL_REL -> { push(nextRip, i.size); jumpRel(i); }
            case Ops.RET -> ret(i);
            case Ops.PUSH_R -> push(getReg(i.reg, i.size), i.size);
            case Ops.POP_R -> setReg(i.reg, i.size, pop(i.size));
            case Ops.LEA -> setReg(i.reg, i.size, ea(i));
            case Ops.MOVZX -> setReg(i.reg, i.size, readSource2(i));
            case Ops.MOVSX -> setReg(i.reg, i.size, signExtend(readSource2(i), Integer.numberOfTrailingZeros(i.size2)));
            case Ops.INC -> incDec(i, false);
            case Ops.DEC -> incDec(i, true);
            case Ops.CMOV -> cmov(i);
            case Ops.SETCC -> writeRm(i, s.cond(i.sub) ? 1 : 0);
            case Ops.SHIFT_I -> shift(i, (int) i.imm);
            case Ops.SHIFT_CL -> shift(i, (int) R[RCX]);
            case Ops.JMP_RM -> nextRip = readRm(i) & ripMaskFor(i.size);
            case Ops.CALL_RM -> { long t = readRm(i); push(nextRip, i.size); nextRip = t & ripMaskFor(i.size); }
            case Ops.PUSH_RM -> push(readRm(i), i.size);
            case Ops.PUSH_I -> push(i.imm, i.size);
            case Ops.XCHG -> xchg(i);
            case Ops.NOP, Ops.PAUSE, Ops.FENCE -> { }
            default -> execRare(i);
        }
    }

    private void execRare(Insn i) {
        switch (i.op) {
            case Ops.UD -> throw CpuException.ud();
            case Ops.GP0 -> throw CpuException.gp(0);
            case Ops.NOT -> writeNot(i);
            case Ops.NEG -> neg(i);
            case Ops.MUL1 -> mul1(i);
            case Ops.IMUL1 -> imul1(i);
            case Ops.DIV -> div(i);
            case Ops.IDIV -> idiv(i);
            case Ops.IMUL_R_RM -> setReg(i.reg, i.size, s.imul(getReg(i.reg, i.size), readRm(i), i.szi));
            case Ops.IMUL_R_RM_I -> setReg(i.reg, i.size, s.imul(readRm(i), i.imm, i.szi));
            case Ops.SHLD_I -> doubleShift(i, (int) i.imm, true);
            case Ops.SHLD_CL -> doubleShift(i, (int) R[RCX], true);
            case Ops.SHRD_I -> doubleShift(i, (int) i.imm, false);
            case Ops.SHRD_CL -> doubleShift(i, (int) R[RCX], false);
            case Ops.BT_R -> bitTest(i, getReg(i.reg, i.size), true);
            case Ops.BT_I -> bitTest(i, i.imm, false);
            case Ops.BSF, Ops.BSR -> bitScan(i);
            case Ops.POPCNT -> popcnt(i);
            case Ops.CRC32 -> crc32(i);
            case Ops.BSWAP -> bswap(i);
            case Ops.XADD -> xadd(i);
            case Ops.CMPXCHG -> cmpxchg(i);
            case Ops.CMPXCHG8B -> cmpxchg8b(i);
            case Ops.CMPXCHG16B -> cmpxchg16b(i);
            case Ops.CBW -> cbw(i);
            case Ops.CWD -> cwd(i);
            case Ops.MOV_RM_SEG -> writeRm(i, s.sel[i.sub]);
            case Ops.MOV_SEG_RM -> {
                loadSegment(i.sub, (int) readRm(i));
                if (i.sub == SS) interruptShadow = true;
                endBlock = true;
            }
            case Ops.POP_RM -> popRm(i);
            case Ops.PUSH_SEG -> push(s.sel[i.sub], i.size);
            case Ops.POP_SEG -> {
                loadSegment(i.sub, (int) peek(0, i.size));
                R[RSP] = (R[RSP] & ~stackMask) | ((R[RSP] + i.size) & stackMask);
                if (i.sub == SS) interruptShadow = true;
            }
            case Ops.PUSHF -> push(s.rflags() & ~(RF | VM), i.size);
            case Ops.POPF -> writeFlags(pop(i.size), i.size, false);
            case Ops.PUSHA -> pusha(i);
            case Ops.POPA -> popa(i);
            case Ops.LAHF -> set8(0x20, s.rflags() & 0xd7 | 2);
            case Ops.SAHF -> s.setArith((s.arithFlags() & OF) | (get8(0x20) & (SF | ZF | AF | PF | CF)));
            case Ops.XLAT -> {
                long off = (R[RBX] + (R[RAX] & 0xff)) & i.addrMask;
                set8(0, m.read8(linear(i.seg, off)));
            }
            case Ops.MOVS, Ops.STOS, Ops.LODS, Ops.CMPS, Ops.SCAS, Ops.INS, Ops.OUTS -> string(i);
            case Ops.CLC -> s.setArith(s.arithFlags() & ~CF);
            case Ops.STC -> s.setArith(s.arithFlags() | CF);
            case Ops.CMC -> s.setArith(s.arithFlags() ^ CF);
            case Ops.CLD -> s.flags &= ~DF;
            case Ops.STD -> s.flags |= DF;
            case Ops.CLI -> { checkIopl(); s.flags &= ~IF; }
            case Ops.STI -> {
                checkIopl();
                if ((s.flags & IF) == 0) interruptShadow = true;
                s.flags |= IF;
            }
            case Ops.JMPF_PTR -> farJump(i.imm2, i.imm);
            case Ops.JMPF_M -> { long a = lin(i); long off = m.read(a, i.size); farJump(m.read16(a + i.size), off); }
            case Ops.CALLF_PTR -> farCall(i.imm2, i.imm, i.size);
            case Ops.CALLF_M -> { long a = lin(i); long off = m.read(a, i.size); farCall(m.read16(a + i.size), off, i.size); }
            case Ops.RETF -> farReturn(i.size, (int) i.imm);
            case Ops.IRET -> iret(i.size);
            case Ops.INT -> softwareInterrupt((int) i.imm, true);
            case Ops.INT3 -> softwareInterrupt(3, true);
            case Ops.INTO -> { if (s.cond(0)) softwareInterrupt(4, true); }
            case Ops.INT1 -> softwareInterrupt(1, false);
            case Ops.LOOP, Ops.LOOPE, Ops.LOOPNE -> loop(i);
            case Ops.JCXZ -> { if ((R[RCX] & i.addrMask) == 0) jumpRel(i); }
            case Ops.ENTER -> enter(i);
            case Ops.LEAVE -> leave(i);
            case Ops.HLT -> { requireCpl0(); halted = true; endBlock = true; }
            case Ops.SYSCALL -> { syscalls++; syscall(); }
            case Ops.SYSRET -> sysret((i.prefixes & Insn.REXW) != 0);
            case Ops.IN_I -> in(i, (int) i.imm);
            case Ops.IN_DX -> in(i, (int) R[RDX] & 0xffff);
            case Ops.OUT_I -> out(i, (int) i.imm);
            case Ops.OUT_DX -> out(i, (int) R[RDX] & 0xffff);
            case Ops.CPUID -> cpuid();
            case Ops.RDTSC -> rdtsc(false);
            case Ops.RDTSCP -> rdtsc(true);
            case Ops.RDMSR -> {
                requireCpl0();
                long v = readMsr((int) R[RCX]);
                R[RAX] = v & 0xffffffffL;
                R[RDX] = v >>> 32;
            }
            case Ops.WRMSR -> {
                requireCpl0();
                // No TLB flush: no MSR changes a translation except EFER.NXE, and writeEfer flushes for that. Linux
                // writes FS_BASE/KERNEL_GS_BASE on every context switch.
                writeMsr((int) R[RCX], (R[RDX] << 32) | (R[RAX] & 0xffffffffL));
            }
            case Ops.RDPMC -> throw CpuException.gp(0);
            case Ops.MOV_R_CR -> { requireCpl0(); setReg(i.rm, i.size, readCr(i.reg)); }
            case Ops.MOV_CR_R -> writeCr(i.reg, getReg(i.rm, i.size));
            case Ops.MOV_R_DR -> setReg(i.rm, i.size, readDr(i.reg));
            case Ops.MOV_DR_R -> writeDr(i.reg, getReg(i.rm, i.size));
            case Ops.LGDT -> lgdtOrLidt(i, false);
            case Ops.LIDT -> lgdtOrLidt(i, true);
            case Ops.SGDT -> sgdtOrSidt(i, false);
            case Ops.SIDT -> sgdtOrSidt(i, true);
            case Ops.LLDT -> { checkProtected(); lldt((int) readRm(i) & 0xffff); }
            case Ops.LTR -> { checkProtected(); ltr((int) readRm(i) & 0xffff); }
            case Ops.SLDT -> { checkProtected(); writeRm(i, s.sel[LDTR]); }
            case Ops.STR -> { checkProtected(); writeRm(i, s.sel[TR]); }
            case Ops.LMSW -> {
                requireCpl0();
                long v = readRm(i) & 0xf;
                writeCr0((s.cr0 & ~0xeL) | v | (s.cr0 & CR0_PE));
            }
            case Ops.SMSW -> writeRm(i, s.cr0 & (i.rm >= 0 ? MASK[i.szi] : 0xffff));
            case Ops.INVLPG -> { requireCpl0(); m.flushPage(lin(i)); }
            case Ops.SWAPGS -> {
                requireCpl0();
                long t = s.segBase[GS];
                s.segBase[GS] = s.kernelGsBase;
                s.kernelGsBase = t;
            }
            case Ops.CLTS -> { requireCpl0(); s.cr0 &= ~CR0_TS; }
            case Ops.LAR, Ops.LSL -> larLsl(i);
            case Ops.VERR, Ops.VERW -> verify(i);
            case Ops.WBINVD -> requireCpl0();
            case Ops.CLFLUSH -> m.read8(lin(i));
            case Ops.X87 -> fpu.exec(i);
            case Ops.FWAIT -> fpu.fwait();
            case Ops.FXSAVE -> fpu.fxsave(lin(i), i);
            case Ops.FXRSTOR -> fpu.fxrstor(lin(i), i);
            case Ops.LDMXCSR -> sse.ldmxcsr(lin(i));
            case Ops.STMXCSR -> sse.stmxcsr(lin(i));
            case Ops.SSE -> sse.exec(i);
            case Ops.EMMS -> fpu.emms();
            case Ops.LES -> loadFarPointer(i, ES);
            case Ops.LDS -> loadFarPointer(i, DS);
            default -> throw CpuException.ud();
        }
    }

    private void checkIopl() {
        if (protectedMode() && cpl > iopl()) throw CpuException.gp(0);
    }

    private void checkProtected() {
        if (!protectedMode()) throw CpuException.ud();
    }

    /** INT n, INT3, INTO, INT1: a delivery fault is reported against the INT instruction itself. */
    private void softwareInterrupt(int vector, boolean software) {
        long faultRip = s.rip;
        int savedCpl = cpl;
        s.rip = nextRip;
        try {
            deliverOnce(vector, software ? KIND_SOFTWARE : KIND_EXTERNAL, 0, false);
        } catch (CpuException e) {
            s.rip = faultRip;
            cpl = savedCpl;
            throw e;
        }
        nextRip = s.rip;
    }

    // ------------------------------------------------------------------ ALU

    final long alu(int op, int szi, long a, long b) {
        long mask = MASK[szi];
        long r;
        int kind;
        switch (op) {
            case 0 -> { r = (a + b) & mask; kind = K_ADD; }
            case 1 -> { r = a | b; kind = K_LOGIC; }
            case 2 -> { long c = s.carry() ? 1 : 0; r = (a + b + c) & mask; kind = K_ADC; }
            case 3 -> { long c = s.carry() ? 1 : 0; r = (a - b - c) & mask; kind = K_SBB; }
            case 4 -> { r = a & b; kind = K_LOGIC; }
            case 6 -> { r = a ^ b; kind = K_LOGIC; }
            default -> { r = (a - b) & mask; kind = K_SUB; }
        }
        s.ccOp = kind << 2 | szi;
        s.ccDst = r;
        s.ccSrc1 = a;
        s.ccSrc2 = b;
        return r;
    }

    void logicFlags(long r, int szi) {
        s.ccOp = K_LOGIC << 2 | szi;
        s.ccDst = r;
    }

    private void aluRmR(Insn i) {
        int size = i.size;
        long b = getReg(i.reg, size);
        if (i.rm >= 0) {
            long r = alu(i.sub, i.szi, getReg(i.rm, size), b);
            if (i.sub != 7) setReg(i.rm, size, r);
        } else {
            long a = lin(i);
            long r = alu(i.sub, i.szi, m.read(a, size), b);
            if (i.sub != 7) m.write(a, size, r);
        }
    }

    private void aluRRm(Insn i) {
        long r = alu(i.sub, i.szi, getReg(i.reg, i.size), readRm(i));
        if (i.sub != 7) setReg(i.reg, i.size, r);
    }

    private void aluRmI(Insn i) {
        int size = i.size;
        if (i.rm >= 0) {
            long r = alu(i.sub, i.szi, getReg(i.rm, size), i.imm);
            if (i.sub != 7) setReg(i.rm, size, r);
        } else {
            long a = lin(i);
            long r = alu(i.sub, i.szi, m.read(a, size), i.imm);
            if (i.sub != 7) m.write(a, size, r);
        }
    }

    private void incDec(Insn i, boolean dec) {
        long cf = s.carry() ? CF : 0;
        long mask = MASK[i.szi];
        if (i.rm >= 0) {
            long a = getReg(i.rm, i.size);
            long r = (dec ? a - 1 : a + 1) & mask;
            setReg(i.rm, i.size, r);
            incDecFlags(dec, i.szi, a, r, cf);
        } else {
            long addr = lin(i);
            long a = m.read(addr, i.size);
            long r = (dec ? a - 1 : a + 1) & mask;
            m.write(addr, i.size, r);
            incDecFlags(dec, i.szi, a, r, cf);
        }
    }

    private void incDecFlags(boolean dec, int szi, long a, long r, long cf) {
        s.ccOp = (dec ? K_DEC : K_INC) << 2 | szi;
        s.ccDst = r;
        s.ccSrc1 = a;
        s.ccSrc2 = cf;
    }

    private void writeNot(Insn i) {
        if (i.rm >= 0) setReg(i.rm, i.size, ~getReg(i.rm, i.size));
        else {
            long a = lin(i);
            m.write(a, i.size, ~m.read(a, i.size));
        }
    }

    private void neg(Insn i) {
        if (i.rm >= 0) setReg(i.rm, i.size, alu(5, i.szi, 0, getReg(i.rm, i.size)));
        else {
            long a = lin(i);
            m.write(a, i.size, alu(5, i.szi, 0, m.read(a, i.size)));
        }
    }


    private void mul1(Insn i) {
        long b = readRm(i);
        switch (i.size) {
            case 1 -> {
                long p = (R[RAX] & 0xff) * b;
                setReg(RAX, 2, p);
                s.setMulFlags((p >>> 8) != 0, p, 0);
            }
            case 2 -> {
                long p = (R[RAX] & 0xffff) * b;
                setReg(RAX, 2, p);
                setReg(RDX, 2, p >>> 16);
                s.setMulFlags((p >>> 16) != 0, p, 1);
            }
            case 4 -> {
                long p = (R[RAX] & 0xffffffffL) * b;
                R[RAX] = p & 0xffffffffL;
                R[RDX] = p >>> 32;
                s.setMulFlags((p >>> 32) != 0, p, 2);
            }
            default -> {
                long a = R[RAX];
                long hi = Math.unsignedMultiplyHigh(a, b);
                R[RAX] = a * b;
                R[RDX] = hi;
                s.setMulFlags(hi != 0, a * b, 3);
            }
        }
    }

    private void imul1(Insn i) {
        long b = signExtend(readRm(i), i.szi);
        switch (i.size) {
            case 1 -> {
                long p = (byte) R[RAX] * b;
                setReg(RAX, 2, p);
                s.setMulFlags(p != (byte) p, p, 0);
            }
            case 2 -> {
                long p = (short) R[RAX] * b;
                setReg(RAX, 2, p);
                setReg(RDX, 2, p >>> 16);
                s.setMulFlags(p != (short) p, p, 1);
            }
            case 4 -> {
                long p = (int) R[RAX] * b;
                R[RAX] = p & 0xffffffffL;
                R[RDX] = (p >>> 32) & 0xffffffffL;
                s.setMulFlags(p != (int) p, p, 2);
            }
            default -> {
                long a = R[RAX];
                long hi = Math.multiplyHigh(a, b);
                long lo = a * b;
                R[RAX] = lo;
                R[RDX] = hi;
                s.setMulFlags(hi != (lo >> 63), lo, 3);
            }
        }
    }

    /** Two- and three-operand IMUL: the truncated product, with CF=OF on signed overflow. */

    private void div(Insn i) {
        long d = readRm(i);
        if (d == 0) throw CpuException.fault(CpuException.DE);
        switch (i.size) {
            case 1 -> {
                long n = R[RAX] & 0xffff;
                long q = n / d;
                if (q > 0xff) throw CpuException.fault(CpuException.DE);
                setReg(RAX, 2, (n % d) << 8 | q);
            }
            case 2 -> {
                long n = (R[RDX] & 0xffff) << 16 | (R[RAX] & 0xffff);
                long q = n / d;
                if (q > 0xffff) throw CpuException.fault(CpuException.DE);
                setReg(RAX, 2, q);
                setReg(RDX, 2, n % d);
            }
            case 4 -> {
                long n = (R[RDX] & 0xffffffffL) << 32 | (R[RAX] & 0xffffffffL);
                long q = Long.divideUnsigned(n, d);
                if ((q >>> 32) != 0) throw CpuException.fault(CpuException.DE);
                R[RAX] = q;
                R[RDX] = Long.remainderUnsigned(n, d);
            }
            default -> {
                long hi = R[RDX], lo = R[RAX];
                if (Long.compareUnsigned(hi, d) >= 0) throw CpuException.fault(CpuException.DE);
                long q = Wide.divideUnsigned(hi, lo, d);
                R[RAX] = q;
                R[RDX] = lo - q * d;
            }
        }
    }

    private void idiv(Insn i) {
        long d = signExtend(readRm(i), i.szi);
        if (d == 0) throw CpuException.fault(CpuException.DE);
        switch (i.size) {
            case 1 -> {
                long n = (short) R[RAX];
                long q = n / d;
                if (q != (byte) q) throw CpuException.fault(CpuException.DE);
                setReg(RAX, 2, ((n % d) & 0xff) << 8 | (q & 0xff));
            }
            case 2 -> {
                long n = (int) ((R[RDX] & 0xffff) << 16 | (R[RAX] & 0xffff));
                long q = n / d;
                if (q != (short) q) throw CpuException.fault(CpuException.DE);
                setReg(RAX, 2, q);
                setReg(RDX, 2, n % d);
            }
            case 4 -> {
                long n = (R[RDX] << 32) | (R[RAX] & 0xffffffffL);
                if (n == Long.MIN_VALUE && d == -1) throw CpuException.fault(CpuException.DE);
                long q = n / d;
                if (q != (int) q) throw CpuException.fault(CpuException.DE);
                R[RAX] = q & 0xffffffffL;
                R[RDX] = (n % d) & 0xffffffffL;
            }
            default -> {
                long lo = R[RAX];
                long q = Wide.divideSigned(R[RDX], lo, d);
                R[RAX] = q;
                R[RDX] = lo - q * d;
            }
        }
    }

    // ------------------------------------------------------------------ shifts and rotates (eager flags)

    private void shift(Insn i, int rawCount) {
        int szi = i.szi;
        int count = rawCount & (szi == 3 ? 63 : 31);
        long addr = i.rm >= 0 ? 0 : lin(i);
        long a = i.rm >= 0 ? getReg(i.rm, i.size) : m.read(addr, i.size);
        if (count == 0) {
            if (i.rm >= 0 && i.size == 4) setReg(i.rm, 4, a);  // a 32-bit destination is still written
            return;
        }
        long r = s.shiftValue(a, i.sub, count, szi);
        long f = s.shiftFlagsOut;
        writeBack(i, addr, r);   // before the flags: a fault on the write leaves them as they were
        s.setArith(f);
    }

    private void writeBack(Insn i, long addr, long v) {
        if (i.rm >= 0) setReg(i.rm, i.size, v);
        else m.write(addr, i.size, v);
    }


    private void doubleShift(Insn i, int rawCount, boolean left) {
        int szi = i.szi;
        int count = rawCount & (szi == 3 ? 63 : 31);
        long addr = i.rm >= 0 ? 0 : lin(i);
        long a = i.rm >= 0 ? getReg(i.rm, i.size) : m.read(addr, i.size);
        if (count == 0) {
            if (i.rm >= 0 && i.size == 4) setReg(i.rm, 4, a);
            return;
        }
        long src = getReg(i.reg, i.size);
        int bits = 8 << szi;
        long mask = MASK[szi], sign = SIGN[szi];
        long r, cf;
        if (bits == 16 && count > 16) {
            // Undefined on hardware; behave like the 32-bit concatenation dst:src:dst.
            long wide = left ? (a << 32 | src << 16 | a) : (a << 32 | src << 16 | a);
            if (left) {
                r = (wide << count >>> 32) & mask;
                cf = (wide << (count - 1) >>> 47) & 1;
            } else {
                long w2 = src << 32 | a << 16 | src;
                r = (w2 >>> count) & mask;
                cf = (w2 >>> (count - 1)) & 1;
            }
        } else if (left) {
            r = ((a << count) | (src >>> (bits - count))) & mask;
            cf = (a >>> (bits - count)) & 1;
        } else {
            r = ((a >>> count) | (src << (bits - count))) & mask;
            cf = (a >>> (count - 1)) & 1;
        }
        long f = resultFlags(r, szi) | cf | (((r ^ a) & sign) != 0 ? OF : 0);
        writeBack(i, addr, r);
        s.setArith(f);
    }

    // ------------------------------------------------------------------ bit operations

    private void bitTest(Insn i, long offset, boolean registerOffset) {
        int bits = 8 << i.szi;
        int op = i.sub; // 0 BT, 1 BTS, 2 BTR, 3 BTC
        long f = s.arithFlags() & ~CF;
        if (i.rm >= 0) {
            int bit = (int) (offset & (bits - 1));
            long v = getReg(i.rm, i.size);
            if (((v >>> bit) & 1) != 0) f |= CF;
            if (op != 0) setReg(i.rm, i.size, modifyBit(v, bit, op));
        } else {
            long addr;
            int bit;
            if (registerOffset) {
                long so = signExtend(offset, i.szi);
                addr = (s.segBase[i.seg] + ((ea(i) + (so >> (3 + i.szi)) * i.size) & i.addrMask)) & i.linMask;
                bit = (int) (so & (bits - 1));
            } else {
                addr = lin(i);
                bit = (int) (offset & (bits - 1));
            }
            long v = m.read(addr, i.size);
            if (((v >>> bit) & 1) != 0) f |= CF;
            if (op != 0) m.write(addr, i.size, modifyBit(v, bit, op));
        }
        s.setArith(f);
    }

    private static long modifyBit(long v, int bit, int op) {
        return switch (op) {
            case 1 -> v | (1L << bit);
            case 2 -> v & ~(1L << bit);
            default -> v ^ (1L << bit);
        };
    }

    private void popcnt(Insn i) {
        long v = readRm(i);
        setReg(i.reg, i.size, Long.bitCount(v));
        s.setArith(v == 0 ? ZF : 0);   // all other arithmetic flags cleared
    }

    /** CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), one byte per step; no pre- or post-inversion. */
    private static final int[] CRC32C = new int[256];

    static {
        for (int n = 0; n < 256; n++) {
            int c = n;
            for (int k = 0; k < 8; k++) c = (c >>> 1) ^ (0x82f63b78 & -(c & 1));
            CRC32C[n] = c;
        }
    }

    private void crc32(Insn i) {
        long v = i.rm >= 0 ? getReg(i.rm, i.size2) : m.read(lin(i), i.size2);
        int crc = (int) R[i.reg];
        for (int k = 0; k < i.size2; k++) crc = (crc >>> 8) ^ CRC32C[(crc ^ (int) (v >>> (8 * k))) & 0xff];
        setReg(i.reg, i.size, crc & 0xffffffffL);   // flags unchanged
    }

    private void bitScan(Insn i) {
        long v = readRm(i);
        long f = s.arithFlags() & ~ZF;
        if (v == 0) {
            f |= ZF;  // destination unchanged (as AMD documents and Linux's ffs() relies on)
        } else {
            int idx = i.op == Ops.BSF ? Long.numberOfTrailingZeros(v) : 63 - Long.numberOfLeadingZeros(v);
            setReg(i.reg, i.size, idx);
        }
        s.setArith(f);
    }

    private void bswap(Insn i) {
        switch (i.size) {
            case 8 -> R[i.reg] = Long.reverseBytes(R[i.reg]);
            case 4 -> R[i.reg] = Integer.reverseBytes((int) R[i.reg]) & 0xffffffffL;
            default -> setReg(i.reg, 2, 0);
        }
    }

    private void xchg(Insn i) {
        if (i.rm >= 0) {
            long a = getReg(i.rm, i.size), b = getReg(i.reg, i.size);
            setReg(i.rm, i.size, b);
            setReg(i.reg, i.size, a);
        } else {
            long addr = lin(i);
            long a = m.read(addr, i.size);
            m.write(addr, i.size, getReg(i.reg, i.size));
            setReg(i.reg, i.size, a);
        }
    }

    private void xadd(Insn i) {
        long src = getReg(i.reg, i.size);
        if (i.rm >= 0) {
            long dst = getReg(i.rm, i.size);
            long sum = alu(0, i.szi, dst, src);
            setReg(i.reg, i.size, dst);
            setReg(i.rm, i.size, sum);
        } else {
            long addr = lin(i);
            long dst = m.read(addr, i.size);
            long sum = (dst + src) & MASK[i.szi];
            m.write(addr, i.size, sum);
            alu(0, i.szi, dst, src);
            setReg(i.reg, i.size, dst);
        }
    }

    private void cmpxchg(Insn i) {
        long acc = getReg(RAX, i.size);
        long src = getReg(i.reg, i.size);
        if (i.rm >= 0) {
            long dst = getReg(i.rm, i.size);
            alu(7, i.szi, acc, dst);
            if (acc == dst) setReg(i.rm, i.size, src);
            else setReg(RAX, i.size, dst);
        } else {
            long addr = lin(i);
            long dst = m.read(addr, i.size);
            if (acc == dst) {
                m.write(addr, i.size, src);
            } else {
                m.write(addr, i.size, dst);
            }
            alu(7, i.szi, acc, dst);
            if (acc != dst) setReg(RAX, i.size, dst);
        }
    }

    private void cmpxchg8b(Insn i) {
        long addr = lin(i);
        long v = m.read64(addr);
        long expected = (R[RDX] & 0xffffffffL) << 32 | (R[RAX] & 0xffffffffL);
        long f = s.arithFlags() & ~ZF;
        if (v == expected) {
            m.write64(addr, (R[RCX] & 0xffffffffL) << 32 | (R[RBX] & 0xffffffffL));
            f |= ZF;
        } else {
            m.write64(addr, v);
            R[RAX] = v & 0xffffffffL;
            R[RDX] = v >>> 32;
        }
        s.setArith(f);
    }

    private void cmpxchg16b(Insn i) {
        long addr = lin(i);
        if ((addr & 15) != 0) throw CpuException.gp(0);
        m.probeWrite(addr, 16);
        long lo = m.read64(addr), hi = m.read64(addr + 8);
        long f = s.arithFlags() & ~ZF;
        if (lo == R[RAX] && hi == R[RDX]) {
            m.write64(addr, R[RBX]);
            m.write64(addr + 8, R[RCX]);
            f |= ZF;
        } else {
            R[RAX] = lo;
            R[RDX] = hi;
        }
        s.setArith(f);
    }

    // ------------------------------------------------------------------ moves and conversions

    private long readSource2(Insn i) {
        return i.rm >= 0 ? getReg(i.rm, i.size2) : m.read(lin(i), i.size2);
    }

    private void cmov(Insn i) {
        long v = readRm(i);
        if (s.cond(i.sub)) setReg(i.reg, i.size, v);
        else if (i.size == 4) R[i.reg] &= 0xffffffffL;
    }

    private void cbw(Insn i) {
        switch (i.size) {
            case 2 -> setReg(RAX, 2, (byte) R[RAX]);
            case 4 -> R[RAX] = (short) R[RAX] & 0xffffffffL;
            default -> R[RAX] = (int) R[RAX];
        }
    }

    private void cwd(Insn i) {
        switch (i.size) {
            case 2 -> setReg(RDX, 2, (short) R[RAX] < 0 ? 0xffff : 0);
            case 4 -> R[RDX] = (int) R[RAX] < 0 ? 0xffffffffL : 0;
            default -> R[RDX] = R[RAX] < 0 ? -1L : 0;
        }
    }

    private void popRm(Insn i) {
        long sp = R[RSP];
        long v = pop(i.size);
        try {
            writeRm(i, v);
        } catch (CpuException e) {
            R[RSP] = sp;
            throw e;
        }
    }

    private void pusha(Insn i) {
        int size = i.size;
        long sp = R[RSP];
        long origSp = getReg(RSP, size);
        try {
            for (int r = 0; r < 8; r++) push(r == RSP ? origSp : getReg(r, size), size);
        } catch (CpuException e) {
            R[RSP] = sp;
            throw e;
        }
    }

    private void popa(Insn i) {
        int size = i.size;
        long[] v = new long[8];
        for (int r = 7; r >= 0; r--) v[r] = peek((long) (7 - r) * size, size);
        for (int r = 0; r < 8; r++) if (r != RSP) setReg(r, size, v[r]);
        R[RSP] = (R[RSP] & ~stackMask) | ((R[RSP] + 8L * size) & stackMask);
    }

    private void loadFarPointer(Insn i, int seg) {
        long a = lin(i);
        long off = m.read(a, i.size);
        int sel = m.read16(a + i.size);
        loadSegment(seg, sel);
        setReg(i.reg, i.size, off);
    }

    // ------------------------------------------------------------------ control flow

    private long ripMaskFor(int size) {
        return size == 2 ? 0xffffL : mode == Decoder.MODE64 ? -1L : 0xffffffffL;
    }

    private void jumpRel(Insn i) {
        nextRip = (nextRip + i.imm) & ripMaskFor(i.size);
    }

    private void ret(Insn i) {
        long target = pop(i.size);
        if (i.imm != 0) R[RSP] = (R[RSP] & ~stackMask) | ((R[RSP] + i.imm) & stackMask);
        nextRip = target & ripMaskFor(i.size);
    }

    private void loop(Insn i) {
        long mask = i.addrMask;
        long c = (R[RCX] - 1) & mask;
        R[RCX] = (R[RCX] & ~mask) | c;
        boolean go = c != 0;
        if (i.op == Ops.LOOPE) go &= s.cond(4);
        else if (i.op == Ops.LOOPNE) go &= s.cond(5);
        if (go) jumpRel(i);
    }

    private void enter(Insn i) {
        int size = i.size;
        int level = i.imm2 & 31;
        long sp = R[RSP], bp = R[RBP];
        try {
            push(getReg(RBP, size), size);
            long frame = R[RSP] & stackMask;
            if (level > 0) {
                long b = R[RBP];
                for (int k = 1; k < level; k++) {
                    b = (b - size) & stackMask;
                    push(m.read(stackLinear(b), size), size);
                }
                push(frame, size);
            }
            long newSp = (R[RSP] - i.imm) & stackMask;
            m.probeWrite(stackLinear(newSp), 1);
            setReg(RBP, size == 2 ? 2 : stackMask == 0xffffL ? 2 : size, frame);
            R[RSP] = (R[RSP] & ~stackMask) | newSp;
        } catch (CpuException e) {
            R[RSP] = sp;
            R[RBP] = bp;
            throw e;
        }
    }

    private void leave(Insn i) {
        long sp = R[RSP];
        R[RSP] = (R[RSP] & ~stackMask) | (R[RBP] & stackMask);
        try {
            setReg(RBP, i.size, pop(i.size));
        } catch (CpuException e) {
            R[RSP] = sp;
            throw e;
        }
    }

    // ------------------------------------------------------------------ I/O

    private void checkIo(int port, int size) {
        if (!protectedMode() || cpl <= iopl()) return;
        // The TSS I/O permission bitmap.
        if ((s.segAttr[TR] & 0xf) != 0xb && (s.segAttr[TR] & 0xf) != 0x9) throw CpuException.gp(0);
        if (s.segLimit[TR] < 0x67) throw CpuException.gp(0);
        int bitmap = (int) m.readSys(s.segBase[TR] + 0x66, 2);
        long byteOff = bitmap + (port >>> 3);
        if (byteOff + 1 > Integer.toUnsignedLong(s.segLimit[TR])) throw CpuException.gp(0);
        int bits = (int) m.readSys(s.segBase[TR] + byteOff, 2);
        int want = ((1 << size) - 1) << (port & 7);
        if ((bits & want) != 0) throw CpuException.gp(0);
    }

    private void in(Insn i, int port) {
        checkIo(port, i.size);
        pioAccesses++;
        setReg(RAX, i.size, pio.read(port, i.size));
    }

    private void out(Insn i, int port) {
        checkIo(port, i.size);
        pioAccesses++;
        pio.write(port, i.size, getReg(RAX, i.size));
    }

    private void rdtsc(boolean withAux) {
        if ((s.cr4 & CR4_TSD) != 0 && cpl != 0 && protectedMode()) throw CpuException.gp(0);
        long t = tsc();
        R[RAX] = t & 0xffffffffL;
        R[RDX] = t >>> 32;
        if (withAux) R[RCX] = s.tscAux & 0xffffffffL;
    }

    // ------------------------------------------------------------------ LAR/LSL/VERR/VERW

    private void larLsl(Insn i) {
        checkProtected();
        int sel = (int) (i.rm >= 0 ? getReg(i.rm, 2) : m.read16(lin(i)));
        long d = accessibleDescriptor(sel, i.op == Ops.LSL, i.op == Ops.LAR);
        long f = s.arithFlags() & ~ZF;
        if (d != -1) {
            f |= ZF;
            long v = i.op == Ops.LAR ? (d >>> 32) & 0x00f0ff00L : descLimit(d) & 0xffffffffL;
            setReg(i.reg, i.size == 8 ? 4 : i.size, v);
        }
        s.setArith(f);
    }

    private void verify(Insn i) {
        checkProtected();
        int sel = (int) readRm(i) & 0xffff;
        long d = accessibleDescriptor(sel, false, false);
        boolean ok = false;
        if (d != -1) {
            int attr = descAttr(d);
            boolean code = (attr & Segment.TYPE_CODE) != 0;
            if ((attr & Segment.S) != 0) {
                ok = i.op == Ops.VERR ? (!code || (attr & Segment.TYPE_RW) != 0) : (!code && (attr & Segment.TYPE_RW) != 0);
            }
        }
        long f = s.arithFlags() & ~ZF;
        s.setArith(ok ? f | ZF : f);
    }

    // ------------------------------------------------------------------ string instructions

    private void string(Insn i) {
        int size = i.size;
        long amask = i.addrMask;
        long delta = (s.flags & DF) != 0 ? -size : size;
        if (i.sub == 0) {
            stringStep(i, delta);
            return;
        }
        long count = R[RCX] & amask;
        if (count == 0) return;
        boolean conditional = i.op == Ops.CMPS || i.op == Ops.SCAS;
        if (!conditional && delta > 0 && (i.op == Ops.MOVS || i.op == Ops.STOS)) {
            count = bulkString(i, count, amask);
            if (count == 0) return;
        }
        int slice = REP_SLICE;
        while (count != 0) {
            stringStep(i, delta);
            count--;
            R[RCX] = (R[RCX] & ~amask) | count;
            if (conditional) {
                boolean zf = s.cond(4);
                if (i.sub == 1 ? !zf : zf) return;
            }
            if (--slice == 0 && count != 0) {
                nextRip = s.rip;   // restart the instruction after pending interrupts
                endBlock = true;
                return;
            }
        }
    }

    private void stringStep(Insn i, long delta) {
        int size = i.size;
        long amask = i.addrMask;
        switch (i.op) {
            case Ops.MOVS -> {
                long v = m.read(linear(i.seg, R[RSI] & amask), size);
                m.write(linear(ES, R[RDI] & amask), size, v);
                R[RSI] = (R[RSI] & ~amask) | ((R[RSI] + delta) & amask);
                R[RDI] = (R[RDI] & ~amask) | ((R[RDI] + delta) & amask);
            }
            case Ops.STOS -> {
                m.write(linear(ES, R[RDI] & amask), size, R[RAX]);
                R[RDI] = (R[RDI] & ~amask) | ((R[RDI] + delta) & amask);
            }
            case Ops.LODS -> {
                long v = m.read(linear(i.seg, R[RSI] & amask), size);
                setReg(RAX, size, v);
                R[RSI] = (R[RSI] & ~amask) | ((R[RSI] + delta) & amask);
            }
            case Ops.CMPS -> {
                long a = m.read(linear(i.seg, R[RSI] & amask), size);
                long b = m.read(linear(ES, R[RDI] & amask), size);
                alu(7, i.szi, a, b);
                R[RSI] = (R[RSI] & ~amask) | ((R[RSI] + delta) & amask);
                R[RDI] = (R[RDI] & ~amask) | ((R[RDI] + delta) & amask);
            }
            case Ops.SCAS -> {
                long b = m.read(linear(ES, R[RDI] & amask), size);
                alu(7, i.szi, getReg(RAX, size), b);
                R[RDI] = (R[RDI] & ~amask) | ((R[RDI] + delta) & amask);
            }
            case Ops.INS -> {
                int port = (int) R[RDX] & 0xffff;
                checkIo(port, size);
                long lin = linear(ES, R[RDI] & amask);
                m.probeWrite(lin, size);
                pioAccesses++;
                m.write(lin, size, pio.read(port, size));
                R[RDI] = (R[RDI] & ~amask) | ((R[RDI] + delta) & amask);
            }
            default -> { // OUTS
                int port = (int) R[RDX] & 0xffff;
                checkIo(port, size);
                long v = m.read(linear(i.seg, R[RSI] & amask), size);
                pioAccesses++;
                pio.write(port, size, v);
                R[RSI] = (R[RSI] & ~amask) | ((R[RSI] + delta) & amask);
            }
        }
    }

    /**
     * Forward REP MOVS/STOS in RAM, a page-bounded chunk at a time with bulk copies and fills. Returns the count
     * still to do (the element-wise loop finishes it: MMIO, code pages, overlaps, page-crossing elements).
     */
    private long bulkString(Insn i, long count, long amask) {
        int size = i.size;
        while (count > 0) {
            long di = R[RDI] & amask;
            long dLin = linear(ES, di);
            int dIdx = m.bulkWriteIndex(dLin);
            if (dIdx < 0) return count;
            long dOff = dLin & 0xfff;
            long room = (4096 - dOff) / size;
            if (room == 0) return count;
            long n = Math.min(count, room);
            if (i.op == Ops.STOS) {
                // Keep offsets inside the address-size window; a wrap is left to the element loop.
                if (di + n * size - 1 > amask) return count;
                MemorySegment seg = m.tlb.seg[dIdx];
                long base = m.tlb.base[dIdx] + dOff;
                long v = R[RAX];
                if (size == 1) seg.asSlice(base, n).fill((byte) v);
                else if (v == 0) seg.asSlice(base, n * size).fill((byte) 0);
                else {
                    for (long k = 0; k < n; k++) {
                        long o = base + k * size;
                        switch (size) {
                            case 2 -> seg.set(Mmu.LE16, o, (short) v);
                            case 4 -> seg.set(Mmu.LE32, o, (int) v);
                            default -> seg.set(Mmu.LE64, o, v);
                        }
                    }
                }
                R[RDI] = (R[RDI] & ~amask) | ((di + n * size) & amask);
            } else {
                long si = R[RSI] & amask;
                long sLin = linear(i.seg, si);
                long sOff = sLin & 0xfff;
                n = Math.min(n, (4096 - sOff) / size);
                if (n == 0) return count;
                if (di + n * size - 1 > amask || si + n * size - 1 > amask) return count;
                int sIdx = m.bulkReadIndex(sLin);
                if (sIdx < 0) return count;
                dIdx = m.bulkWriteIndex(dLin);   // the two pages may share a TLB slot and evict each other
                if (dIdx < 0 || m.tlb.rTag[sIdx] != (sLin & ~0xfffL)) return count;
                MemorySegment dSeg = m.tlb.seg[dIdx], sSeg = m.tlb.seg[sIdx];
                long dp = m.tlb.phys[dIdx] + dOff, sp = m.tlb.phys[sIdx] + sOff;
                long bytes = n * size;
                if (dp > sp && dp - sp < bytes) return count;   // overlapping forward copy: element by element
                MemorySegment.copy(sSeg, m.tlb.base[sIdx] + sOff, dSeg, m.tlb.base[dIdx] + dOff, bytes);
                R[RSI] = (R[RSI] & ~amask) | ((si + bytes) & amask);
                R[RDI] = (R[RDI] & ~amask) | ((di + bytes) & amask);
            }
            count -= n;
            R[RCX] = (R[RCX] & ~amask) | count;
        }
        return 0;
    }
}
