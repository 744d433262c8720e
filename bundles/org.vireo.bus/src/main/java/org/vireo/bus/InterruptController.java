package org.vireo.bus;

/** Where devices send interrupts: numbered lines (GSIs) and message-signalled interrupts. */
public interface InterruptController {
    /** The line for {@code gsi}; the same object for the same number. */
    InterruptLine line(int gsi);

    /** Delivers an MSI message (as written into an MSI-X table entry). */
    void sendMsi(long address, int data);
}
