package org.vireo.bus.pci;

/**
 * A PCI-to-PCI bridge function: configuration accesses for bus numbers from its secondary to its subordinate bus
 * (as the guest programmed them) are routed through it. Accesses for the secondary bus itself reach that bus's
 * functions as type 0; higher numbers go on to bridges found there.
 */
public interface PciBridge extends PciFunction {
    /** The secondary bus number register; 0 while the guest has not assigned one (then nothing routes here). */
    int secondaryBusNumber();

    int subordinateBusNumber();

    /** The bus behind the bridge. */
    PciBus secondaryBus();
}
