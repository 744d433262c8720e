package org.vireo.kvm;

/** Why {@link KvmVcpu#run()} returned. */
public enum StopReason {
    /** The guest executed HLT with nothing to wake it (only reported without an in-kernel irqchip). */
    HALTED,
    /** The guest shut the machine down: triple fault, or a shutdown/reset system event. */
    SHUTDOWN,
    /** {@link KvmVcpu#requestStop()} was called. */
    STOPPED,
    /** The host's KVM could not run the guest further; {@link KvmVcpu#lastError()} says why. */
    ERROR
}
