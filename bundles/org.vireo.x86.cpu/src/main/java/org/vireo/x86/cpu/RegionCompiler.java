package org.vireo.x86.cpu;

import static java.lang.constant.ConstantDescs.CD_boolean;
import static java.lang.constant.ConstantDescs.CD_int;
import static java.lang.constant.ConstantDescs.CD_long;
import static java.lang.constant.ConstantDescs.CD_void;
import static java.lang.constant.ConstantDescs.INIT_NAME;
import static org.vireo.x86.cpu.CpuState.K_DEC;
import static org.vireo.x86.cpu.CpuState.K_INC;
import static org.vireo.x86.cpu.CpuState.K_LOGIC;
import static org.vireo.x86.cpu.CpuState.NOREG;
import static org.vireo.x86.cpu.CpuState.RAX;
import static org.vireo.x86.cpu.CpuState.RDX;
import static org.vireo.x86.cpu.CpuState.RSP;
import static org.vireo.x86.cpu.CpuState.SEG_FLAT;

import java.lang.classfile.Attributes;
import java.lang.classfile.ClassFile;
import java.lang.classfile.ClassHierarchyResolver;
import java.lang.classfile.ClassModel;
import java.lang.classfile.CodeBuilder;
import java.lang.classfile.Label;
import java.lang.classfile.MethodModel;
import java.lang.constant.ClassDesc;
import java.lang.constant.MethodTypeDesc;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The region compiler: turns a hot 64-bit block and the blocks it reaches by direct branches inside the same page
 * into one JVM method ({@link RegionCode}, a hidden class built with the ClassFile API). Inside it:
 * <ul>
 * <li>the guest registers the region touches live in JVM locals, written back only at exits, before instructions
 *     left to the interpreter, and on a fault;</li>
 * <li>lazy flags live in locals too, with the flag kind known at translation time, so a compare and its branch
 *     become one JVM comparison, and a flag record that nothing can observe (overwritten before any reader, fault
 *     or exit) is never computed;</li>
 * <li>blocks jump to each other with {@code goto} (loops stay in the method); each transfer checks the instruction
 *     budget and the CPU's pending events, so interrupts, stop requests and DMA into code are taken as promptly as
 *     between interpreted blocks;</li>
 * <li>a fault is exact without per-instruction stores: the index of the current instruction is a local that is a
 *     constant at each throwing call, and one exception handler writes the state back from it.</li>
 * </ul>
 * Instructions it does not translate call the interpreter's {@code exec} with the state synchronised around them.
 * The region depends only on its page: writes to the page invalidate the seed block, and the interpreter never
 * enters an invalid block's region.
 */
final class RegionCompiler {
    /** Region size limits (-Dvireo.x86.regions.maxBlocks, maxInsns): larger methods cost HotSpot's C2 more to compile. */
    static final int MAX_BLOCKS = Integer.getInteger("vireo.x86.regions.maxBlocks", 32),
            MAX_INSNS = Integer.getInteger("vireo.x86.regions.maxInsns", 384);
    /** HotSpot does not compile methods over 8000 bytes of bytecode (HugeMethodLimit); stay below. */
    static final int MAX_BYTECODE = 7800;

    private static final ClassDesc CD_INTERP = desc(Interpreter.class), CD_STATE = desc(CpuState.class),
            CD_MMU = desc(Mmu.class), CD_INSN = desc(Insn.class), CD_CODE = desc(RegionCode.class),
            CD_BLOCK = desc(Block.class), CD_SUPPORT = desc(RegionSupport.class), CD_CPU_EXC = desc(CpuException.class);
    private static final ClassDesc CD_LONG_ARRAY = CD_long.arrayType(), CD_INT_ARRAY = CD_int.arrayType();
    private static final MethodTypeDesc RUN = MethodTypeDesc.of(CD_long, CD_INTERP, CD_long, CD_long);
    private static final MethodTypeDesc INIT = MethodTypeDesc.of(CD_void, CD_INSN.arrayType(), CD_INT_ARRAY, CD_INT_ARRAY, CD_BLOCK);
    private static final MethodTypeDesc READ64 = MethodTypeDesc.of(CD_long, CD_long);
    private static final MethodTypeDesc READ32 = MethodTypeDesc.of(CD_int, CD_long);
    private static final MethodTypeDesc WRITE = MethodTypeDesc.of(CD_void, CD_long, CD_long);
    private static final MethodTypeDesc EXEC = MethodTypeDesc.of(CD_void, CD_INSN);
    private static final MethodTypeDesc EVENTS = MethodTypeDesc.of(CD_boolean);
    private static final MethodTypeDesc CARRY_IN = MethodTypeDesc.of(CD_long, CD_int, CD_long, CD_long, CD_long);
    private static final MethodTypeDesc STATE_CARRY = MethodTypeDesc.of(CD_boolean);
    private static final MethodTypeDesc STATE_COND = MethodTypeDesc.of(CD_boolean, CD_int);
    private static final MethodTypeDesc COND_GENERIC = MethodTypeDesc.of(CD_boolean, CD_int, CD_long, CD_long, CD_long, CD_int);
    private static final MethodTypeDesc SHIFT = MethodTypeDesc.of(CD_long, CD_long, CD_int, CD_int, CD_int);
    private static final MethodTypeDesc MUL_HIGH = MethodTypeDesc.of(CD_long, CD_long, CD_long);
    private static final MethodTypeDesc SHIFT_FLAGS = MethodTypeDesc.of(CD_long, CD_long, CD_int, CD_int, CD_int);
    private static final MethodTypeDesc IMUL_FLAGS = MethodTypeDesc.of(CD_long, CD_long, CD_long, CD_int);
    private static final ClassDesc CD_MATH = ClassDesc.of("java.lang.Math");
    private static final MethodTypeDesc SET_FLAGS = MethodTypeDesc.of(CD_void, CD_STATE, CD_int, CD_long, CD_long, CD_long);

    // Locals of run(): 0 this, 1 cpu, 2 pageBase, 4 max, then the slots below; guest registers from REG0, two slots each.
    private static final int CPU = 1, PAGE = 2, MAX = 4, REGS = 6, STATE = 7, MMU = 8, RETIRED = 9, PC = 11,
            CC_KNOWN = 12, CC_DST = 13, CC_A = 15, CC_B = 17, T1 = 19, T2 = 21, T3 = 23, EXIT_RIP = 25, COND = 27,
            EXC = 28, REG0 = 29, EXIT_BLOCK = REG0 + 32, COUNT = EXIT_BLOCK + 1;

    /** Diagnostics: -Dvireo.x86.regions.dump=DIR writes every region's class file there. */
    private static final String DUMP_DIR = System.getProperty("vireo.x86.regions.dump");

    private final MethodHandles.Lookup lookup = MethodHandles.lookup();
    private final ClassFile classFile = ClassFile.of(ClassFile.ClassHierarchyResolverOption.of(
            ClassHierarchyResolver.ofClassLoading(RegionCompiler.class.getClassLoader())));
    private final java.util.concurrent.atomic.AtomicLong sequence = new java.util.concurrent.atomic.AtomicLong();

    private static ClassDesc desc(Class<?> c) { return ClassDesc.of(c.getName()); }

    /** Finds (or decodes) the valid 64-bit block at an offset of the seed's page, or null. */
    interface BlockSource {
        Block blockAt(int pageOffset);
    }

