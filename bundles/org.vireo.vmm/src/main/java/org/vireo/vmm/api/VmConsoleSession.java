package org.vireo.vmm.api;

/** A console attached to a VM's serial port: guest output goes to the attached stream until closed. */
public interface VmConsoleSession extends AutoCloseable {
    /** Sends keys to the guest's serial port (dropped while the VM is not running). */
    void send(byte[] bytes, int offset, int length);

    /** Detaches: no more output goes to the stream. */
    @Override
    void close();
}
