package org.vireo.vmm.api;

import java.io.OutputStream;

/**
 * A virtual machine configured by an {@code org.vireo.vmm.vm} factory configuration. Registered with the service
 * properties {@value #NAME_PROPERTY} and {@value #STATE_PROPERTY} (kept current), so tools can list VMs without this
 * type. While it runs, its machine is a {@code Machine} service of the same name, so device configurations with that
 * {@code machine.name} get plugged (before the vCPU starts, for those present at start).
 */
public interface VirtualMachine {
    String NAME_PROPERTY = "vm.name";
    String STATE_PROPERTY = "vm.state";
    String FACTORY_PID = "org.vireo.vmm.vm";

    String name();

    VmState state();

    /** Boots the guest on its own thread; refused with IllegalStateException while running. */
    void start();

    /** Stops a running guest and waits (bounded) for the run to end; no effect otherwise. Like pulling the plug. */
    void stop();

    /**
     * Asks a running guest to power off, as the power button of a PC does (ACPI; a guest without ACPI cannot be asked),
     * and waits up to {@code graceMillis} for it; a guest still running then is stopped as by {@link #stop()}.
     *
     * @return true if the guest powered off by itself, false if it had to be stopped (or was not running)
     */
    boolean shutdown(long graceMillis);

    /** Settings, state and how the last run ended, several lines. */
    String describe();

    /** The most recent guest serial output (bounded, e.g. the last 64 KiB). */
    byte[] consoleOutput();

    /**
     * Attaches {@code out}: the buffered output is written to it first, then new output as it comes, with nothing
     * lost or repeated in between.
     */
    VmConsoleSession attachConsole(OutputStream out);
}