    /** A region's plan: its blocks in emission order and what the analysis found. */
    private static final class Plan {
        final List<Block> blocks = new ArrayList<>();
        final Map<Integer, Integer> indexByOffset = new HashMap<>();
        int[] offset;        // page offset of each block
        int[][] succ;        // successor page offsets (in the page) of each block's end, by kind below
        boolean[] liveIn, liveOut;
        boolean[][] flagsNeeded;   // per block, per instruction: its flag record can be observed
        int insnCount;
    }

    /** Compiles the region seeded at {@code seed}; returns null when there is nothing worth compiling. */
    RegionCode compile(Block seed, BlockSource source) {
        Prepared p = prepare(seed, source);
        return p == null ? null : finish(p);
    }

    /** A region planned on the vCPU thread, with every block the plan looked at, ready to build on any thread. */
    static final class Prepared {
        final Block seed;
        final Plan plan;
        final Map<Integer, Block> seen;

        Prepared(Block seed, Plan plan, Map<Integer, Block> seen) {
            this.seed = seed;
            this.plan = plan;
            this.seen = seen;
        }
    }

    /**
     * Plans the region on the calling (vCPU) thread: only this step looks blocks up or decodes them. Returns null when
     * there is nothing worth compiling.
     */
    Prepared prepare(Block seed, BlockSource source) {
        Map<Integer, Block> seen = new HashMap<>();
        Plan p = plan(seed, off -> {
            Block b = source.blockAt(off);
            if (b != null) seen.put(off, b);
            return b;
        }, MAX_INSNS);
        return p == null ? null : new Prepared(seed, p, seen);
    }

    /**
     * Builds the class (thread-safe; the background compiler calls it). A region too large for one method is planned
     * again at half the size from the blocks already seen.
     */
    RegionCode finish(Prepared prepared) {
        return finish(prepared, !HotSpotTiers.regionsStartInC1());
    }

    /**
     * Builds the class of a region for HotSpot's quick tier ({@code hot} false: C1 only, see {@link HotSpotTiers}) or
     * its optimizing tier ({@code hot} true: C2 compiles it once HotSpot finds it hot).
     */
    RegionCode finish(Prepared prepared, boolean hot) {
        Plan p = prepared.plan;
        for (int limit = MAX_INSNS; limit >= 16; limit /= 2) {
            if (p == null) return null;
            RegionCode rc = build(p, prepared.seed, hot);
            if (rc != null) {
                rc.prepared = new Prepared(prepared.seed, p, prepared.seen);
                return rc;
            }
            p = plan(prepared.seed, prepared.seen::get, limit / 2);
        }
        return null;
    }

    // ------------------------------------------------------------------ analysis

    private static boolean translatable(Insn i) {
        return switch (i.op) {
            case Ops.MOV_RR64, Ops.MOV_RR32, Ops.LOAD64, Ops.LOAD32, Ops.STORE64, Ops.STORE32, Ops.ALU_RR64,
                 Ops.ALU_RR32, Ops.ALU_RI64, Ops.ALU_RI32, Ops.ALU_RM64, Ops.ALU_RM32, Ops.TEST_RR64, Ops.TEST_RR32,
                 Ops.LEA64, Ops.PUSH64, Ops.POP64, Ops.CALL64, Ops.RET64, Ops.NOP, Ops.PAUSE, Ops.FENCE -> true;
            case Ops.MOV_R_I -> i.size == 8 || i.size == 4;
            case Ops.INC, Ops.DEC -> i.rm >= 0 && (i.size == 8 || i.size == 4);
            case Ops.JMP_REL, Ops.JCC -> i.size == 8;
            // Memory-destination ALU of 4 or 8 bytes (those register forms are ALU_RR/ALU_RI), byte and word registers.
            case Ops.ALU_RM_R, Ops.ALU_RM_I -> i.rm < 0 ? i.size == 8 || i.size == 4 : i.size == 1 || i.size == 2;
            case Ops.TEST_RM_R, Ops.TEST_RM_I, Ops.MOV_RM_R -> true;
            case Ops.NEG, Ops.NOT -> i.rm >= 0;
            case Ops.LEA -> true;
            // Flag-setting forms: computed without flags where their flags are never observed, else with the flags
            // set eagerly in CpuState (shifts, IMUL) or left to the interpreter (MUL).
            case Ops.SHIFT_I -> i.rm >= 0 && (i.size == 8 || i.size == 4) && (i.imm & (i.size == 8 ? 63 : 31)) != 0;
            case Ops.SHIFT_CL -> i.rm >= 0 && (i.size == 8 || i.size == 4);
            case Ops.MUL1, Ops.IMUL_R_RM, Ops.IMUL_R_RM_I -> i.rm >= 0 && (i.size == 8 || i.size == 4);
            case Ops.MOVZX -> (i.size == 8 || i.size == 4) && (i.size2 == 1 || i.size2 == 2);
            case Ops.MOVSX -> (i.size == 8 || i.size == 4) && (i.size2 == 1 || i.size2 == 2 || i.size2 == 4);
            case Ops.SETCC -> i.rm >= 0;
            case Ops.CMOV -> i.size == 8 || i.size == 4;
            default -> false;
        };
    }

    /**
     * Register forms that cannot fault, translated without flags where their own flags are dead and with eager flags
     * (or by the interpreter) where they are live: invisible to flag liveness, they neither kill nor read a record.
     * RCL/RCR read CF and a shift by CL may keep the flags (count 0), so those are observers instead.
     */
    private static boolean flagsTransparent(Insn i) {
        return switch (i.op) {
            case Ops.SHIFT_I -> i.sub != 2 && i.sub != 3 && translatable(i);
            case Ops.MUL1, Ops.IMUL_R_RM, Ops.IMUL_R_RM_I -> translatable(i);
            default -> false;
        };
    }

    /** A flag-transparent form whose live flags the region computes itself (eagerly, into CpuState). */
    private static boolean eagerFlags(Insn i) {
        return i.op == Ops.SHIFT_I || i.op == Ops.IMUL_R_RM || i.op == Ops.IMUL_R_RM_I;
    }

    /**
     * Whether the translation of {@code i} can throw a guest fault (a memory access, or the interpreter's exec). The
     * others need not record their index for the fault handler: smaller methods, fewer stores.
     */
    private static boolean mayFault(Insn i) {
        if (!translatable(i)) return true;
        return switch (i.op) {
            case Ops.MOV_RR64, Ops.MOV_RR32, Ops.MOV_R_I, Ops.ALU_RR64, Ops.ALU_RR32, Ops.ALU_RI64, Ops.ALU_RI32,
                 Ops.TEST_RR64, Ops.TEST_RR32, Ops.LEA64, Ops.LEA, Ops.SETCC, Ops.JMP_REL, Ops.JCC, Ops.NOP, Ops.PAUSE,
                 Ops.FENCE -> false;
            case Ops.INC, Ops.DEC, Ops.SHIFT_I, Ops.SHIFT_CL, Ops.MUL1, Ops.IMUL_R_RM, Ops.IMUL_R_RM_I, Ops.MOVZX,
                 Ops.MOVSX, Ops.CMOV, Ops.NEG, Ops.NOT, Ops.ALU_RM_R, Ops.ALU_RM_I, Ops.TEST_RM_R, Ops.TEST_RM_I,
                 Ops.MOV_RM_R -> i.rm < 0;
            default -> true;
        };
    }

    /** The general register a register operand names (AH..BH are encoded as 0x20 | n). */
    private static int gpr(int r) {
        return (r & 0x20) != 0 ? r & 3 : r;
    }

