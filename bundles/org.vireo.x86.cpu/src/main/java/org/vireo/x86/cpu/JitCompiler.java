package org.vireo.x86.cpu;

import static java.lang.constant.ConstantDescs.CD_boolean;
import static java.lang.constant.ConstantDescs.CD_int;
import static java.lang.constant.ConstantDescs.CD_long;
import static java.lang.constant.ConstantDescs.CD_void;
import static java.lang.constant.ConstantDescs.INIT_NAME;

import java.lang.classfile.ClassFile;
import java.lang.classfile.ClassHierarchyResolver;
import java.lang.classfile.CodeBuilder;
import java.lang.classfile.Label;
import java.lang.constant.ClassDesc;
import java.lang.constant.MethodTypeDesc;
import java.lang.invoke.MethodHandles;

/**
 * First JIT tier: translates a hot 64-bit-mode block into a hidden class (ClassFile API) in this package. The
 * hottest operations (size-specialised moves, loads, stores, ALU, LEA, PUSH/POP/CALL/RET, JMP/Jcc) are emitted
 * inline with register numbers, displacements and immediates as constants; every other instruction calls the
 * interpreter's {@code exec}. The JVM's own JIT then compiles the block as one method.
 */
final class JitCompiler {
    private static final ClassDesc CD_INTERP = desc(Interpreter.class), CD_STATE = desc(CpuState.class),
            CD_MMU = desc(Mmu.class), CD_INSN = desc(Insn.class), CD_BLOCK = desc(JitBlock.class);
    private static final ClassDesc CD_LONG_ARRAY = CD_long.arrayType();
    private static final MethodTypeDesc RUN = MethodTypeDesc.of(CD_int, CD_INTERP, CD_long);
    private static final MethodTypeDesc INIT = MethodTypeDesc.of(CD_void, CD_INSN.arrayType());
    private static final MethodTypeDesc READ64 = MethodTypeDesc.of(CD_long, CD_long);
    private static final MethodTypeDesc READ32 = MethodTypeDesc.of(CD_int, CD_long);
    private static final MethodTypeDesc WRITE = MethodTypeDesc.of(CD_void, CD_long, CD_long);
    private static final MethodTypeDesc ALU = MethodTypeDesc.of(CD_long, CD_int, CD_int, CD_long, CD_long);
    private static final MethodTypeDesc LOGIC = MethodTypeDesc.of(CD_void, CD_long, CD_int);
    private static final MethodTypeDesc EXEC = MethodTypeDesc.of(CD_void, CD_INSN);
    private static final MethodTypeDesc COND = MethodTypeDesc.of(CD_boolean, CD_int);

    // locals of run(): 0 this, 1 cpu, 2-3 entry, 4 R, 5 s, 6 m, 7-8 and 9-10 temporaries
    private static final int CPU = 1, ENTRY = 2, REGS = 4, STATE = 5, MMU = 6, T1 = 7, T2 = 9;

    private final MethodHandles.Lookup lookup = MethodHandles.lookup();
    private final ClassFile classFile = ClassFile.of(ClassFile.ClassHierarchyResolverOption.of(
            ClassHierarchyResolver.ofClassLoading(JitCompiler.class.getClassLoader())));
    private long compiled;

    private static ClassDesc desc(Class<?> c) { return ClassDesc.of(c.getName()); }

    long compiledBlocks() { return compiled; }

    /** Translates {@code b} (64-bit mode); returns null if it cannot (the interpreter keeps the block). */
    JitBlock compile(Block b) {
        Insn[] insns = b.insns;
        byte[] bytes = classFile.build(ClassDesc.of("org.vireo.x86.cpu.JitBlock$" + Long.toHexString(b.phys)), cb -> {
            cb.withFlags(ClassFile.ACC_FINAL | ClassFile.ACC_SUPER);
            cb.withSuperclass(CD_BLOCK);
            cb.withMethodBody(INIT_NAME, INIT, ClassFile.ACC_PUBLIC, c -> {
                c.aload(0);
                c.aload(1);
                c.invokespecial(CD_BLOCK, INIT_NAME, INIT);
                c.return_();
            });
            cb.withMethodBody("run", RUN, ClassFile.ACC_FINAL, c -> emitRun(c, insns));
        });
        try {
            Class<?> k = lookup.defineHiddenClass(bytes, true).lookupClass();
            JitBlock jb = (JitBlock) lookup.findConstructor(k, java.lang.invoke.MethodType.methodType(void.class, Insn[].class))
                    .invoke(insns);
            compiled++;
            return jb;
        } catch (Throwable e) {
            throw new IllegalStateException("JIT: cannot define block class", e);
        }
    }

