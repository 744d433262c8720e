package org.vireo.bus.pci;

/** One PCI function's configuration space (256 bytes). Sizes 1, 2, 4; offsets aligned to the size by the caller. */
public interface PciFunction {
    int configRead(int offset, int size);

    void configWrite(int offset, int size, int value);

    /** Called when the function leaves the bus: unmap BARs, release resources. */
    default void detached() {}
}
