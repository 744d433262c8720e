package org.vireo.kvm;

import java.util.OptionalLong;

/**
 * An eventfd KVM signals when the guest writes an address (KVM_IOEVENTFD): the write completes in the kernel with no
 * exit to user space. Closing deassigns it from the VM, then closes the eventfd.
 */
public final class IoEventFd extends EventFd {
    private final KvmVm vm;
    private final IoSpace space;
    private final long address;
    private final int length;
    private final OptionalLong datamatch;

    IoEventFd(KvmVm vm, IoSpace space, long address, int length, OptionalLong datamatch) {
        this.vm = vm;
        this.space = space;
        this.address = address;
        this.length = length;
        this.datamatch = datamatch;
    }

    public IoSpace space() { return space; }

    public long address() { return address; }

    /** Access width that triggers it (1, 2, 4 or 8), or 0 for any. */
    public int length() { return length; }

    public OptionalLong datamatch() { return datamatch; }

    @Override
    protected void beforeClose() { vm.deassign(this); }

    @Override
    public String toString() {
        return String.format("IoEventFd[%s 0x%x len %d%s]", space, address, length,
                datamatch.isPresent() ? String.format(" data 0x%x", datamatch.getAsLong()) : "");
    }
}
