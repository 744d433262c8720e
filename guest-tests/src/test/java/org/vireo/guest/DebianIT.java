package org.vireo.guest;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.File;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * A real Debian 12 system (scripts/guest-kit --debian: systemd, udev, glibc programs, Python) boots on Vireo's CPU
 * emulator through the packaged launcher ({@code vireo run --rootfs}, the default machine: ACPI with a local APIC
 * and IOAPIC, devices on MSI-X, the kernel entered through PVH) and runs its own checks
 * (vireo-checks.service, see docs/DEBIAN-GUEST.md): systemd reaches multi-user.target with no failed unit, journald,
 * dynamic glibc programs and Python work, a set of Python's own regression tests passes, fio verifies what it wrote
 * to a second virtio disk, systemd-networkd gets a DHCP lease from user-mode networking, and the guest downloads a
 * file from a server on the host's loopback (and runs iperf3 against one, when the host has iperf3). After the
 * guest's reboot the root file system must be clean ({@code e2fsck -fn}).
 *
 * <p>CI runs a handful of Python tests chosen to be quick on the emulator; {@code benchmarks/debian.sh} runs the
 * whole list on Vireo and QEMU side by side.
 */
public class DebianIT {
    /**
     * Python regression tests that run here, chosen to be broad (big integers, struct packing, binascii, regular
     * expressions, bisect, heaps) and under ~1.5 min each on the emulator; the quick "python" check already compares a
     * hashlib/zlib/json digest with the host's. test_hashlib, test_zlib and test_json pass too but take 2-3 min each.
     */
    static final String PYTHON_TESTS = "test_int,test_struct,test_binascii,test_re,test_bisect,test_heapq";
    /** A systemd boot plus the checks on the emulator: about 12 minutes on a quiet 2-core machine, so room for a busy one. */
    static final int RUN_SECONDS = Integer.getInteger("vireo.debian.seconds", 2400);

    @Rule
    public TemporaryFolder folder = new TemporaryFolder();

    @Test
    public void debianBootsToMultiUserAndPassesItsChecks() throws Exception {
        GuestKit.assumePresent();
        Path kit = GuestKit.directory();
        Path rootfs = kit.resolve("debian/rootfs.img");
        String why = System.getProperty("vireo.debian.unavailable", "");
        GuestKit.assumeAvailable("no Debian image (debian/rootfs.img, debian/initramfs.cpio.gz) in " + kit
                        + (why.isBlank() ? "; build it with scripts/guest-kit --debian" : "; scripts/guest-kit --debian failed: " + why),
                Files.isRegularFile(rootfs) && Files.isRegularFile(kit.resolve("debian/initramfs.cpio.gz")));
        Path home = Path.of(System.getProperty("vireo.home", "../launch/target/vireo")).toAbsolutePath().normalize();
        GuestKit.assumeAvailable("no launcher at " + home.resolve("vireo.jar") + " (build the launch module: mvn install)",
                Files.isRegularFile(home.resolve("vireo.jar")));

        // The guest writes to its root: boot a sparse copy, never the kit's image.
        Path root = folder.getRoot().toPath().resolve("debian.img");
        run(List.of("cp", "--sparse=always", rootfs.toString(), root.toString()), 300);
        Path data = folder.getRoot().toPath().resolve("data.img");
        try (RandomAccessFile f = new RandomAccessFile(data.toFile(), "rw")) {
            f.setLength(64 << 20);
        }
        byte[] blob = new byte[1 << 20];
        new Random().nextBytes(blob);
        String blobSha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(blob));
        Path log = GuestKit.logFile("DebianIT");

