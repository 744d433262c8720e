package org.vireo.bus;

/** A level-triggered interrupt line (a GSI). Edge-style devices raise then lower. */
public interface InterruptLine {
    void set(boolean level);

    default void raise() { set(true); }

    default void lower() { set(false); }

    default void pulse() {
        set(true);
        set(false);
    }
}
