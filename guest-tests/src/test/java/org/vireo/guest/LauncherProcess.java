package org.vireo.guest;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * The packaged launcher ({@code launch/target/vireo/vireo.jar}) in a JVM of its own, started as {@code java -jar}
 * (no wrapper script, so {@link #process()} is the VMM's JVM itself and {@code destroyForcibly} is a SIGKILL of it).
 * Its output (the guest's serial console and the launcher's messages) is copied to a log file as it comes, and kept
 * for {@link #await} and {@link #output()}.
 */
final class LauncherProcess implements AutoCloseable {
    private final Process process;
    private final Thread pump;
    private final StringBuilder text = new StringBuilder();
    private final List<String> lines = new ArrayList<>();
    private boolean ended;

    private LauncherProcess(Process process, Path log) throws IOException {
        this.process = process;
        OutputStream file = Files.newOutputStream(log);
        this.pump = Thread.ofPlatform().daemon().name("launcher-output").start(() -> pump(process.getInputStream(), file));
    }

    /** The launcher's directory (launch/target/vireo); skips the calling test when it has not been built. */
    static Path home() {
        Path home = Path.of(System.getProperty("vireo.home", "../launch/target/vireo")).toAbsolutePath().normalize();
        GuestKit.assumeAvailable("no launcher at " + home.resolve("vireo.jar") + " (build the launch module: mvn install)",
                Files.isRegularFile(home.resolve("vireo.jar")));
        return home;
    }

    /** The command line that runs the launcher with this JVM's java: {@code java ... -jar vireo.jar --deploy DIR ARGS}. */
    static List<String> command(Path home, Path deploy, List<String> args) {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=deny",
                "-jar", home.resolve("vireo.jar").toString(), "--deploy", deploy.toString()));
        command.addAll(args);
        return command;
    }

    /** Starts the launcher with {@code args} (stdin /dev/null, stderr merged into stdout) and copies its output to {@code log}. */
    static LauncherProcess start(Path home, Path deploy, Path log, String... args) throws IOException {
        Process process = new ProcessBuilder(command(home, deploy, List.of(args))).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        return new LauncherProcess(process, log);
    }

    Process process() { return process; }

    private void pump(InputStream in, OutputStream file) {
        byte[] buf = new byte[8192];
        StringBuilder line = new StringBuilder();
        try (in; file) {
            for (int n; (n = in.read(buf)) > 0; ) {
                file.write(buf, 0, n);
                file.flush();
                String chunk = new String(buf, 0, n, StandardCharsets.UTF_8);
                synchronized (this) {
                    text.append(chunk);
                    for (char c : chunk.toCharArray()) {
                        if (c == '\n') {
                            lines.add(line.toString().strip());
                            line.setLength(0);
                        } else {
                            line.append(c);
                        }
                    }
                    notifyAll();
                }
            }
        } catch (IOException e) {
            // the process died: its pipe is closed
        } finally {
            synchronized (this) {
                if (!line.isEmpty()) lines.add(line.toString().strip());
                ended = true;
                notifyAll();
            }
        }
    }

    /**
     * Waits (bounded, as a failure guard) until a complete output line matches {@code line}; returns it, or null on
     * timeout or when the output ended first.
     */
    synchronized String await(Predicate<String> line, long seconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        int checked = 0;
        while (true) {
            for (; checked < lines.size(); checked++) {
                if (line.test(lines.get(checked))) return lines.get(checked);
            }
            long left = deadline - System.nanoTime();
            if (ended || left <= 0) return null;
            wait(Math.max(1, left / 1_000_000));
        }
    }

    /** The complete lines so far. */
    synchronized List<String> lines() { return List.copyOf(lines); }

    synchronized String output() { return text.toString(); }

    /** Waits for the process to end and its output to be read to the end; false if it did not end in time. */
    boolean waitFor(long seconds) throws InterruptedException {
        if (!process.waitFor(seconds, TimeUnit.SECONDS)) return false;
        pump.join(TimeUnit.SECONDS.toMillis(10));
        return true;
    }

    /** SIGKILLs the process if it still runs, and waits for it and its output. */
    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) process.destroyForcibly();
        waitFor(30);
    }
}
