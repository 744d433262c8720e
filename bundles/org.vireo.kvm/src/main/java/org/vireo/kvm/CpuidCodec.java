package org.vireo.kvm;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.MemorySegment;
import org.vireo.kvm.internal.KvmAbi;

/** Reads and writes {@code struct kvm_cpuid_entry2}. */
final class CpuidCodec {
    private static final long FUNCTION = KvmAbi.offset(KvmAbi.CPUID_ENTRY2, "function");
    private static final long INDEX = KvmAbi.offset(KvmAbi.CPUID_ENTRY2, "index");
    private static final long FLAGS = KvmAbi.offset(KvmAbi.CPUID_ENTRY2, "flags");
    private static final long EAX = KvmAbi.offset(KvmAbi.CPUID_ENTRY2, "eax");
    private static final long EBX = KvmAbi.offset(KvmAbi.CPUID_ENTRY2, "ebx");
    private static final long ECX = KvmAbi.offset(KvmAbi.CPUID_ENTRY2, "ecx");
    private static final long EDX = KvmAbi.offset(KvmAbi.CPUID_ENTRY2, "edx");

    private CpuidCodec() {}

    static CpuidEntry read(MemorySegment s) {
        return new CpuidEntry(s.get(JAVA_INT, FUNCTION), s.get(JAVA_INT, INDEX), s.get(JAVA_INT, FLAGS),
                s.get(JAVA_INT, EAX), s.get(JAVA_INT, EBX), s.get(JAVA_INT, ECX), s.get(JAVA_INT, EDX));
    }

    static void write(MemorySegment s, CpuidEntry e) {
        s.fill((byte) 0);
        s.set(JAVA_INT, FUNCTION, e.function());
        s.set(JAVA_INT, INDEX, e.index());
        s.set(JAVA_INT, FLAGS, e.flags());
        s.set(JAVA_INT, EAX, e.eax());
        s.set(JAVA_INT, EBX, e.ebx());
        s.set(JAVA_INT, ECX, e.ecx());
        s.set(JAVA_INT, EDX, e.edx());
    }
}
