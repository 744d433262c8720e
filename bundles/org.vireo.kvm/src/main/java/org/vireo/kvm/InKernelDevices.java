package org.vireo.kvm;

import java.util.List;

/**
 * What {@link KvmVm#createInKernelDevices()} managed to create: the in-kernel irqchip (PIC, IOAPIC, LAPIC) and the
 * in-kernel PIT, with a note for each one the host refused.
 */
public record InKernelDevices(boolean irqchip, boolean pit, List<String> notes) {
    public InKernelDevices {
        notes = List.copyOf(notes);
    }
}