    /** Successor page offsets at a block's end: {taken, fallthrough} for Jcc, {target} for JMP/CALL and plain ends; {} when dynamic. */
    private static int[] successors(Block b) {
        Insn last = b.insns[b.insns.length - 1];
        long next = (b.phys & 0xfff) + last.offset + last.len;
        if (!translatable(last)) return Decoder.endsBlock(last) ? new int[0] : new int[] {(int) next};
        return switch (last.op) {
            case Ops.JCC -> new int[] {(int) (next + last.imm), (int) next};
            case Ops.JMP_REL, Ops.CALL64 -> new int[] {(int) (next + last.imm)};
            case Ops.RET64 -> new int[0];
            default -> new int[] {(int) next};
        };
    }

    private static boolean inPage(long off) { return off >= 0 && off < 4096; }

    private Plan plan(Block seed, BlockSource source, int insnLimit) {
        Plan p = new Plan();
        ArrayDeque<Block> work = new ArrayDeque<>();
        p.blocks.add(seed);
        p.indexByOffset.put((int) (seed.phys & 0xfff), 0);
        p.insnCount = seed.insns.length;
        work.add(seed);
        while (!work.isEmpty()) {
            Block b = work.poll();
            for (int t : successors(b)) {
                if (!inPage(t) || p.indexByOffset.containsKey(t)) continue;
                if (p.blocks.size() >= MAX_BLOCKS) continue;
                Block s = source.blockAt(t);
                if (s == null || p.insnCount + s.insns.length > insnLimit) continue;
                p.indexByOffset.put(t, p.blocks.size());
                p.blocks.add(s);
                p.insnCount += s.insns.length;
                work.add(s);
            }
        }
        int n = p.blocks.size();
        p.offset = new int[n];
        p.succ = new int[n][];
        for (int k = 0; k < n; k++) {
            p.offset[k] = (int) (p.blocks.get(k).phys & 0xfff);
            p.succ[k] = successors(p.blocks.get(k));
        }
        int translated = 0;
        for (Block b : p.blocks) for (Insn i : b.insns) if (translatable(i)) translated++;
        if (translated * 2 < p.insnCount) return null;   // mostly interpreter calls: no gain
        liveness(p);
        return p;
    }

    private static boolean writesFlags(Insn i) {
        return switch (i.op) {
            case Ops.ALU_RR64, Ops.ALU_RR32, Ops.ALU_RI64, Ops.ALU_RI32, Ops.ALU_RM64, Ops.ALU_RM32, Ops.TEST_RR64,
                 Ops.TEST_RR32, Ops.INC, Ops.DEC, Ops.ALU_RM_R, Ops.ALU_RM_I, Ops.TEST_RM_R, Ops.TEST_RM_I, Ops.NEG -> translatable(i);
            default -> false;
        };
    }

    /** Reads the flags, or may fault or leave the region (where the flags must be exact). */
    private static boolean observesFlags(Insn i) {
        if (!translatable(i)) return true;
        return switch (i.op) {
            case Ops.JCC, Ops.INC, Ops.DEC, Ops.LOAD64, Ops.LOAD32, Ops.STORE64, Ops.STORE32, Ops.ALU_RM64,
                 Ops.ALU_RM32, Ops.PUSH64, Ops.POP64, Ops.CALL64, Ops.RET64 -> true;
            case Ops.ALU_RR64, Ops.ALU_RR32, Ops.ALU_RI64, Ops.ALU_RI32 -> i.sub == 2 || i.sub == 3;
            case Ops.ALU_RM_R, Ops.ALU_RM_I, Ops.SETCC, Ops.CMOV, Ops.SHIFT_CL -> true;
            case Ops.SHIFT_I -> i.sub == 2 || i.sub == 3;
            case Ops.MOVZX, Ops.MOVSX, Ops.TEST_RM_R, Ops.TEST_RM_I, Ops.MOV_RM_R -> i.rm < 0;
            default -> false;
        };
    }

    private boolean hasExit(Plan p, int k) {
        int[] s = p.succ[k];
        if (s.length == 0) return true;
        for (int t : s) if (!p.indexByOffset.containsKey(t)) return true;
        Insn last = p.blocks.get(k).insns[p.blocks.get(k).insns.length - 1];
        return !translatable(last);
    }

    private void liveness(Plan p) {
        int n = p.blocks.size();
        p.liveIn = new boolean[n];
        p.liveOut = new boolean[n];
        p.flagsNeeded = new boolean[n][];
        boolean changed = true;
        while (changed) {
            changed = false;
            for (int k = n - 1; k >= 0; k--) {
                boolean out = hasExit(p, k);
                for (int t : p.succ[k]) {
                    Integer j = p.indexByOffset.get(t);
                    if (j != null && p.liveIn[j]) out = true;
                }
                Insn[] insns = p.blocks.get(k).insns;
                boolean[] needed = new boolean[insns.length];
                boolean live = out;
                for (int x = insns.length - 1; x >= 0; x--) {
                    needed[x] = live;
                    if (flagsTransparent(insns[x])) continue;   // interpreted where live, so it neither kills nor reads
                    if (writesFlags(insns[x])) live = false;
                    if (observesFlags(insns[x])) live = true;
                }
                p.flagsNeeded[k] = needed;
                p.liveOut[k] = out;
                if (live != p.liveIn[k]) { p.liveIn[k] = live; changed = true; }
            }
        }
    }

    // ------------------------------------------------------------------ code generation

