package org.vireo.bus;

/** Undoes a registration; closing twice is harmless. */
@FunctionalInterface
public interface Registration extends AutoCloseable {
    @Override
    void close();
}
