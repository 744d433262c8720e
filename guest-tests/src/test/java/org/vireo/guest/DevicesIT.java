package org.vireo.guest;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * One boot of the guest kit through the packaged launcher ({@code vireo run}, so the devices are ConfigurationAdmin
 * configurations plugged by the pci transport component) with a disk, user-mode networking, an entropy device and a
 * virtio console, and a guest script that uses each through the Debian kernel's own drivers: virtio_blk reads the
 * host's image data and writes (with fsync, i.e. a flush) data the host then finds in the image file; virtio_net gets
 * a DHCP lease from slirp and fetches a payload over TCP from a server on the host's 127.0.0.1 (the guest dials the
 * gateway 10.0.2.2); virtio-rng feeds /dev/hwrng; virtio_console's /dev/hvc0 output lands in a host file.
 */
public class DevicesIT {
    private static final int IMAGE_HEAD = 1 << 20;
    private static final int WRITE_LINES = 100000;
    private static final int WRITE_OFFSET = 4 << 20;
    private static final int PAYLOAD = 1 << 20;

    @Rule
    public TemporaryFolder folder = new TemporaryFolder();

    @Test
    public void theKernelsOwnDriversUseEveryDevice() throws Exception {
        GuestKit.assumePresent();
        Path home = LauncherProcess.home();

        long seed = System.nanoTime();
        String nonce = Long.toHexString(seed);
        Random random = new Random(seed);
        byte[] head = new byte[IMAGE_HEAD];
        random.nextBytes(head);
        Path image = folder.getRoot().toPath().resolve("disk.img");
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
            f.write(head);
            f.setLength(16 << 20);
        }
        byte[] payload = new byte[PAYLOAD];
        random.nextBytes(payload);
        Path hvc = folder.getRoot().toPath().resolve("hvc0.txt");
        Path deploy = folder.newFolder("deploy").toPath(); // exists, so the launcher adds no demo configuration
        Path log = GuestKit.logFile("DevicesIT");

        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            CompletableFuture<String> request = serveOnce(server, payload);
            String requestLine = "GET vireo-" + nonce;
            // Double quotes cannot appear inside vireo.cmd="...": the guest's /init reads them as the value's delimiters.
            String command = String.join("; ",
                    "echo dev-pci: $(cat /sys/bus/pci/devices/*/device | tr '\\n' ' ')",
                    "echo dev-disk-read: $(dd if=/dev/vda bs=65536 count=" + IMAGE_HEAD / 65536 + " 2>/dev/null | md5sum)",
                    "seq 1 " + WRITE_LINES + " >/tmp/w",
                    "dd if=/tmp/w of=/dev/vda bs=4096 seek=" + WRITE_OFFSET / 4096 + " conv=fsync 2>/dev/null && echo dev-disk-write: $(wc -c </tmp/w)",
                    "ip link set eth0 up",
                    "udhcpc -i eth0 -n -q -t 10 -T 3",
                    "echo " + requestLine + " | nc 10.0.2.2 " + server.getLocalPort() + " >/tmp/p",
                    "echo dev-net: $(wc -c </tmp/p) $(md5sum </tmp/p)",
                    "echo dev-rng: $(cat /sys/class/misc/hw_random/rng_current) $(head -c 64 /dev/hwrng | od -An -tx1 | tr -d ' \\n')",
                    "echo HVC-" + nonce + " >/dev/hvc0 && echo dev-hvc: written");
            List<String> vireo = LauncherProcess.command(home, deploy, List.of("run", "--timeout", Integer.toString(GuestKit.RUN_SECONDS),
                    "--disk", image.toString(), "--net", "user", "--rng", "--console-device", "virtio,file=" + hvc,
                    "--append", "console=ttyS0 acpi=off vireo.cmd=\"" + command + "\""));
            Process process = new ProcessBuilder(vireo).redirectErrorStream(true).redirectOutput(log.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
            boolean ended = process.waitFor(GuestKit.RUN_SECONDS + 60, TimeUnit.SECONDS);
            if (!ended) process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            String out = Files.readString(log, StandardCharsets.UTF_8);
            String context = GuestKit.tail(out, 60);
            assertTrue("vireo run did not end within " + (GuestKit.RUN_SECONDS + 60) + " s" + context, ended);
            assertEquals("vireo run's exit code (0: the guest rebooted)" + context, 0, process.exitValue());
            assertTrue("/init finished" + context, out.contains("VIREO-INIT-DONE"));

            assertEquals("the guest's PCI bus: host bridge, then blk, net, rng, console" + context,
                    "0x1237 0x1042 0x1041 0x1044 0x1043", GuestKit.field(out, "dev-pci"));

            // virtio-blk: the guest read the host's data, and its write (fsync: a FLUSH) is in the image file.
            assertEquals("md5 of the image's first MiB read in the guest" + context, GuestKit.md5(head) + " -", GuestKit.field(out, "dev-disk-read"));
            byte[] written = GuestKit.seq(WRITE_LINES);
            assertEquals("the guest wrote" + context, Integer.toString(written.length), GuestKit.field(out, "dev-disk-write"));
            byte[] inImage = new byte[written.length];
            try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "r")) {
                f.seek(WRITE_OFFSET);
                f.readFully(inImage);
                byte[] untouched = new byte[IMAGE_HEAD];
                f.seek(0);
                f.readFully(untouched);
                assertArrayEquals("the image's first MiB is unchanged", head, untouched);
            }
            assertArrayEquals("the guest's write is in the host image at 4 MiB", written, inImage);

            // virtio-net over slirp: DHCP, then TCP to the host's loopback through the gateway.
            assertTrue("udhcpc got a lease" + context, out.contains("udhcpc: lease of 10.0.2.15 obtained from 10.0.2.2"));
            assertTrue("the lease was applied" + context, out.contains("vireo-dhcp: eth0 10.0.2.15/24 router 10.0.2.2"));
            assertEquals("the payload arrived whole in the guest" + context, PAYLOAD + " " + GuestKit.md5(payload) + " -",
                    GuestKit.field(out, "dev-net"));
            assertEquals("the host server got the guest's request", requestLine, request.get(10, TimeUnit.SECONDS));

            // virtio-rng: the kernel chose it as its hardware RNG and /dev/hwrng gave 64 bytes.
            String rng = GuestKit.field(out, "dev-rng");
            assertNotNull("the rng check ran" + context, rng);
            String[] rngParts = rng.split(" ");
            assertEquals("current hw_random source" + context, "virtio_rng.0", rngParts[0]);
            assertTrue("64 bytes from /dev/hwrng: " + rng, rngParts.length == 2 && rngParts[1].matches("[0-9a-f]{128}"));
            assertTrue("not all zero: " + rng, !rngParts[1].matches("0+"));

            // virtio-console: hvc0's output is in the host file.
            assertEquals("dev-hvc" + context, "written", GuestKit.field(out, "dev-hvc"));
            assertTrue("hvc0 output in " + hvc, Files.readString(hvc, StandardCharsets.US_ASCII).contains("HVC-" + nonce));
        }
    }

    /** Accepts one connection, reads its request line, answers with {@code payload} and closes. */
    private static CompletableFuture<String> serveOnce(ServerSocket server, byte[] payload) {
        CompletableFuture<String> request = new CompletableFuture<>();
        Thread.ofPlatform().daemon().name("devices-it-server").start(() -> {
            try (Socket s = server.accept()) {
                s.setSoTimeout(60_000);
                String line = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII)).readLine();
                OutputStream out = s.getOutputStream();
                out.write(payload);
                out.flush();
                request.complete(line);
            } catch (Exception e) {
                request.completeExceptionally(e);
            }
        });
        return request;
    }
}
