package org.vireo.kvm;

/**
 * The general registers of an x86-64 vCPU with {@code rip} and {@code rflags} (KVM's {@code struct kvm_regs}).
 * Immutable; change one register with {@link #with}.
 */
public record Registers(long rax, long rbx, long rcx, long rdx, long rsi, long rdi, long rsp, long rbp,
                        long r8, long r9, long r10, long r11, long r12, long r13, long r14, long r15,
                        long rip, long rflags) {
    /** RFLAGS bit 1 is reserved and always set. */
    public static final long RFLAGS_RESERVED = 0x2;
    public static final long RFLAGS_IF = 0x200;

    /** The names in {@code struct kvm_regs} order. */
    public enum Name { RAX, RBX, RCX, RDX, RSI, RDI, RSP, RBP, R8, R9, R10, R11, R12, R13, R14, R15, RIP, RFLAGS }

    /** All zero but the reserved RFLAGS bit: a clean start state to build on. */
    public static Registers initial() {
        return fromArray(new long[Name.values().length]).with(Name.RFLAGS, RFLAGS_RESERVED);
    }

    public long get(Name name) { return toArray()[name.ordinal()]; }

    public Registers with(Name name, long value) {
        long[] v = toArray();
        v[name.ordinal()] = value;
        return fromArray(v);
    }

    public Registers withRip(long value) { return with(Name.RIP, value); }

    public Registers withRsp(long value) { return with(Name.RSP, value); }

    public Registers withRflags(long value) { return with(Name.RFLAGS, value); }

    /** The values in {@link Name} order. */
    public long[] toArray() {
        return new long[] {rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp, r8, r9, r10, r11, r12, r13, r14, r15, rip, rflags};
    }

    public static Registers fromArray(long[] v) {
        if (v.length != Name.values().length) throw new IllegalArgumentException("need " + Name.values().length + " values");
        return new Registers(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13],
                v[14], v[15], v[16], v[17]);
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("Registers[");
        long[] v = toArray();
        for (Name n : Name.values()) {
            if (n.ordinal() > 0) sb.append(' ');
            sb.append(n.name().toLowerCase()).append("=0x").append(Long.toHexString(v[n.ordinal()]));
        }
        return sb.append(']').toString();
    }
}