    private static void emitRun(CodeBuilder c, Insn[] insns) {
        c.aload(CPU);
        c.getfield(CD_INTERP, "R", CD_LONG_ARRAY);
        c.astore(REGS);
        c.aload(CPU);
        c.getfield(CD_INTERP, "s", CD_STATE);
        c.astore(STATE);
        c.aload(CPU);
        c.getfield(CD_INTERP, "m", CD_MMU);
        c.astore(MMU);
        for (int k = 0; k < insns.length; k++) {
            Insn i = insns[k];
            long next = (long) i.offset + i.len;
            // cpu.jitIndex = k; cpu.nextRip = entry + next
            c.aload(CPU);
            c.loadConstant(k);
            c.putfield(CD_INTERP, "jitIndex", CD_int);
            c.aload(CPU);
            c.lload(ENTRY);
            c.loadConstant(next);
            c.ladd();
            c.putfield(CD_INTERP, "nextRip", CD_long);
            emitBody(c, i, k);
            // s.rip = cpu.nextRip
            c.aload(STATE);
            c.aload(CPU);
            c.getfield(CD_INTERP, "nextRip", CD_long);
            c.putfield(CD_STATE, "rip", CD_long);
            if (k < insns.length - 1) {
                // if (cpu.endBlock | m.codeWritten) return k + 1;
                Label go = c.newLabel();
                c.aload(CPU);
                c.getfield(CD_INTERP, "endBlock", CD_boolean);
                c.aload(MMU);
                c.getfield(CD_MMU, "codeWritten", CD_boolean);
                c.ior();
                c.ifeq(go);
                c.loadConstant(k + 1);
                c.ireturn();
                c.labelBinding(go);
            }
        }
        c.loadConstant(insns.length);
        c.ireturn();
    }

    private static void reg(CodeBuilder c, int r) {
        c.aload(REGS);
        c.loadConstant(r);
        c.laload();
    }

    private static void mask32(CodeBuilder c) {
        c.loadConstant(0xffffffffL);
        c.land();
    }

    /** Pushes the linear address of i's memory operand (64-bit mode). */
    private static void lin(CodeBuilder c, Insn i) {
        c.loadConstant(i.disp);
        if (i.base != CpuState.NOREG) { reg(c, i.base); c.ladd(); }
        if (i.index != CpuState.NOREG) {
            reg(c, i.index);
            if (i.scale != 0) { c.loadConstant(i.scale); c.lshl(); }
            c.ladd();
        }
        if (i.ripRel) {
            c.aload(CPU);
            c.getfield(CD_INTERP, "nextRip", CD_long);
            c.ladd();
        }
        if (i.addrMask != -1L) { c.loadConstant(i.addrMask); c.land(); }
        if (i.seg == CpuState.FS || i.seg == CpuState.GS) {
            c.aload(STATE);
            c.getfield(CD_STATE, "segBase", CD_LONG_ARRAY);
            c.loadConstant(i.seg);
            c.laload();
            c.ladd();
        }
    }

    /** Emits: R[dst] = alu(sub, szi, <a>, <b>) unless CMP, with a and b pushed by the callers' lambdas. */
    private static void alu(CodeBuilder c, Insn i, int szi, Runnable a, Runnable b) {
        if (i.sub != 7) { c.aload(REGS); c.loadConstant(i.reg); }
        c.aload(CPU);
        c.loadConstant(i.sub);
        c.loadConstant(szi);
        a.run();
        b.run();
        c.invokevirtual(CD_INTERP, "alu", ALU);
        if (i.sub != 7) c.lastore();
        else c.pop2();
    }

