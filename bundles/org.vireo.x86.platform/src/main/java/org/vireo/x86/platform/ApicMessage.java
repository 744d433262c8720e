package org.vireo.x86.platform;

/**
 * An interrupt message on the APIC bus: from an IOAPIC redirection entry, an MSI, or a local APIC's ICR.
 *
 * @param destination  the APIC ID (physical mode) or logical destination bits; 0xff is a physical broadcast
 * @param logical      logical destination mode
 * @param deliveryMode fixed 0, lowest priority 1, SMI 2, NMI 4, INIT 5, start-up 6, ExtINT 7
 * @param vector       the vector, 0-255
 * @param level        level-triggered (the EOI goes back to the IOAPIC)
 * @param shorthand    ICR destination shorthand: 0 none, 1 self, 2 all including self, 3 all excluding self
 * @param sourceApic   the sending local APIC's ID for IPIs (self and all-excluding-self), -1 otherwise
 */
public record ApicMessage(int destination, boolean logical, int deliveryMode, int vector, boolean level, int shorthand,
                          int sourceApic) {
    /** A message from an IOAPIC or an MSI: no shorthand, no source APIC. */
    public static ApicMessage fromDevice(int destination, boolean logical, int deliveryMode, int vector, boolean level) {
        return new ApicMessage(destination, logical, deliveryMode, vector, level, 0, -1);
    }
}
