package org.vireo.vmm;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * Puts the controlling terminal into a raw-ish mode while the guest owns the console (keys go to the guest one at
 * a time, unechoed, Ctrl-C included; output processing stays on) and restores it afterwards, also on JVM exit.
 * Does nothing when standard input is not a terminal.
 */
final class HostTerminal implements AutoCloseable {
    private static final File TTY = new File("/dev/tty");

    private final String saved;
    private final Thread restoreOnExit;

    private HostTerminal(String saved) {
        this.saved = saved;
        this.restoreOnExit = saved == null ? null : new Thread(this::restore, "vireo-terminal-restore");
        if (restoreOnExit != null) Runtime.getRuntime().addShutdownHook(restoreOnExit);
    }

    /** A terminal left as it is. */
    static HostTerminal untouched() { return new HostTerminal(null); }

    static HostTerminal rawIfInteractive() {
        java.io.Console console = System.console();
        if (console == null || !console.isTerminal() || !TTY.exists()) return new HostTerminal(null);
        String settings = stty("-g");
        if (settings == null || settings.isBlank()) return new HostTerminal(null);
        if (stty("-icanon", "-echo", "-isig", "-iexten", "-ixon", "-icrnl", "min", "1", "time", "0") == null) {
            return new HostTerminal(null);
        }
        return new HostTerminal(settings.trim());
    }

    boolean raw() { return saved != null; }

    private void restore() {
        if (saved != null) stty(saved);
    }

    @Override
    public void close() {
        restore();
        if (restoreOnExit != null) {
            try {
                Runtime.getRuntime().removeShutdownHook(restoreOnExit);
            } catch (IllegalStateException e) {
                // already shutting down: the hook runs anyway
            }
        }
    }

    /** Runs stty on the terminal; returns its output, or null if it failed. */
    private static String stty(String... args) {
        String[] command = new String[args.length + 1];
        command[0] = "stty";
        System.arraycopy(args, 0, command, 1, args.length);
        try {
            Process p = new ProcessBuilder(command).redirectInput(TTY).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(5, TimeUnit.SECONDS) || p.exitValue() != 0) return null;
            return out;
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }
}
