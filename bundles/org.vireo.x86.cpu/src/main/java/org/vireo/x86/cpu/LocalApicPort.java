package org.vireo.x86.cpu;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * The local APIC's side of the CPU: the registers reached through MSRs rather than its MMIO page (IA32_APIC_BASE and
 * IA32_TSC_DEADLINE), and its ID for CPUID. With one attached ({@link X86Cpu#attachLocalApic}), CPUID reports the
 * APIC and the TSC-deadline timer; its interrupts reach the CPU through the {@link InterruptSource}.
 */
@ConsumerType
public interface LocalApicPort {
    /** The initial APIC ID (CPUID leaf 1 EBX bits 31-24). */
    int apicId();

    long apicBase();

    /** @throws IllegalArgumentException where WRMSR raises #GP (reserved bits) */
    void setApicBase(long value);

    long tscDeadline();

    /** @param tscNow the CPU's time stamp counter at the write, which the deadline is compared with */
    void setTscDeadline(long deadline, long tscNow);
}