    private RegionCode build(Plan p, Block seed, boolean hot) {
        int total = p.insnCount;
        Insn[] all = new Insn[total];
        int[] ripOff = new int[total], inBlock = new int[total];
        int pc = 0;
        for (int k = 0; k < p.blocks.size(); k++) {
            Insn[] insns = p.blocks.get(k).insns;
            for (int x = 0; x < insns.length; x++, pc++) {
                all[pc] = insns[x];
                ripOff[pc] = p.offset[k] + insns[x].offset;
                inBlock[pc] = x;
            }
        }
        // The registers the region reads or writes (loaded into locals) and those it writes (stored back at exits).
        boolean[] used = new boolean[17], written = new boolean[17];
        for (Insn i : all) {
            if (!translatable(i)) continue;
            for (int r : new int[] {i.reg, i.rm, i.base, i.index}) if (r >= 0 && gpr(r) < 16) used[gpr(r)] = true;
            switch (i.op) {
                case Ops.PUSH64, Ops.POP64, Ops.CALL64, Ops.RET64 -> { used[RSP] = true; written[RSP] = true; }
                case Ops.MUL1 -> { used[RAX] = used[RDX] = true; written[RAX] = written[RDX] = true; }
                case Ops.SHIFT_CL -> used[CpuState.RCX] = true;
                default -> { }
            }
            switch (i.op) {
                case Ops.MOV_RR64, Ops.MOV_RR32, Ops.LOAD64, Ops.LOAD32, Ops.LEA64, Ops.POP64, Ops.MOV_R_I, Ops.IMUL_R_RM,
                     Ops.IMUL_R_RM_I, Ops.MOVZX, Ops.MOVSX, Ops.CMOV -> written[i.reg] = true;
                case Ops.ALU_RR64, Ops.ALU_RR32, Ops.ALU_RI64, Ops.ALU_RI32, Ops.ALU_RM64, Ops.ALU_RM32 -> { if (i.sub != 7) written[i.reg] = true; }
                case Ops.INC, Ops.DEC, Ops.SHIFT_I, Ops.SHIFT_CL, Ops.SETCC, Ops.NEG, Ops.NOT -> written[gpr(i.rm)] = true;
                case Ops.ALU_RM_R, Ops.ALU_RM_I -> { if (i.rm >= 0 && i.sub != 7) written[gpr(i.rm)] = true; }
                case Ops.MOV_RM_R -> { if (i.rm >= 0) written[gpr(i.rm)] = true; }
                case Ops.LEA -> written[i.reg] = true;
                default -> { }
            }
        }
        // The name decides HotSpot's tier: HotSpotTiers keeps C2 away from "Region$..." classes, not from "HotRegion$...".
        String name = "org.vireo.x86.cpu." + (hot ? HotSpotTiers.HOT_PREFIX : HotSpotTiers.QUICK_PREFIX) + "$"
                + Long.toHexString(seed.phys) + "$" + sequence.getAndIncrement();
        byte[] bytes;
        try {
            bytes = classFile.build(ClassDesc.of(name), cb -> {
                cb.withFlags(ClassFile.ACC_FINAL | ClassFile.ACC_SUPER);
                cb.withSuperclass(CD_CODE);
                cb.withMethodBody(INIT_NAME, INIT, ClassFile.ACC_PUBLIC, c -> {
                    c.aload(0);
                    c.aload(1);
                    c.aload(2);
                    c.aload(3);
                    c.aload(4);
                    c.invokespecial(CD_CODE, INIT_NAME, INIT);
                    c.return_();
                });
                cb.withMethodBody("run", RUN, ClassFile.ACC_FINAL, c -> new Emitter(c, p, all, used, written).emit());
            });
        } catch (IllegalArgumentException e) {
            return null;   // e.g. a branch offset out of range: try a smaller region
        }
        if (DUMP_DIR != null) {
            try {
                java.nio.file.Files.write(java.nio.file.Path.of(DUMP_DIR, name + ".class"), bytes);   // for javap -c
            } catch (java.io.IOException | RuntimeException e) {
                // diagnostics only
            }
        }
        int codeLength = codeLength(bytes);
        if (codeLength > MAX_BYTECODE) return null;
        try {
            Class<?> k = lookup.defineHiddenClass(bytes, false).lookupClass();
            RegionCode rc = (RegionCode) lookup.findConstructor(k, MethodType.methodType(void.class, Insn[].class, int[].class,
                    int[].class, Block.class)).invoke(all, ripOff, inBlock, seed);
            rc.bytecodeBytes = codeLength;
            rc.blockCount = p.blocks.size();
            rc.hot = hot;
            rc.blocks = p.blocks.toArray(new Block[0]);
            return rc;
        } catch (Throwable e) {
            throw new IllegalStateException("region compiler: cannot define " + name, e);
        }
    }

    private static int codeLength(byte[] bytes) {
        ClassModel cm = ClassFile.of().parse(bytes);
        for (MethodModel mm : cm.methods()) {
            if (mm.methodName().equalsString("run")) {
                return mm.findAttribute(Attributes.code()).map(a -> a.codeLength()).orElse(0);
            }
        }
        return 0;
    }

    /** Emits run(): one instance per region. */
    private static final class Emitter {
        private final CodeBuilder c;
        private final Plan p;
        private final Insn[] all;
        private final boolean[] used, written;
        private final Label[] blockLabels;
        private final Label exit;
        /** Translation-time flag state: the lazy record is in the CC locals with this op, or (-1) in CpuState. */
        private int known = -1;
        private int pc;

        Emitter(CodeBuilder c, Plan p, Insn[] all, boolean[] used, boolean[] written) {
            this.c = c;
            this.p = p;
            this.all = all;
            this.used = used;
            this.written = written;
            this.blockLabels = new Label[p.blocks.size()];
            for (int k = 0; k < blockLabels.length; k++) blockLabels[k] = c.newLabel();
            this.exit = c.newLabel();
        }

        private static int slot(int r) { return REG0 + 2 * r; }

        void emit() {
            c.aload(CPU); c.getfield(CD_INTERP, "R", CD_LONG_ARRAY); c.astore(REGS);
            c.aload(CPU); c.getfield(CD_INTERP, "s", CD_STATE); c.astore(STATE);
            c.aload(CPU); c.getfield(CD_INTERP, "m", CD_MMU); c.astore(MMU);
            for (int slot : new int[] {RETIRED, CC_DST, CC_A, CC_B, T1, T2, T3, EXIT_RIP}) { c.lconst_0(); c.lstore(slot); }
            c.iconst_0(); c.istore(PC);
            c.iconst_m1(); c.istore(CC_KNOWN);
            c.iconst_0(); c.istore(COND);
            c.iconst_0(); c.istore(EXIT_BLOCK);
            for (int r = 0; r < 16; r++) if (used[r]) { c.aload(REGS); c.loadConstant(r); c.laload(); c.lstore(slot(r)); }
            Label tryStart = c.newLabel(), tryEnd = c.newLabel(), handler = c.newLabel();
            // The seed block must fit the budget; later blocks are checked where control moves to them.
            c.lload(PAGE); c.loadConstant((long) p.offset[0]); c.ladd(); c.lstore(EXIT_RIP);
            c.loadConstant((long) p.blocks.get(0).insns.length); c.lload(MAX); c.lcmp(); c.ifgt(exit);
            c.labelBinding(tryStart);
            for (int k = 0; k < p.blocks.size(); k++) emitBlock(k);
            c.labelBinding(tryEnd);
            // Exit: registers back, RIP, instructions retired.
            c.labelBinding(exit);
            writeBack();
            c.aload(STATE); c.lload(EXIT_RIP); c.putfield(CD_STATE, "rip", CD_long);
            c.aload(CPU); c.iload(EXIT_BLOCK); c.putfield(CD_INTERP, "regionExitBlock", CD_int);
            c.lload(RETIRED);
            c.lreturn();
            // A guest fault: write back, flags from the locals if they hold the record, RIP of the faulting instruction.
            c.labelBinding(handler);
            c.astore(EXC);
            writeBack();
            Label flagsInState = c.newLabel();
            c.iload(CC_KNOWN); c.iflt(flagsInState);
            c.aload(STATE); c.iload(CC_KNOWN); c.lload(CC_DST); c.lload(CC_A); c.lload(CC_B);
            c.invokestatic(CD_SUPPORT, "setFlags", SET_FLAGS);
            c.labelBinding(flagsInState);
            c.aload(STATE);
            c.lload(PAGE);
            c.aload(0); c.getfield(CD_CODE, "ripOffset", CD_INT_ARRAY); c.iload(PC); c.iaload(); c.i2l();
            c.ladd();
            c.putfield(CD_STATE, "rip", CD_long);
            c.aload(CPU);
            c.lload(RETIRED);
            c.aload(0); c.getfield(CD_CODE, "indexInBlock", CD_INT_ARRAY); c.iload(PC); c.iaload(); c.i2l();
            c.ladd();
            c.putfield(CD_INTERP, "regionRetired", CD_long);
            c.aload(EXC);
            c.athrow();
            c.exceptionCatch(tryStart, tryEnd, handler, CD_CPU_EXC);
        }

        private void writeBack() {
            for (int r = 0; r < 16; r++) if (written[r]) { c.aload(REGS); c.loadConstant(r); c.lload(slot(r)); c.lastore(); }
        }

        private void reload() {
            for (int r = 0; r < 16; r++) if (used[r]) { c.aload(REGS); c.loadConstant(r); c.laload(); c.lstore(slot(r)); }
        }

        /** Moves a lazy record held in locals into CpuState (before anything that reads it there). */
        private void materialize() {
            if (known < 0) return;
            c.aload(STATE); c.loadConstant(known); c.lload(CC_DST); c.lload(CC_A); c.lload(CC_B);
            c.invokestatic(CD_SUPPORT, "setFlags", SET_FLAGS);
            c.iconst_m1(); c.istore(CC_KNOWN);
            known = -1;
        }

