package org.vireo.kvm;

/** GDTR or IDTR: base and limit ({@code struct kvm_dtable}). */
public record DescriptorTable(long base, int limit) {
    public DescriptorTable {
        if (limit < 0 || limit > 0xFFFF) throw new IllegalArgumentException("limit out of range: " + limit);
    }
}
