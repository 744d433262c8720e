package org.vireo.kvm;

import org.vireo.bus.IoBus;
import org.vireo.memory.GuestMemory;

/** {@link TestAccelerator} on KVM, without an in-kernel irqchip: interrupts are injected from user space (KVM_INTERRUPT). */
final class KvmTestAccelerator extends TestAccelerator {
    final KvmStatus status;
    final TestGuest guest;

    KvmTestAccelerator(KvmStatus status, long ramBytes) {
        this.status = status;
        this.guest = new TestGuest(ramBytes);
    }

    @Override Kind kind() { return Kind.KVM; }

    @Override GuestMemory memory() { return guest.memory; }

    @Override IoBus pio() { return guest.pio; }

    @Override IoBus mmio() { return guest.mmio; }

    @Override
    void enter(Asm.Mode mode) { guest.enter(mode); }

    @Override
    void setIdt(long base, int limit) {
        KvmVcpu v = guest.vcpu();
        SpecialRegisters s = v.specialRegisters();
        v.setSpecialRegisters(s.withTables(s.tr(), s.ldt(), s.gdt(), new DescriptorTable(base, limit)));
    }

    @Override
    Exit run() {
        return switch (guest.vcpu().run()) {
            case HALTED -> Exit.HALTED;
            case STOPPED -> Exit.STOPPED;
            case SHUTDOWN -> Exit.SHUTDOWN;
            case ERROR -> Exit.ERROR;
        };
    }

    @Override void requestStop() { guest.vcpu().requestStop(); }

    @Override void interrupt(int vector) { guest.vcpu().queueInterrupt(vector); }

    @Override long rip() { return guest.vcpu().registers().rip(); }

    @Override
    long gpr(Asm.R register) {
        Registers r = guest.vcpu().registers();
        return switch (register) {
            case AX -> r.rax();
            case CX -> r.rcx();
            case DX -> r.rdx();
            case BX -> r.rbx();
            case SP -> r.rsp();
            case BP -> r.rbp();
            case SI -> r.rsi();
            case DI -> r.rdi();
        };
    }

    @Override long efer() { return guest.vcpu().specialRegisters().efer(); }

    @Override
    String describe() {
        KvmVcpu v = guest.vcpu();
        return "KVM " + v.lastError().orElse("(no error)") + "; registers " + v.registers();
    }

    @Override void closeCpu() { guest.close(); }
}