        /** Records a lazy flag record now in CC_DST/CC_A/CC_B. */
        private void setKnown(int op) {
            known = op;
            c.loadConstant(op); c.istore(CC_KNOWN);
        }

        private void reg(int r) {
            if (r == NOREG) c.lconst_0();
            else c.lload(slot(r));
        }

        /** Leaves the region: RIP from EXIT_RIP (already stored), {@code done} more instructions retired. */
        private void exitAfter(int done) {
            materialize();
            if (done != 0) { c.lload(RETIRED); c.loadConstant((long) done); c.ladd(); c.lstore(RETIRED); }
            c.goto_(exit);
        }

        private void setExitRip(long pageOffset) {
            c.lload(PAGE); c.loadConstant(pageOffset); c.ladd(); c.lstore(EXIT_RIP);
        }

        private void emitBlock(int k) {
            Block b = p.blocks.get(k);
            Insn[] insns = b.insns;
            c.labelBinding(blockLabels[k]);
            if (k > 0) { c.loadConstant(k); c.istore(EXIT_BLOCK); }   // the block an exit leaves from: chaining continues from it
            known = -1;
            c.iconst_m1(); c.istore(CC_KNOWN);
            for (int x = 0; x < insns.length; x++, pc++) {
                Insn i = insns[x];
                long off = (long) p.offset[k] + i.offset;
                if (mayFault(i)) { c.loadConstant(pc); c.istore(PC); }   // the fault handler's only input
                boolean last = x == insns.length - 1;
                if (!translatable(i) || (flagsTransparent(i) && p.flagsNeeded[k][x] && !eagerFlags(i))) {
                    fallback(i, off, x, last);
                    if (last) { pc++; return; }   // the fallback left the region
                    continue;
                }
                emitInsn(i, off, x, p.flagsNeeded[k][x], last);
            }
            endBlock(k);
        }

        private void fallback(Insn i, long off, int x, boolean last) {
            writeBack();
            materialize();
            c.aload(STATE); c.lload(PAGE); c.loadConstant(off); c.ladd(); c.putfield(CD_STATE, "rip", CD_long);
            c.aload(CPU); c.lload(PAGE); c.loadConstant(off + i.len); c.ladd(); c.putfield(CD_INTERP, "nextRip", CD_long);
            c.aload(CPU); c.aload(0); c.getfield(CD_CODE, "insns", CD_INSN.arrayType()); c.loadConstant(pc); c.aaload();
            c.invokevirtual(CD_INTERP, "regionExec", EXEC);
            reload();
            if (last) {
                c.aload(CPU); c.getfield(CD_INTERP, "nextRip", CD_long); c.lstore(EXIT_RIP);
                exitAfter(x + 1);
                return;
            }
            Label go = c.newLabel();
            c.aload(CPU); c.getfield(CD_INTERP, "endBlock", CD_boolean);
            c.aload(MMU); c.getfield(CD_MMU, "codeWritten", CD_boolean);
            c.ior();
            c.ifeq(go);
            c.aload(CPU); c.getfield(CD_INTERP, "nextRip", CD_long); c.lstore(EXIT_RIP);
            exitAfter(x + 1);
            c.labelBinding(go);
        }

        /** After a store: if it hit a code page, leave with RIP at the next instruction. */
        private void checkCodeWritten(long nextOff, int done) {
            Label go = c.newLabel();
            c.aload(MMU); c.getfield(CD_MMU, "codeWritten", CD_boolean);
            c.ifeq(go);
            int saved = known;
            setExitRip(nextOff);
            exitAfter(done);
            known = saved;   // the exit path materialised; the fall-through path still has the record in locals
            c.labelBinding(go);
        }

        /** Pushes the effective address of a memory operand (as the interpreter's ea()). */
        private void effectiveAddress(Insn i, long off) {
            c.loadConstant(i.disp);
            if (i.base != NOREG) { reg(i.base); c.ladd(); }
            if (i.index != NOREG) {
                reg(i.index);
                if (i.scale != 0) { c.loadConstant(i.scale); c.lshl(); }
                c.ladd();
            }
            if (i.ripRel) { c.lload(PAGE); c.loadConstant(off + i.len); c.ladd(); c.ladd(); }
            if (i.addrMask != -1L) { c.loadConstant(i.addrMask); c.land(); }
        }

        /** Pushes the linear address of a memory operand (as the interpreter's lin(), 64-bit mode). */
        private void address(Insn i, long off) {
            effectiveAddress(i, off);
            if (i.seg != SEG_FLAT) {
                c.aload(STATE); c.getfield(CD_STATE, "segBase", CD_LONG_ARRAY); c.loadConstant(i.seg); c.laload();
                c.ladd();
            }
            if (i.linMask != -1L) { c.loadConstant(i.linMask); c.land(); }
        }

        private void mask32() { c.loadConstant(0xffffffffL); c.land(); }

        /** Pushes register {@code r} as an operand of {@code size} bytes, zero-extended (r of a byte operand: AH..BH = 0x20 | n). */
        private void readReg(int r, int size) {
            switch (size) {
                case 1 -> {
                    reg(gpr(r));
                    if ((r & 0x20) != 0) { c.loadConstant(8); c.lushr(); }
                    c.loadConstant(0xffL); c.land();
                }
                case 2 -> { reg(r); c.loadConstant(0xffffL); c.land(); }
                case 4 -> { reg(r); mask32(); }
                default -> reg(r);
            }
        }

        /** Pops a value into register {@code r} as the interpreter's setReg: 8 bytes whole, 4 zero-extended, 2 and 1 merged. */
        private void writeReg(int r, int size) {
            switch (size) {
                case 8 -> c.lstore(slot(r));
                case 4 -> { mask32(); c.lstore(slot(r)); }
                default -> {
                    int g = gpr(r);
                    int shift = size == 1 && (r & 0x20) != 0 ? 8 : 0;
                    long field = (size == 1 ? 0xffL : 0xffffL) << shift;
                    if (shift != 0) { c.loadConstant(shift); c.lshl(); }
                    c.loadConstant(field); c.land();
                    reg(g); c.loadConstant(~field); c.land();
                    c.lor();
                    c.lstore(slot(g));
                }
            }
        }

        /** Pushes the r/m operand of {@code i} (register or memory) zero-extended to 64 bits. */
        private void readRm(Insn i, long off) {
            if (i.rm >= 0) { readReg(i.rm, i.size); return; }
            c.aload(MMU); address(i, off);
            switch (i.size) {
                case 1 -> { c.invokevirtual(CD_MMU, "read8", READ32); c.i2l(); }
                case 2 -> { c.invokevirtual(CD_MMU, "read16", READ32); c.i2l(); }
                case 4 -> { c.invokevirtual(CD_MMU, "read32", READ32); c.i2l(); mask32(); }
                default -> c.invokevirtual(CD_MMU, "read64", READ64);
            }
        }

        /**
         * Pushes ALU operation {@code sub} (0 ADD, 1 OR, 2 ADC, 3 SBB, 4 AND, 5 SUB, 6 XOR, 7 CMP) of T1 and T2 (carry-in
         * in T3 for ADC/SBB), as the interpreter's alu computes it, in plain bytecode (a helper with a switch is not
         * inlined by C1, where regions start).
         */
        private void aluOp(int sub, long mask) {
            c.lload(T1); c.lload(T2);
            switch (sub) {
                case 1 -> c.lor();
                case 4 -> c.land();
                case 6 -> c.lxor();
                case 0 -> c.ladd();
                case 2 -> { c.ladd(); c.lload(T3); c.ladd(); }
                case 3 -> { c.lsub(); c.lload(T3); c.lsub(); }
                default -> c.lsub();
            }
            if (mask != -1L && sub != 1 && sub != 4 && sub != 6) { c.loadConstant(mask); c.land(); }
        }

