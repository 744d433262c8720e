package org.vireo.kvm;

/** One CPUID leaf as KVM reports and takes it ({@code struct kvm_cpuid_entry2}). */
public record CpuidEntry(int function, int index, int flags, int eax, int ebx, int ecx, int edx) {
    /** The leaf depends on ECX ({@code index}). */
    public static final int FLAG_SIGNIFICANT_INDEX = 1;

    @Override
    public String toString() {
        return String.format("CpuidEntry[0x%x.%d flags=%d eax=%08x ebx=%08x ecx=%08x edx=%08x]", function, index, flags, eax, ebx, ecx, edx);
    }
}
