package org.vireo.guest;

import static org.junit.Assume.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.Assert;
import org.vireo.vmm.VmRunner;

/**
 * The reference guest built by scripts/guest-kit (found as {@code vireo run} finds it: {@code VIREO_GUEST_KIT}, else
 * {@code $XDG_CACHE_HOME/vireo/guest-kit} or {@code ~/.cache/vireo/guest-kit}), and helpers shared by the guest tests.
 */
final class GuestKit {
    /** Generous bound for one boot and its command (a boot takes about 45 s on a loaded 2-core machine). */
    static final int RUN_SECONDS = 300;

    private GuestKit() {}

    /** What one {@code vireo run} in this JVM printed (stdout and stderr together) and its exit code. */
    /** What a run printed, its exit code, and the host's clock (epoch seconds) when it had ended. */
    record Run(String output, int exitCode, long endedAtEpochSecond) {}

    /**
     * Runs {@code vireo run ARGS} (VmRunner, in this JVM) on a thread of its own, stopping it if it outlives
     * {@link #RUN_SECONDS} + 30 s; writes its output to the log file {@code logName} and fails if it did not end.
     */
    static Run runVm(String logName, String... args) throws IOException, InterruptedException {
        ByteArrayOutputStream output = new ByteArrayOutputStream();
        PrintStream sink = new PrintStream(output, true, StandardCharsets.UTF_8);
        VmRunner runner = new VmRunner(sink, sink);
        AtomicInteger exitCode = new AtomicInteger(-1);
        Thread vm = new Thread(() -> exitCode.set(runner.run(args)), logName);
        vm.start();
        vm.join(TimeUnit.SECONDS.toMillis(RUN_SECONDS + 30));
        if (vm.isAlive()) {
            runner.stop();
            vm.join(TimeUnit.SECONDS.toMillis(10));
        }
        String out = output.toString(StandardCharsets.UTF_8);
        Files.writeString(logFile(logName), out);
        if (exitCode.get() == -1) Assert.fail("the VM did not end within " + (RUN_SECONDS + 30) + " s" + tail(out, 40));
        return new Run(out, exitCode.get(), java.time.Instant.now().getEpochSecond());
    }

    static Path directory() {
        String dir = System.getenv("VIREO_GUEST_KIT");
        if (dir != null && !dir.isEmpty()) return Path.of(dir);
        String cache = System.getenv("XDG_CACHE_HOME");
        Path base = cache != null && !cache.isEmpty() ? Path.of(cache) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("vireo").resolve("guest-kit");
    }

    /** Skips the calling test, saying what is missing, unless the kit's kernel and initramfs are there. */
    static void assumePresent() {
        Path kit = directory();
        String why = System.getProperty("vireo.guest.kit.unavailable", "");
        boolean present = Files.isRegularFile(kit.resolve("bzImage")) && Files.isRegularFile(kit.resolve("initramfs.cpio.gz"));
        assumeAvailable("no guest kit (bzImage, initramfs.cpio.gz) in " + kit
                + (why.isBlank() ? "; build it with scripts/guest-kit" : "; scripts/guest-kit failed: " + why), present);
    }

    /** Skips the calling test unless {@code available}, saying so on the build's console too (not only in the report). */
    static void assumeAvailable(String whatIsMissing, boolean available) {
        if (!available) System.err.println("[guest test skipped] " + whatIsMissing);
        assumeTrue("guest test skipped: " + whatIsMissing, available);
    }

    /** Where a test keeps its guest's full output, for reading after a failure. */
    static Path logFile(String name) throws IOException {
        Path dir = Path.of(System.getProperty("vireo.guest.tests.dir", "target/guest-tests"));
        Files.createDirectories(dir);
        return dir.resolve(name + ".log");
    }

    static String md5(byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(data));
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    /** What busybox {@code seq 1 N} prints. */
    static byte[] seq(int n) {
        StringBuilder b = new StringBuilder();
        for (int i = 1; i <= n; i++) b.append(i).append('\n');
        return b.toString().getBytes(StandardCharsets.US_ASCII);
    }

    /** The value after "key: " on the first line that starts with it, else null. */
    static String field(String output, String key) {
        return output.lines().map(String::strip).filter(l -> l.startsWith(key + ": ")).findFirst()
                .map(l -> l.substring(key.length() + 2).strip()).orElse(null);
    }

    /** The last {@code lines} lines of the guest output, for failure messages. */
    static String tail(String output, int lines) {
        String[] all = output.split("\n", -1);
        int from = Math.max(0, all.length - lines);
        return "\n--- last " + (all.length - from) + " lines of the guest output ---\n"
                + String.join("\n", java.util.Arrays.copyOfRange(all, from, all.length));
    }
}