        /** ALU on a byte or word register (the interpreter's aluRmR/aluRmI: same operands, same lazy record). */
        private void aluRegister(Insn i, boolean flagsNeeded) {
            int sub = i.sub, szi = i.szi;
            readReg(i.rm, i.size); c.lstore(T1);
            if (i.op == Ops.ALU_RM_R) readReg(i.reg, i.size); else c.loadConstant(i.imm);
            c.lstore(T2);
            if (sub == 2 || sub == 3) carry(); else c.lconst_0();
            c.lstore(T3);
            if (!flagsNeeded && sub == 7) return;
            aluOp(sub, CpuState.MASK[szi]);
            if (flagsNeeded) {
                c.lstore(CC_DST);
                c.lload(T1); c.lstore(CC_A);
                c.lload(T2); c.lstore(CC_B);
                setKnown(RegionSupport.aluKind(sub) << 2 | szi);
                if (sub == 7) return;
                c.lload(CC_DST);
            }
            writeReg(i.rm, i.size);
        }

        /** Pushes CF (0 or 1) as a long. */
        private void carry() {
            if (known >= 0) {
                c.loadConstant(known); c.lload(CC_DST); c.lload(CC_A); c.lload(CC_B);
                c.invokestatic(CD_SUPPORT, "carryIn", CARRY_IN);
            } else {
                Label one = c.newLabel(), done = c.newLabel();
                c.aload(STATE); c.invokevirtual(CD_STATE, "carry", STATE_CARRY);
                c.ifne(one);
                c.lconst_0(); c.goto_(done);
                c.labelBinding(one);
                c.lconst_1();
                c.labelBinding(done);
            }
        }

