package org.vireo.difftest;

import java.util.Map;

/**
 * Everything needed to start a second CPU where the first one stands: the registers plus the hidden parts
 * (segment descriptor caches, descriptor tables, task and LDT registers) that the GDB stub does not show and
 * QEMU's monitor does.
 *
 * @param segments   es, cs, ss, ds, fs, gs, "ldt", "tr" to their descriptor caches
 */
public record MachineState(RegisterSet registers, Map<String, SegmentCache> segments, Table gdt, Table idt) {
    /**
     * A segment register with its hidden part. {@code attributes} is in the VMX/KVM layout: descriptor bits 40..47
     * (type, S, DPL, P) in bits 0..7 and bits 52..55 (AVL, L, D/B, G) in bits 12..15. {@code limit} in bytes.
     */
    public record SegmentCache(int selector, long base, int limit, int attributes) {
        @Override
        public String toString() {
            return String.format("%04x base=%x limit=%x attr=%04x", selector, base, limit, attributes);
        }
    }

    public record Table(long base, int limit) { }
}
