package org.vireo.vmm;

import org.vireo.x86.boot.BootPlan;

/** The machine's processor as the runner drives it: set up for the kernel's entry, run, stop from outside. */
interface Vcpu {
    enum Exit {
        /** {@link #stop()} was called. */
        STOPPED,
        /** Triple fault: a PC resets. */
        TRIPLE_FAULT,
        /** HLT with interrupts disabled: nothing can wake it. */
        HALTED
    }

    /** Sets the registers the boot plan asks for. */
    void load(BootPlan plan);

    /** Runs the guest on the calling thread until it stops for good; guest errors propagate as exceptions. */
    Exit run();

    /** Thread-safe: makes {@link #run()} return {@link Exit#STOPPED} soon. */
    void stop();

    /** Registers and counters, for error messages. */
    String describe();

    /** Guest instructions executed so far, or -1 where the accelerator does not count them (KVM). */
    default long instructionsRetired() { return -1; }

    /** Releases what the processor holds outside the JVM (a KVM VM); called once the run is over. */
    default void close() {}
}
