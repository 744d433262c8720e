package org.vireo.x86.cpu;

/** The value of GDTR or IDTR. */
public record DescriptorTable(long base, int limit) {
}
