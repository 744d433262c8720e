package org.vireo.x86.cpu;

/** Why {@link X86Cpu#run(long)} returned. */
public enum StopReason {
    /** The instruction budget was used up. */
    BUDGET,
    /** {@link X86Cpu#requestStop()} was called. */
    STOPPED,
    /** Triple fault (or an unrecoverable machine state): the platform decides between reset and power-off. */
    SHUTDOWN,
    /** HLT with interrupts disabled: nothing can ever wake the CPU. */
    HALTED
}
