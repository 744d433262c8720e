package org.vireo.vmm;

import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.vireo.kvm.Kvm;
import org.vireo.kvm.KvmStatus;
import org.vireo.kvm.KvmVcpu;
import org.vireo.kvm.KvmVm;
import org.vireo.kvm.Registers;
import org.vireo.kvm.Segment;
import org.vireo.kvm.SpecialRegisters;
import org.vireo.kvm.StopReason;
import org.vireo.x86.boot.BootPlan;
import org.vireo.x86.platform.DualPic;

/**
 * The machine's processor on KVM: the same guest memory segments, the same port and MMIO buses and the same boot plan
 * as the emulator; only the CPU changes. Interrupts stay in Vireo's PIC (no in-kernel irqchip, so the platform is
 * identical on both accelerators): when the PIC has one pending, it is acknowledged here and queued for injection,
 * and a halted guest waits here for the PIC to wake it.
 */
final class KvmBackedVcpu implements Vcpu {
    private final Kvm kvm;
    private final KvmVm vm;
    private final KvmVcpu vcpu;
    private final DualPic pic;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition wake = lock.newCondition();
    private volatile boolean stopRequested;

    KvmBackedVcpu(X86Machine machine) {
        KvmStatus status = KvmStatus.probe();
        if (!status.available()) throw new IllegalStateException("--accel kvm: " + status.reason());
        if (!status.canBootStockKernels()) {
            // Small guests run; a stock kernel stops at the first instruction this host's KVM cannot emulate.
            System.err.println("vireo: warning: --accel kvm on this host: " + status.reason());
        }
        kvm = Kvm.open();
        vm = kvm.createVm();
        vm.mapMemory(machine.memory());
        vcpu = vm.createVcpu(0, machine.pio(), machine.mmio());
        vcpu.setSupportedCpuid();
        pic = machine.platform().pic();
        pic.setWake(this::interruptArrived);
    }

    private void interruptArrived() {
        lock.lock();
        try {
            wake.signalAll();
        } finally {
            lock.unlock();
        }
        if (pic.interruptPending()) vcpu.requestStop();   // leave KVM_RUN so the interrupt is injected promptly
    }

    @Override
    public void load(BootPlan plan) {
        Registers regs = Registers.initial()
                .with(Registers.Name.RSI, plan.rsi()).with(Registers.Name.RBX, plan.rbx())
                .with(Registers.Name.RSP, plan.rsp()).with(Registers.Name.RIP, plan.rip())
                .with(Registers.Name.RFLAGS, plan.rflags() | Registers.RFLAGS_RESERVED);
        SpecialRegisters s = vcpu.specialRegisters();
        Segment code = segment(plan.code());
        Segment data = segment(plan.data());
        s = new SpecialRegisters(code, data, data, data, data, data, s.tr(), s.ldt(),
                new org.vireo.kvm.DescriptorTable(plan.gdtBase(), plan.gdtLimit()), new org.vireo.kvm.DescriptorTable(0, 0),
                plan.cr0(), 0, plan.cr3(), plan.cr4(), 0, plan.efer(), s.apicBase(), s.interruptBitmap());
        vcpu.setSpecialRegisters(s);
        vcpu.setRegisters(regs);
    }

    /** BootPlan uses the VMX attribute layout: type/S/DPL/P in bits 0-7, AVL/L/DB/G in bits 12-15. */
    static Segment segment(BootPlan.SegmentSetup s) {
        int a = s.attributes();
        return new Segment(s.base(), s.limit(), s.selector(), a & 0xf, (a & 0x80) != 0, a >> 5 & 3, (a & 0x4000) != 0,
                (a & 0x10) != 0, (a & 0x2000) != 0, (a & 0x8000) != 0, (a & 0x1000) != 0, false);
    }

    @Override
    public Exit run() {
        while (true) {
            if (stopRequested) return Exit.STOPPED;
            if (vcpu.pendingInterrupt() < 0 && pic.interruptPending()) {
                int vector = pic.acknowledgeInterrupt();
                if (vector >= 0) vcpu.queueInterrupt(vector);
            }
            StopReason r = vcpu.run();
            switch (r) {
                case HALTED -> waitForInterrupt();
                case SHUTDOWN -> { return Exit.TRIPLE_FAULT; }
                case STOPPED -> { }   // a stop request or an interrupt kick: the loop head decides
                case ERROR -> throw new IllegalStateException(vcpu.lastError().orElse("KVM could not run the guest"));
            }
        }
    }

    private void waitForInterrupt() {
        lock.lock();
        try {
            while (!stopRequested && !pic.interruptPending() && vcpu.pendingInterrupt() < 0) {
                wake.await();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            stopRequested = true;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void stop() {
        stopRequested = true;
        vcpu.requestStop();
        lock.lock();
        try {
            wake.signalAll();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public String describe() {
        return "KVM vCPU " + vcpu.registers() + String.format("%nexits: %,d", vcpu.exitCount())
                + vcpu.lastError().map(e -> "\n" + e).orElse("");
    }

    @Override
    public void close() {
        vcpu.close();
        vm.close();
        kvm.close();
    }
}