        HttpServer http = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        http.createContext("/blob.bin", exchange -> {
            exchange.sendResponseHeaders(200, blob.length);
            try (var body = exchange.getResponseBody()) {
                body.write(blob);
            }
        });
        http.start();
        Process iperf = startIperfServer();
        try {
            List<String> append = new ArrayList<>(List.of("console=ttyS0", "vireo.checks=full",
                    "vireo.pytests=" + PYTHON_TESTS, "vireo.host=10.0.2.2:" + http.getAddress().getPort() + "/blob.bin",
                    "vireo.host.sha256=" + blobSha));
            if (iperf != null) append.add("vireo.iperf=10.0.2.2:" + iperfPort);
            List<String> vireo = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=deny",
                    "-jar", home.resolve("vireo.jar").toString(), "--deploy", folder.newFolder("deploy").toString(), "run",
                    "--timeout", Integer.toString(RUN_SECONDS), "--rootfs", root.toString(), "--disk", data.toString(),
                    "--net", "user", "--append", String.join(" ", append));
            Process process = new ProcessBuilder(vireo).redirectErrorStream(true).redirectOutput(log.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
            boolean ended = process.waitFor(RUN_SECONDS + 60, TimeUnit.SECONDS);
            if (!ended) process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            String out = Files.readString(log, StandardCharsets.UTF_8);
            String context = GuestKit.tail(out, 60);
            assertTrue("vireo run did not end within " + (RUN_SECONDS + 60) + " s" + context, ended);

            assertTrue("the initramfs found the root disk" + context, out.contains("VIREO-INITRAMFS-ROOT /dev/vda"));
            assertTrue("systemd reached multi-user.target and started the checks" + context, out.contains("VIREO-DEBIAN-READY"));
            Map<String, String> checks = checks(out);
            for (String name : List.of("system-running", "failed-units", "journal", "glibc-ls", "python", "uname",
                    "rootfs", "python-tests", "fio", "dhcp", "download")) {
                assertEquals("check " + name + ": " + checks.get(name) + context, "ok", verdict(checks.get(name)));
            }
            if (iperf != null) assertEquals("check iperf3: " + checks.get("iperf3") + context, "ok", verdict(checks.get("iperf3")));
            assertTrue("every check passed" + context, out.contains("VIREO-DEBIAN-CHECKS-DONE") && out.contains(" failed=0 "));
            assertEquals("vireo run's exit code (0: the guest rebooted)" + context, 0, process.exitValue());
        } finally {
            http.stop(0);
            if (iperf != null) iperf.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }

        // The guest shut systemd down and rebooted: its root file system must be clean.
        Path fsck = Path.of("/sbin/e2fsck");
        if (Files.isExecutable(fsck)) {
            Process p = new ProcessBuilder(fsck.toString(), "-fn", root.toString()).redirectErrorStream(true).start();
            String report = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue("e2fsck -fn ended", p.waitFor(300, TimeUnit.SECONDS));
            assertEquals("e2fsck -fn on the root after the guest rebooted:\n" + report, 0, p.exitValue());
        }
    }

    private int iperfPort;

    /** iperf3 -s on the host's loopback, when the host has iperf3 (scripts/test installs it); null otherwise. */
    private Process startIperfServer() throws IOException, InterruptedException {
        Path iperf3 = Path.of("/usr/bin/iperf3");
        if (!Files.isExecutable(iperf3)) {
            System.err.println("[DebianIT] no /usr/bin/iperf3 on the host: the guest's iperf3 check is not asked for");
            return null;
        }
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            iperfPort = probe.getLocalPort();
        }
        Process p = new ProcessBuilder(iperf3.toString(), "-s", "-B", "127.0.0.1", "-p", Integer.toString(iperfPort))
                .redirectErrorStream(true).redirectOutput(GuestKit.logFile("DebianIT-iperf3-server").toFile()).start();
        return p;
    }

    /** NAME → "ok detail" / "FAIL detail" / "skip detail", from the guest's "vireo-check: NAME VERDICT DETAIL" lines. */
    static Map<String, String> checks(String out) {
        Map<String, String> checks = new LinkedHashMap<>();
        Matcher m = Pattern.compile("vireo-check: (\\S+) ((?:ok|FAIL|skip)\\b[^\\r\\n]*)").matcher(out);
        while (m.find()) checks.put(m.group(1), m.group(2));
        return checks;
    }

    private static String verdict(String check) {
        return check == null ? "missing" : check.split(" ", 2)[0];
    }

    private static void run(List<String> command, int seconds) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(seconds, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new AssertionError(String.join(" ", command) + " failed: " + output);
        }
    }
}