        private void emitInsn(Insn i, long off, int x, boolean flagsNeeded, boolean last) {
            long next = off + i.len;
            switch (i.op) {
                case Ops.MOV_RR64 -> { reg(i.rm); c.lstore(slot(i.reg)); }
                case Ops.MOV_RR32 -> { reg(i.rm); mask32(); c.lstore(slot(i.reg)); }
                case Ops.MOV_R_I -> { c.loadConstant(i.size == 8 ? i.imm : i.imm & 0xffffffffL); c.lstore(slot(i.reg)); }
                case Ops.LOAD64 -> { c.aload(MMU); address(i, off); c.invokevirtual(CD_MMU, "read64", READ64); c.lstore(slot(i.reg)); }
                case Ops.LOAD32 -> {
                    c.aload(MMU); address(i, off); c.invokevirtual(CD_MMU, "read32", READ32);
                    c.i2l(); mask32(); c.lstore(slot(i.reg));
                }
                case Ops.STORE64, Ops.STORE32 -> {
                    c.aload(MMU); address(i, off); reg(i.reg);
                    c.invokevirtual(CD_MMU, i.op == Ops.STORE64 ? "write64" : "write32", WRITE);
                    checkCodeWritten(next, x + 1);
                }
                case Ops.ALU_RR64, Ops.ALU_RI64, Ops.ALU_RM64, Ops.ALU_RR32, Ops.ALU_RI32, Ops.ALU_RM32 -> alu(i, off, flagsNeeded);
                case Ops.TEST_RR64, Ops.TEST_RR32 -> {
                    if (flagsNeeded) {
                        reg(i.reg); reg(i.rm); c.land();
                        if (i.op == Ops.TEST_RR32) mask32();
                        c.lstore(CC_DST);
                        setKnown(K_LOGIC << 2 | (i.op == Ops.TEST_RR32 ? 2 : 3));
                    }
                }
                case Ops.INC, Ops.DEC -> {
                    int szi = i.size == 8 ? 3 : 2;
                    boolean dec = i.op == Ops.DEC;
                    if (flagsNeeded) { carry(); c.lstore(T3); }
                    reg(i.rm);
                    if (szi == 2) mask32();
                    c.lstore(T1);
                    c.lload(T1); c.lconst_1();
                    if (dec) c.lsub(); else c.ladd();
                    if (szi == 2) mask32();
                    c.lstore(slot(i.rm));
                    if (flagsNeeded) {
                        c.lload(slot(i.rm)); c.lstore(CC_DST);
                        c.lload(T1); c.lstore(CC_A);
                        c.lload(T3); c.lstore(CC_B);
                        setKnown((dec ? K_DEC : K_INC) << 2 | szi);
                    }
                }
                case Ops.LEA64 -> { effectiveAddress(i, off); c.lstore(slot(i.reg)); }
                case Ops.PUSH64 -> {
                    reg(i.reg); c.lstore(T2);
                    reg(RSP); c.loadConstant(8L); c.lsub(); c.lstore(T1);
                    c.aload(MMU); c.lload(T1); c.lload(T2); c.invokevirtual(CD_MMU, "write64", WRITE);
                    c.lload(T1); c.lstore(slot(RSP));
                    checkCodeWritten(next, x + 1);
                }
                case Ops.POP64 -> {
                    reg(RSP); c.lstore(T1);
                    c.aload(MMU); c.lload(T1); c.invokevirtual(CD_MMU, "read64", READ64); c.lstore(T2);
                    c.lload(T1); c.loadConstant(8L); c.ladd(); c.lstore(slot(RSP));
                    c.lload(T2); c.lstore(slot(i.reg));
                }
                case Ops.CALL64 -> {
                    reg(RSP); c.loadConstant(8L); c.lsub(); c.lstore(T1);
                    c.aload(MMU); c.lload(T1); c.lload(PAGE); c.loadConstant(next); c.ladd(); c.invokevirtual(CD_MMU, "write64", WRITE);
                    c.lload(T1); c.lstore(slot(RSP));
                    // A store into code ends the region at the call target, as the interpreter's block would.
                    checkCodeWritten(next + i.imm, x + 1);
                }
                case Ops.RET64 -> {
                    reg(RSP); c.lstore(T1);
                    c.aload(MMU); c.lload(T1); c.invokevirtual(CD_MMU, "read64", READ64); c.lstore(EXIT_RIP);
                    c.lload(T1); c.loadConstant(8L); c.ladd(); c.lstore(slot(RSP));
                }
                case Ops.ALU_RM_R, Ops.ALU_RM_I -> {
                    if (i.rm >= 0) aluRegister(i, flagsNeeded);
                    else aluMemory(i, off, next, x);
                }
                case Ops.TEST_RM_R, Ops.TEST_RM_I -> {
                    if (!flagsNeeded && i.rm >= 0) break;
                    readRm(i, off);   // a memory operand is read even when the flags are dead: it may fault
                    if (i.op == Ops.TEST_RM_R) readReg(i.reg, i.size); else c.loadConstant(i.imm);
                    c.land();
                    if (flagsNeeded) { c.lstore(CC_DST); setKnown(K_LOGIC << 2 | i.szi); } else c.pop2();
                }
                case Ops.MOV_RM_R -> {
                    if (i.rm >= 0) {
                        readReg(i.reg, i.size);
                        writeReg(i.rm, i.size);
                    } else {
                        c.aload(MMU); address(i, off); readReg(i.reg, i.size);
                        c.invokevirtual(CD_MMU, switch (i.size) { case 1 -> "write8"; case 2 -> "write16"; case 4 -> "write32"; default -> "write64"; }, WRITE);
                        checkCodeWritten(next, x + 1);
                    }
                }
                case Ops.NEG -> {   // SUB from 0, as the interpreter's
                    readReg(i.rm, i.size); c.lstore(T2);
                    c.lconst_0(); c.lload(T2); c.lsub(); c.loadConstant(CpuState.MASK[i.szi]); c.land();
                    if (flagsNeeded) {
                        c.lstore(CC_DST);
                        c.lconst_0(); c.lstore(CC_A);
                        c.lload(T2); c.lstore(CC_B);
                        setKnown(RegionSupport.aluKind(5) << 2 | i.szi);
                        c.lload(CC_DST);
                    }
                    writeReg(i.rm, i.size);
                }
                case Ops.NOT -> { readReg(i.rm, i.size); c.loadConstant(-1L); c.lxor(); writeReg(i.rm, i.size); }
                case Ops.LEA -> { effectiveAddress(i, off); writeReg(i.reg, i.size); }
                case Ops.SHIFT_I -> {
                    int szi = i.size == 8 ? 3 : 2;
                    boolean eager = flagsNeeded || i.sub == 2 || i.sub == 3;
                    if (eager) { materialize(); c.aload(STATE); }
                    reg(i.rm);
                    if (szi == 2) mask32();
                    c.loadConstant(i.sub); c.loadConstant((int) i.imm & (szi == 3 ? 63 : 31)); c.loadConstant(szi);
                    if (eager) c.invokevirtual(CD_STATE, "shiftAndSetFlags", SHIFT_FLAGS);
                    else c.invokestatic(CD_SUPPORT, "shift", SHIFT);
                    c.lstore(slot(i.rm));
                }
                case Ops.SHIFT_CL -> {
                    // A count of 0 (after masking) changes nothing but a 32-bit destination's upper half.
                    int szi = i.size == 8 ? 3 : 2;
                    materialize();
                    reg(CpuState.RCX); c.l2i(); c.loadConstant(szi == 3 ? 63 : 31); c.iand(); c.istore(COUNT);
                    reg(i.rm); if (szi == 2) mask32(); c.lstore(T1);
                    Label zero = c.newLabel(), done = c.newLabel();
                    c.iload(COUNT); c.ifeq(zero);
                    c.aload(STATE); c.lload(T1); c.loadConstant(i.sub); c.iload(COUNT); c.loadConstant(szi);
                    c.invokevirtual(CD_STATE, "shiftAndSetFlags", SHIFT_FLAGS);
                    c.lstore(slot(i.rm));
                    c.goto_(done);
                    c.labelBinding(zero);
                    c.lload(T1); c.lstore(slot(i.rm));
                    c.labelBinding(done);
                }
                case Ops.MUL1 -> {
                    boolean q = i.size == 8;
                    reg(RAX); if (!q) mask32(); c.lstore(T1);
                    reg(i.rm); if (!q) mask32(); c.lstore(T2);
                    if (q) {
                        c.lload(T1); c.lload(T2); c.invokestatic(CD_MATH, "unsignedMultiplyHigh", MUL_HIGH); c.lstore(T3);
                        c.lload(T1); c.lload(T2); c.lmul(); c.lstore(slot(RAX));
                        c.lload(T3); c.lstore(slot(RDX));
                    } else {
                        c.lload(T1); c.lload(T2); c.lmul(); c.lstore(T3);
                        c.lload(T3); mask32(); c.lstore(slot(RAX));
                        c.lload(T3); c.loadConstant(32); c.lushr(); c.lstore(slot(RDX));
                    }
                }
                case Ops.IMUL_R_RM, Ops.IMUL_R_RM_I -> {
                    boolean q = i.size == 8;
                    if (flagsNeeded) {   // the interpreter's IMUL, flags and all
                        materialize();
                        c.aload(STATE);
                        if (i.op == Ops.IMUL_R_RM) { reg(i.reg); reg(i.rm); } else { reg(i.rm); c.loadConstant(i.imm); }
                        c.loadConstant(q ? 3 : 2);
                        c.invokevirtual(CD_STATE, "imul", IMUL_FLAGS);
                        c.lstore(slot(i.reg));
                        return;
                    }
                    if (i.op == Ops.IMUL_R_RM) reg(i.reg); else reg(i.rm);
                    if (!q) { c.l2i(); c.i2l(); }
                    if (i.op == Ops.IMUL_R_RM) reg(i.rm); else c.loadConstant(i.imm);
                    if (!q) { c.l2i(); c.i2l(); }
                    c.lmul();
                    if (!q) mask32();
                    c.lstore(slot(i.reg));
                }
                case Ops.MOVZX, Ops.MOVSX -> {
                    if (i.rm >= 0) {
                        int r = i.rm;
                        reg(gpr(r));
                        if ((r & 0x20) != 0 && i.size2 == 1) { c.loadConstant(8); c.lushr(); }
                        c.loadConstant(i.size2 == 1 ? 0xffL : i.size2 == 2 ? 0xffffL : 0xffffffffL); c.land();
                    } else {
                        c.aload(MMU); address(i, off);
                        c.invokevirtual(CD_MMU, i.size2 == 1 ? "read8" : i.size2 == 2 ? "read16" : "read32", READ32);
                        c.i2l();
                    }
                    if (i.op == Ops.MOVSX) {
                        int sh = 64 - 8 * i.size2;
                        c.loadConstant(sh); c.lshl(); c.loadConstant(sh); c.lshr();
                    }
                    if (i.size == 4) mask32();
                    c.lstore(slot(i.reg));
                }
                case Ops.SETCC -> {
                    condition(i.sub);
                    int r = gpr(i.rm);
                    boolean high = (i.rm & 0x20) != 0;
                    reg(r); c.loadConstant(high ? ~0xff00L : ~0xffL); c.land();
                    c.iload(COND); c.i2l();
                    if (high) { c.loadConstant(8); c.lshl(); }
                    c.lor();
                    c.lstore(slot(r));
                }
                case Ops.CMOV -> {
                    boolean q = i.size == 8;
                    if (i.rm >= 0) reg(i.rm);
                    else { c.aload(MMU); address(i, off); c.invokevirtual(CD_MMU, q ? "read64" : "read32", q ? READ64 : READ32); if (!q) c.i2l(); }
                    if (!q) mask32();
                    c.lstore(T1);
                    condition(i.sub);
                    Label keep = c.newLabel(), done = c.newLabel();
                    c.iload(COND); c.ifeq(keep);
                    c.lload(T1); c.lstore(slot(i.reg)); c.goto_(done);
                    c.labelBinding(keep);
                    if (!q) { reg(i.reg); mask32(); c.lstore(slot(i.reg)); }
                    c.labelBinding(done);
                }
                case Ops.JCC -> condition(i.sub);   // leaves the outcome in COND; endBlock() branches
                case Ops.JMP_REL, Ops.NOP, Ops.PAUSE, Ops.FENCE -> { }
                default -> throw new IllegalStateException("not translatable: " + i);
            }
        }

