package org.vireo.x86.platform;

/**
 * The interrupt controller's INTR output and INTA cycle, as a CPU consumes them. The same shape as the CPU
 * emulator's {@code InterruptSource}, so the machine adapts one to the other without this bundle depending on it.
 */
public interface InterruptOutput {
    /** True while INTR is asserted. Cheap: called between instructions while interrupts are enabled. */
    boolean interruptPending();

    /** The INTA cycle: the vector to deliver (a spurious vector if the request went away meanwhile), or -1. */
    int acknowledgeInterrupt();
}
