package org.vireo.kvm;

/**
 * An eventfd wired to a GSI of the in-kernel irqchip (KVM_IRQFD): {@link #signal()} injects an edge on the line
 * from any thread, without a KVM_IRQ_LINE ioctl. Closing deassigns it, then closes the eventfd.
 */
public final class IrqFd extends EventFd {
    private final KvmVm vm;
    private final int gsi;

    IrqFd(KvmVm vm, int gsi) {
        this.vm = vm;
        this.gsi = gsi;
    }

    public int gsi() { return gsi; }

    @Override
    protected void beforeClose() { vm.deassign(this); }

    @Override
    public String toString() { return "IrqFd[gsi " + gsi + "]"; }
}
