package org.vireo.x86.cpu;

import org.osgi.annotation.versioning.ConsumerType;

/** The interrupt controller's INTR output as the CPU sees it (the platform's 8259 PIC implements it). */
@ConsumerType
public interface InterruptSource {
    /** Cheap; called between instructions while RFLAGS.IF is set. */
    boolean interruptPending();

    /** The INTA cycle: returns the vector to deliver, or -1 if the request went away. */
    int acknowledgeInterrupt();

    /** A source that never interrupts. */
    InterruptSource NONE = new InterruptSource() {
        @Override public boolean interruptPending() { return false; }
        @Override public int acknowledgeInterrupt() { return -1; }
    };
}