        /**
         * ALU with a memory destination: read, compute, record the flags, write (the interpreter's order, so a fault on
         * the write leaves the new flags, as there), then leave if the write hit code.
         */
        private void aluMemory(Insn i, long off, long next, int x) {
            boolean q = i.size == 8;
            int szi = q ? 3 : 2, sub = i.sub;
            address(i, off); c.lstore(EXIT_RIP);   // the address, kept in a spare local until the write
            c.aload(MMU); c.lload(EXIT_RIP); c.invokevirtual(CD_MMU, q ? "read64" : "read32", q ? READ64 : READ32);
            if (!q) { c.i2l(); mask32(); }
            c.lstore(T1);
            if (i.op == Ops.ALU_RM_R) { reg(i.reg); if (!q) mask32(); } else c.loadConstant(i.imm);
            c.lstore(T2);
            if (sub == 2 || sub == 3) carry(); else c.lconst_0();
            c.lstore(T3);
            aluOp(sub, q ? -1L : 0xffffffffL);
            c.lstore(CC_DST);
            c.lload(T1); c.lstore(CC_A);
            c.lload(T2); c.lstore(CC_B);
            setKnown(RegionSupport.aluKind(sub) << 2 | szi);
            if (sub != 7) {
                c.aload(MMU); c.lload(EXIT_RIP); c.lload(CC_DST);
                c.invokevirtual(CD_MMU, q ? "write64" : "write32", WRITE);
                checkCodeWritten(next, x + 1);
            }
        }

        private void alu(Insn i, long off, boolean flagsNeeded) {
            boolean q = i.op == Ops.ALU_RR64 || i.op == Ops.ALU_RI64 || i.op == Ops.ALU_RM64;
            int szi = q ? 3 : 2;
            int sub = i.sub;
            // a -> T1, b -> T2, carry-in -> T3
            reg(i.reg);
            if (!q) mask32();
            c.lstore(T1);
            switch (i.op) {
                case Ops.ALU_RR64 -> reg(i.rm);
                case Ops.ALU_RR32 -> { reg(i.rm); mask32(); }
                case Ops.ALU_RI64, Ops.ALU_RI32 -> c.loadConstant(i.imm);
                case Ops.ALU_RM64 -> { c.aload(MMU); address(i, off); c.invokevirtual(CD_MMU, "read64", READ64); }
                default -> { c.aload(MMU); address(i, off); c.invokevirtual(CD_MMU, "read32", READ32); c.i2l(); mask32(); }
            }
            c.lstore(T2);
            if (sub == 2 || sub == 3) carry(); else c.lconst_0();
            c.lstore(T3);
            if (!flagsNeeded && sub == 7) return;
            aluOp(sub, q ? -1L : 0xffffffffL);
            if (flagsNeeded) {
                c.lstore(CC_DST);
                c.lload(T1); c.lstore(CC_A);
                c.lload(T2); c.lstore(CC_B);
                setKnown(RegionSupport.aluKind(sub) << 2 | szi);
                if (sub != 7) { c.lload(CC_DST); c.lstore(slot(i.reg)); }
            } else {
                c.lstore(slot(i.reg));
            }
        }

        /** Evaluates condition {@code cc} into COND (0 or 1). */
        private void condition(int cc) {
            int helper = known >= 0 ? RegionSupport.condHelper(known >>> 2, cc) : -1;
            int szi = known & 3;
            switch (helper) {
                case 1, 2, 3 -> inlineCondition(helper, cc, szi);
                case 0 -> {
                    c.loadConstant(known); c.lload(CC_DST); c.lload(CC_A); c.lload(CC_B); c.loadConstant(cc);
                    c.invokestatic(CD_STATE, "cond", COND_GENERIC);
                }
                default -> { c.aload(STATE); c.loadConstant(cc); c.invokevirtual(CD_STATE, "cond", STATE_COND); }
            }
            c.istore(COND);
        }

        /**
         * Pushes condition {@code cc} (0 or 1) of the lazy record in the CC locals, for the cases
         * {@link RegionSupport#condHelper} picks: 1 ZF/SF of any record (from the result), 2 CF/ZF/SF/OF conditions
         * of a SUB record (compares of its operands), 3 a logical record (CF = OF = 0). Compares and branches in the
         * region itself, since C1, where regions start, does not inline a helper with a switch.
         */
        private void inlineCondition(int helper, int cc, int szi) {
            Label yes = c.newLabel(), end = c.newLabel();
            int base = cc >>> 1;
            if (helper == 1 || (helper == 3 && base != 0 && base != 1)) {
                if (base == 2 || base == 3 || base == 7) { c.lload(CC_DST); c.lconst_0(); c.lcmp(); c.ifeq(yes); }
                if (base == 4 || base == 6 || base == 7) {
                    c.lload(CC_DST); c.loadConstant(1L << ((8 << szi) - 1)); c.land(); c.lconst_0(); c.lcmp(); c.ifne(yes);
                }
            } else if (helper == 2) {
                boolean signed = base == 6 || base == 7;
                compareOperand(CC_A, signed, szi);
                compareOperand(CC_B, signed, szi);
                c.lcmp();
                if (base == 1 || base == 6) c.iflt(yes); else c.ifle(yes);
            }   // helper 3 with base 0 or 1 (OF, CF of a logical operation): never set
            boolean negate = (cc & 1) != 0;
            c.loadConstant(negate ? 1 : 0); c.goto_(end);
            c.labelBinding(yes);
            c.loadConstant(negate ? 0 : 1);
            c.labelBinding(end);
        }

        /** Pushes a SUB record operand for lcmp: sign-extended from its size, or biased so lcmp compares unsigned. */
        private void compareOperand(int slot, boolean signed, int szi) {
            c.lload(slot);
            if (!signed) { c.loadConstant(Long.MIN_VALUE); c.ladd(); return; }
            switch (szi) {
                case 0 -> { c.l2i(); c.i2b(); c.i2l(); }
                case 1 -> { c.l2i(); c.i2s(); c.i2l(); }
                case 2 -> { c.l2i(); c.i2l(); }
                default -> { }
            }
        }

        /** The end of block k: retire it, then go to its successors (inside the region) or leave. */
        private void endBlock(int k) {
            Block b = p.blocks.get(k);
            Insn last = b.insns[b.insns.length - 1];
            c.lload(RETIRED); c.loadConstant((long) b.insns.length); c.ladd(); c.lstore(RETIRED);
            if (p.liveOut[k]) materialize();
            long next = (long) p.offset[k] + last.offset + last.len;
            switch (last.op) {
                case Ops.RET64 -> c.goto_(exit);   // EXIT_RIP holds the return address
                case Ops.JCC -> {
                    Label notTaken = c.newLabel();
                    c.iload(COND);
                    c.ifeq(notTaken);
                    transfer(next + last.imm);
                    c.labelBinding(notTaken);
                    transfer(next);
                }
                case Ops.JMP_REL, Ops.CALL64 -> transfer(next + last.imm);
                default -> transfer(next);
            }
        }

        /** Continues at page offset {@code target}: inside the region if it is there and nothing is pending, else leaves. */
        private void transfer(long target) {
            Integer j = inPage(target) ? p.indexByOffset.get((int) target) : null;
            setExitRip(target);
            if (j != null) {
                // Stay inside while the next block fits the budget and no event (interrupt, stop, DMA into code) waits.
                Label leave = c.newLabel();
                c.lload(RETIRED); c.loadConstant((long) p.blocks.get(j).insns.length); c.ladd(); c.lload(MAX); c.lcmp();
                c.ifgt(leave);
                c.aload(CPU); c.invokevirtual(CD_INTERP, "regionEventPending", EVENTS);
                c.ifeq(blockLabels[j]);
                c.labelBinding(leave);
            }
            // Leaving: the flag record becomes architectural (an interrupt may push RFLAGS).
            int saved = known;
            materialize();
            known = saved;
            c.goto_(exit);
        }
    }
}
