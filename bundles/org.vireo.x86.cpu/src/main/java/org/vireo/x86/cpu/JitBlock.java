package org.vireo.x86.cpu;

/**
 * A block translated to JVM bytecode by {@link JitCompiler}: a hidden subclass whose {@link #run} executes the
 * block's instructions straight-line, with the same state updates as the interpreter loop (RIP after every
 * instruction, {@link Interpreter#jitIndex} before each one so a fault can be attributed, early exit when an
 * instruction ends the block or overwrote code).
 */
abstract class JitBlock {
    /** The block's decoded instructions; generated code passes those it does not translate to the interpreter. */
    final Insn[] insns;

    protected JitBlock(Insn[] insns) {
        this.insns = insns;
    }

    /** Runs the block entered at linear RIP {@code entry}; returns how many instructions retired. */
    abstract int run(Interpreter cpu, long entry);
}