    private static void emitBody(CodeBuilder c, Insn i, int k) {
        switch (i.op) {
            case Ops.MOV_RR64 -> { c.aload(REGS); c.loadConstant(i.reg); reg(c, i.rm); c.lastore(); }
            case Ops.MOV_RR32 -> { c.aload(REGS); c.loadConstant(i.reg); reg(c, i.rm); mask32(c); c.lastore(); }
            case Ops.MOV_R_I -> {
                if (i.size == 8) { c.aload(REGS); c.loadConstant(i.reg); c.loadConstant(i.imm); c.lastore(); }
                else if (i.size == 4) { c.aload(REGS); c.loadConstant(i.reg); c.loadConstant(i.imm & 0xffffffffL); c.lastore(); }
                else fallback(c, k);
            }
            case Ops.LOAD64 -> {
                c.aload(REGS); c.loadConstant(i.reg);
                c.aload(MMU); lin(c, i); c.invokevirtual(CD_MMU, "read64", READ64);
                c.lastore();
            }
            case Ops.LOAD32 -> {
                c.aload(REGS); c.loadConstant(i.reg);
                c.aload(MMU); lin(c, i); c.invokevirtual(CD_MMU, "read32", READ32);
                c.i2l(); mask32(c);
                c.lastore();
            }
            case Ops.STORE64 -> { c.aload(MMU); lin(c, i); reg(c, i.reg); c.invokevirtual(CD_MMU, "write64", WRITE); }
            case Ops.STORE32 -> { c.aload(MMU); lin(c, i); reg(c, i.reg); c.invokevirtual(CD_MMU, "write32", WRITE); }
            case Ops.ALU_RR64 -> alu(c, i, 3, () -> reg(c, i.reg), () -> reg(c, i.rm));
            case Ops.ALU_RR32 -> alu(c, i, 2, () -> { reg(c, i.reg); mask32(c); }, () -> { reg(c, i.rm); mask32(c); });
            case Ops.ALU_RI64 -> alu(c, i, 3, () -> reg(c, i.reg), () -> c.loadConstant(i.imm));
            case Ops.ALU_RI32 -> alu(c, i, 2, () -> { reg(c, i.reg); mask32(c); }, () -> c.loadConstant(i.imm));
            case Ops.ALU_RM64 -> alu(c, i, 3, () -> reg(c, i.reg), () -> { c.aload(MMU); lin(c, i); c.invokevirtual(CD_MMU, "read64", READ64); });
            case Ops.ALU_RM32 -> alu(c, i, 2, () -> { reg(c, i.reg); mask32(c); },
                    () -> { c.aload(MMU); lin(c, i); c.invokevirtual(CD_MMU, "read32", READ32); c.i2l(); mask32(c); });
            case Ops.TEST_RR64 -> { c.aload(CPU); reg(c, i.reg); reg(c, i.rm); c.land(); c.loadConstant(3); c.invokevirtual(CD_INTERP, "logicFlags", LOGIC); }
            case Ops.TEST_RR32 -> { c.aload(CPU); reg(c, i.reg); reg(c, i.rm); c.land(); mask32(c); c.loadConstant(2); c.invokevirtual(CD_INTERP, "logicFlags", LOGIC); }
            case Ops.LEA64 -> { c.aload(REGS); c.loadConstant(i.reg); leaValue(c, i); c.lastore(); }
            case Ops.PUSH64 -> {
                reg(c, i.reg); c.lstore(T2);                                         // v = R[reg]
                reg(c, CpuState.RSP); c.loadConstant(8L); c.lsub(); c.lstore(T1);   // sp = R[RSP] - 8
                c.aload(MMU); c.lload(T1); c.lload(T2); c.invokevirtual(CD_MMU, "write64", WRITE);
                c.aload(REGS); c.loadConstant(CpuState.RSP); c.lload(T1); c.lastore();
            }
            case Ops.POP64 -> {
                reg(c, CpuState.RSP); c.lstore(T1);
                c.aload(MMU); c.lload(T1); c.invokevirtual(CD_MMU, "read64", READ64); c.lstore(T2);
                c.aload(REGS); c.loadConstant(CpuState.RSP); c.lload(T1); c.loadConstant(8L); c.ladd(); c.lastore();
                c.aload(REGS); c.loadConstant(i.reg); c.lload(T2); c.lastore();
            }
            case Ops.CALL64 -> {
                reg(c, CpuState.RSP); c.loadConstant(8L); c.lsub(); c.lstore(T1);
                c.aload(MMU); c.lload(T1); c.aload(CPU); c.getfield(CD_INTERP, "nextRip", CD_long); c.invokevirtual(CD_MMU, "write64", WRITE);
                c.aload(REGS); c.loadConstant(CpuState.RSP); c.lload(T1); c.lastore();
                setNextRip(c, (long) i.offset + i.len + i.imm);
            }
            case Ops.RET64 -> {
                reg(c, CpuState.RSP); c.lstore(T1);
                c.aload(CPU); c.aload(MMU); c.lload(T1); c.invokevirtual(CD_MMU, "read64", READ64); c.putfield(CD_INTERP, "nextRip", CD_long);
                c.aload(REGS); c.loadConstant(CpuState.RSP); c.lload(T1); c.loadConstant(8L); c.ladd(); c.lastore();
            }
            case Ops.JMP_REL -> setNextRip(c, (long) i.offset + i.len + i.imm);
            case Ops.JCC -> {
                Label skip = c.newLabel();
                c.aload(STATE);
                c.loadConstant(i.sub);
                c.invokevirtual(CD_STATE, "cond", COND);
                c.ifeq(skip);
                setNextRip(c, (long) i.offset + i.len + i.imm);
                c.labelBinding(skip);
            }
            case Ops.NOP, Ops.PAUSE, Ops.FENCE -> { }
            default -> fallback(c, k);
        }
    }

    private static void leaValue(CodeBuilder c, Insn i) {
        c.loadConstant(i.disp);
        if (i.base != CpuState.NOREG) { reg(c, i.base); c.ladd(); }
        if (i.index != CpuState.NOREG) {
            reg(c, i.index);
            if (i.scale != 0) { c.loadConstant(i.scale); c.lshl(); }
            c.ladd();
        }
        if (i.ripRel) { c.aload(CPU); c.getfield(CD_INTERP, "nextRip", CD_long); c.ladd(); }
        if (i.addrMask != -1L) { c.loadConstant(i.addrMask); c.land(); }
    }

    private static void setNextRip(CodeBuilder c, long offsetFromEntry) {
        c.aload(CPU);
        c.lload(ENTRY);
        c.loadConstant(offsetFromEntry);
        c.ladd();
        c.putfield(CD_INTERP, "nextRip", CD_long);
    }

    private static void fallback(CodeBuilder c, int k) {
        c.aload(CPU);
        c.aload(0);
        c.getfield(CD_BLOCK, "insns", CD_INSN.arrayType());
        c.loadConstant(k);
        c.aaload();
        c.invokevirtual(CD_INTERP, "exec", EXEC);
    }
}
