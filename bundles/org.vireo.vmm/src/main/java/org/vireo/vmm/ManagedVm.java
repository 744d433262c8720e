package org.vireo.vmm;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.function.Consumer;
import org.vireo.vmm.api.VirtualMachine;
import org.vireo.vmm.api.VmConsoleSession;
import org.vireo.vmm.api.VmState;

/**
 * The life of one configured VM: NEW, then RUNNING on {@link #start()}, STOPPED when the guest reboots, powers off or
 * is stopped, FAILED on errors; startable again from STOPPED or FAILED. Each start makes a fresh {@link Run} (in the
 * framework a {@link VmRunner} with the OSGi wiring), its serial output going to the {@link ConsoleBuffer}.
 */
final class ManagedVm implements VirtualMachine {
    /** One boot of the guest: runs on the calling thread until the guest is done, returning a VmRunner exit code. */
    interface Run {
        int run();

        void stop();

        /** Presses the guest's ACPI power button; false if it has none. */
        default boolean pressPowerButton() { return false; }
    }

    interface RunFactory {
        Run create(VmOptions options, PrintStream console, InputStream keyboard) throws VmSpec.InvalidException;
    }

    private static final long STOP_WAIT_MILLIS = 10_000;

    private final VmSpec spec;
    private final Path kit;
    private final RunFactory runs;
    private final Consumer<VmState> stateListener;
    private final ConsoleBuffer console = new ConsoleBuffer(ConsoleBuffer.DEFAULT_CAPACITY);
    private final PrintStream consoleStream = new PrintStream(console, true, StandardCharsets.UTF_8);
    private VmState state = VmState.NEW;  // guarded by this
    private Run run;                       // guarded by this
    private Thread thread;                 // guarded by this
    private KeyQueue keyboard;             // guarded by this
    private String lastOutcome = "never started"; // guarded by this

    ManagedVm(VmSpec spec, Path kit, RunFactory runs, Consumer<VmState> stateListener) {
        this.spec = spec;
        this.kit = kit;
        this.runs = runs;
        this.stateListener = stateListener;
    }

    @Override public String name() { return spec.name(); }

    @Override public synchronized VmState state() { return state; }

    @Override
    public void start() {
        synchronized (this) {
            if (state == VmState.RUNNING) throw new IllegalStateException("VM " + name() + " is already running");
            KeyQueue keys = new KeyQueue();
            Run r;
            try {
                r = runs.create(spec.options(kit), consoleStream, keys);
            } catch (VmSpec.InvalidException e) {
                throw new IllegalStateException("VM " + name() + " cannot start: " + e.getMessage());
            }
            run = r;
            keyboard = keys;
            thread = new Thread(() -> runToEnd(r), "vireo-vm-" + name());
            state = VmState.RUNNING;
            lastOutcome = "running";
            // Under the lock, so listeners see the states in order (a run may end before start() returns).
            stateListener.accept(VmState.RUNNING);
            thread.start();
        }
    }

    private void runToEnd(Run r) {
        int code;
        try {
            code = r.run();
        } catch (RuntimeException | Error e) {
            consoleStream.println("vireo: the VM failed: " + e);
            code = VmRunner.EXIT_ERROR;
        }
        VmState end = code == VmRunner.EXIT_OK || code == VmRunner.EXIT_STOPPED ? VmState.STOPPED : VmState.FAILED;
        synchronized (this) {
            state = end;
            lastOutcome = "exit code " + code;
            run = null;
            keyboard = null;
            stateListener.accept(end);
            notifyAll();
        }
    }

    @Override
    public void stop() {
        Thread t;
        synchronized (this) {
            if (state != VmState.RUNNING) return;
            run.stop();
            t = thread;
        }
        if (t == Thread.currentThread()) return;
        try {
            t.join(STOP_WAIT_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public boolean shutdown(long graceMillis) {
        if (graceMillis < 0) throw new IllegalArgumentException("negative grace period");
        Thread t;
        boolean pressed;
        synchronized (this) {
            if (state != VmState.RUNNING) return false;
            pressed = run.pressPowerButton();
            t = thread;
        }
        if (pressed && t != Thread.currentThread()) {
            try {
                t.join(graceMillis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        synchronized (this) {
            if (thread != t || state != VmState.RUNNING) return pressed;
        }
        stop();
        return false;
    }

    @Override
    public synchronized String describe() {
        return String.format("VM %s: %s (%s)%n  kernel    %s%n  initrd    %s%n  cmdline   %s%n  memory    %d MiB%n  vcpus     1%n  accelerator %s",
                name(), state, lastOutcome, spec.kernel().isEmpty() ? "(guest kit) " + kit.resolve("bzImage") : spec.kernel(),
                spec.initrd().isEmpty() ? "(guest kit, if present)" : spec.initrd(), spec.cmdline(), spec.memoryMib(),
                spec.accelerator().name().toLowerCase(java.util.Locale.ROOT));
    }

    @Override public byte[] consoleOutput() { return console.snapshot(); }

    @Override
    public VmConsoleSession attachConsole(OutputStream out) {
        try {
            console.attach(out);
        } catch (IOException e) {
            throw new IllegalStateException("cannot write to the console: " + e.getMessage(), e);
        }
        return new VmConsoleSession() {
            @Override
            public void send(byte[] bytes, int offset, int length) {
                KeyQueue keys;
                synchronized (ManagedVm.this) {
                    keys = keyboard;
                }
                if (keys != null) keys.send(bytes, offset, length);
            }

            @Override
            public void close() { console.detach(out); }
        };
    }

    /** Waits (bounded) until the VM is no longer running; true if so. For tests and shutdown. */
    synchronized boolean awaitNotRunning(long millis) throws InterruptedException {
        long deadline = System.currentTimeMillis() + millis;
        while (state == VmState.RUNNING) {
            long left = deadline - System.currentTimeMillis();
            if (left <= 0) return false;
            wait(left);
        }
        return true;
    }
}
