package org.vireo.vmm;

import java.io.PrintStream;
import java.util.concurrent.CompletableFuture;

/**
 * A {@link VmRunner} on the CPU emulator whose machine gets a hot-plug slot before the guest boots, and hands the
 * machine out, so a test can plug devices into the running guest (plain Java, as {@code DirectWiring} does).
 */
public final class HotplugRunner {
    private final CompletableFuture<X86Machine> machine = new CompletableFuture<>();
    private final VmRunner runner;

    public HotplugRunner(PrintStream console, PrintStream log) {
        runner = new VmRunner(console, log, null, m -> {
            m.addHotplugSlot();
            machine.complete(m);
            return new EmulatedVcpu(m);
        });
    }

    public int run(String... args) { return runner.run(args); }

    public void stop() { runner.stop(); }

    /** Completes when the machine (with its slot) exists, before the vCPU starts. */
    public CompletableFuture<X86Machine> machine() { return machine; }
}
