package org.vireo.shell.impl;

import java.io.OutputStream;
import org.vireo.vmm.api.VirtualMachine;
import org.vireo.vmm.api.VmConsoleSession;

/**
 * The only class of this bundle that names the VM API (imported optionally: org.vireo.vmm may be absent). Callers
 * hold VMs as Object, so the command classes load without it; this class loads at the first VM operation.
 */
final class VmAccess {
    private VmAccess() { }

    static String state(Object vm) { return ((VirtualMachine) vm).state().name(); }

    static void start(Object vm) { ((VirtualMachine) vm).start(); }

    static void stop(Object vm) { ((VirtualMachine) vm).stop(); }

    static boolean shutdown(Object vm, long graceMillis) { return ((VirtualMachine) vm).shutdown(graceMillis); }

    static String describe(Object vm) { return ((VirtualMachine) vm).describe(); }

    static byte[] output(Object vm) { return ((VirtualMachine) vm).consoleOutput(); }

    /** Attaches {@code out}; the result sends keys (send) and detaches (close). */
    static Console attach(Object vm, OutputStream out) {
        VmConsoleSession s = ((VirtualMachine) vm).attachConsole(out);
        return new Console() {
            @Override public void send(byte[] b, int off, int len) { s.send(b, off, len); }

            @Override public void close() { s.close(); }
        };
    }

    interface Console extends AutoCloseable {
        void send(byte[] b, int off, int len);

        @Override
        void close();
    }
}
