package org.vireo.guest;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import org.junit.After;
import org.junit.Test;

/**
 * virtio-vsock with the Debian kernel's own vmw_vsock_virtio_transport, through the packaged launcher
 * ({@code vireo run --vsock cid=3,path=HOST.sock}): data both ways between a guest program (the kit's static
 * {@code vsock-io}) and host programs (this test) on Unix domain sockets, several connections at once.
 * <ul>
 * <li>host to guest: the guest listens on port 5000 ({@code vsock-io listen 5000 4}, an echo server); four host
 *     connections at once go through HOST.sock with {@code CONNECT 5000}, each sends 256 KiB of its own random
 *     bytes, half-closes and must read exactly those bytes back before EOF;</li>
 * <li>guest to host: a host echo server listens on HOST.sock_6000; the guest connects to CID 2 port 6000
 *     ({@code vsock-io send 2 6000 N}, 1 MiB and 64 KiB), and checks its pattern comes back; the host checks it
 *     received the pattern;</li>
 * <li>a guest connect to a host port nobody listens on is refused (RST: connection reset);</li>
 * <li>device reset: with a host connection open to a guest listener (port 5001), the guest unbinds its driver
 *     (sysfs), which resets the device: the host's socket ends; after binding the driver again (a new activation)
 *     the guest reaches the host once more.</li>
 * </ul>
 * Prints the guest's 1 MiB round-trip time and the host's.
 */
public class VsockIT {
    private static final int CONNECTIONS = 4;
    private static final int HOST_BYTES = 256 * 1024;
    private static final int GUEST_BYTES = 1 << 20;
    private static final int GUEST_SMALL = 64 * 1024;

    private Path dir;
    private final List<AutoCloseable> closeables = new ArrayList<>();

    @After
    public void tearDown() throws Exception {
        for (AutoCloseable c : closeables) c.close();
        if (dir != null) {
            try (var s = Files.list(dir)) {
                for (Path p : s.toList()) Files.deleteIfExists(p);
            }
            Files.deleteIfExists(dir);
        }
    }

    /** vsock-io's pattern: byte i is (i * 7 + (i >> 8) * 13) & 0xff. */
    static byte[] pattern(int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte) ((i * 7L + (i >> 8) * 13L) & 0xff);
        return b;
    }

    /** Reads {@code ch} to EOF on another thread (so writing and reading never wait for each other). */
    private static CompletableFuture<byte[]> readAll(SocketChannel ch) {
        return CompletableFuture.supplyAsync(() -> {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteBuffer b = ByteBuffer.allocate(65536);
            try {
                while (ch.read(b) >= 0) {
                    out.write(b.array(), 0, b.position());
                    b.clear();
                }
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
            return out.toByteArray();
        }, r -> Thread.ofPlatform().daemon().start(r));
    }

    /** The host's echo server on HOST.sock_6000: echoes every connection and keeps what each one sent. */
    private ConcurrentLinkedQueue<byte[]> echoServer(Path path) throws IOException {
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(path));
        closeables.add(server);
        ConcurrentLinkedQueue<byte[]> received = new ConcurrentLinkedQueue<>();
        Thread.ofPlatform().daemon().name("vsock-it-echo").start(() -> {
            while (server.isOpen()) {
                SocketChannel ch;
                try {
                    ch = server.accept();
                } catch (IOException closed) {
                    return;
                }
                Thread.ofPlatform().daemon().start(() -> {
                    ByteArrayOutputStream got = new ByteArrayOutputStream();
                    ByteBuffer b = ByteBuffer.allocate(65536);
                    try (ch) {
                        while (ch.read(b) >= 0) {
                            got.write(b.array(), 0, b.position());
                            b.flip();
                            while (b.hasRemaining()) ch.write(b);
                            b.clear();
                        }
                    } catch (IOException e) {
                        got.write('!');     // marks a broken connection: the comparison fails
                    }
                    received.add(got.toByteArray());
                });
            }
        });
        return received;
    }

    /** A host process: CONNECT to the guest's port through HOST.sock, send {@code data}, half-close, read the echo. */
    private static byte[] hostRoundTrip(Path sock, int port, byte[] data) throws Exception {
        try (SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(sock))) {
            ch.write(ByteBuffer.wrap(("CONNECT " + port + "\n").getBytes(StandardCharsets.US_ASCII)));
            StringBuilder line = new StringBuilder();
            ByteBuffer one = ByteBuffer.allocate(1);
            while (!line.toString().endsWith("\n")) {
                one.clear();
                if (ch.read(one) < 0) throw new IOException("closed before OK (got \"" + line + "\")");
                line.append((char) one.get(0));
            }
            assertTrue("the device's answer: " + line, line.toString().matches("OK \\d+\n"));
            CompletableFuture<byte[]> echo = readAll(ch);
            ByteBuffer b = ByteBuffer.wrap(data);
            while (b.hasRemaining()) ch.write(b);
            ch.shutdownOutput();
            return echo.get(GuestKit.RUN_SECONDS, TimeUnit.SECONDS);
        }
    }

    @Test
    public void theKernelsVsockDriverCarriesDataBothWays() throws Exception {
        GuestKit.assumePresent();
        String kitEnv = Files.readString(GuestKit.directory().resolve("kit.env"));
        GuestKit.assumeAvailable("the guest kit has no bin/vsock-io (scripts/guest-kit builds it when the host has gcc and libc6-dev)",
                kitEnv.contains("VSOCK_IO=/bin/vsock-io"));
        Path home = LauncherProcess.home();
        dir = Files.createTempDirectory("vsock-it");     // short: a Unix socket path has at most 107 bytes
        Path sock = dir.resolve("v.sock");
        ConcurrentLinkedQueue<byte[]> hostReceived = echoServer(Path.of(sock + "_6000"));
        Path deploy = Files.createTempDirectory("vsock-it-deploy");
        closeables.add(() -> {
            try (var s = Files.walk(deploy)) {
                for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
            }
        });
        // The barrier on port 6002 answers only once the host's connection to 5001 is up (no sleeping on luck).
        ServerSocketChannel barrier = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        barrier.bind(UnixDomainSocketAddress.of(Path.of(sock + "_6002")));
        closeables.add(barrier);
        String drv = "/sys/bus/virtio/drivers/vmw_vsock_virtio_transport";
        String command = "vsock-io listen 5000 " + CONNECTIONS + " & sleep 1; "
                + "vsock-io send 2 6000 " + GUEST_BYTES + "; vsock-io send 2 6000 " + GUEST_SMALL + "; "
                + "vsock-io send 2 6001 10; wait; "
                + "vsock-io listen 5001 1 & sleep 1; echo vsock-hold-ready; vsock-io send 2 6002 1; "
                + "d=$(ls " + drv + " | grep virtio); echo $d >" + drv + "/unbind; echo vsock-unbound: $d; "
                + "echo $d >" + drv + "/bind; echo vsock-bound: $(ls " + drv + " | grep -c virtio); "
                + "vsock-io send 2 6000 1000; wait; echo vsock-guest-done";
        long started = System.nanoTime();
        try (LauncherProcess vm = LauncherProcess.start(home, deploy, GuestKit.logFile("VsockIT"), "run", "--timeout",
                Integer.toString(GuestKit.RUN_SECONDS), "--vsock", "cid=3,path=" + sock,
                "--append", "console=ttyS0 vireo.cmd=\"" + command + "\"")) {
            String listening = vm.await(l -> l.startsWith("vsock-io: listening 5000"), GuestKit.RUN_SECONDS);
            assertNotNull("the guest listens on vsock port 5000" + GuestKit.tail(vm.output(), 60), listening);
            // Four host processes at once, each with its own bytes.
            long t0 = System.nanoTime();
            List<CompletableFuture<byte[]>> echoes = new ArrayList<>();
            List<byte[]> sent = new ArrayList<>();
            for (int i = 0; i < CONNECTIONS; i++) {
                byte[] data = new byte[HOST_BYTES];
                new Random(15 + i).nextBytes(data);
                sent.add(data);
                echoes.add(CompletableFuture.supplyAsync(() -> {
                    try {
                        return hostRoundTrip(sock, 5000, data);
                    } catch (Exception e) {
                        throw new RuntimeException(e);
                    }
                }, r -> Thread.ofPlatform().daemon().start(r)));
            }
            for (int i = 0; i < CONNECTIONS; i++) {
                assertArrayEquals("host connection " + i + ": the guest echoed exactly what it was sent" + GuestKit.tail(vm.output(), 40),
                        sent.get(i), echoes.get(i).get(GuestKit.RUN_SECONDS, TimeUnit.SECONDS));
            }
            double hostSeconds = (System.nanoTime() - t0) / 1e9;

            // Device reset: a host connection into the guest, then the guest unbinds its driver.
            assertNotNull("the guest listens on port 5001" + GuestKit.tail(vm.output(), 40),
                    vm.await(l -> l.startsWith("vsock-hold-ready"), GuestKit.RUN_SECONDS));
            SocketChannel held = SocketChannel.open(UnixDomainSocketAddress.of(sock));
            closeables.add(held);
            held.write(ByteBuffer.wrap("CONNECT 5001\nx".getBytes(StandardCharsets.US_ASCII)));
            // "OK <port>\n" and the echoed x: the connection is through. Only then may the guest go on.
            String setUp = CompletableFuture.supplyAsync(() -> {
                StringBuilder got = new StringBuilder();
                ByteBuffer one = ByteBuffer.allocate(1);
                try {
                    while (!got.toString().matches("OK \\d+\nx")) {
                        one.clear();
                        if (held.read(one) < 0) break;
                        got.append((char) one.get(0));
                    }
                } catch (IOException e) {
                    got.append(" (").append(e.getMessage()).append(')');
                }
                return got.toString();
            }, r -> Thread.ofPlatform().daemon().start(r)).get(GuestKit.RUN_SECONDS, TimeUnit.SECONDS);
            assertTrue("the held connection is set up and echoes: \"" + setUp + "\"" + GuestKit.tail(vm.output(), 40),
                    setUp.matches("OK \\d+\nx"));
            CompletableFuture<byte[]> rest = readAll(held);
            try (SocketChannel b = barrier.accept()) {              // the guest waits on this connection for our answer
                ByteBuffer one = ByteBuffer.allocate(1);
                while (one.hasRemaining() && b.read(one) >= 0) { }
                one.flip();
                b.write(one);
                b.shutdownOutput();
                while (b.read(ByteBuffer.allocate(16)) >= 0) { }
            }
            // The guest now unbinds its driver: the device is reset and the held socket ends, with nothing more.
            byte[] after;
            try {
                after = rest.get(GuestKit.RUN_SECONDS, TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException reset) {
                after = new byte[0];        // a connection reset is an end too
            }
            assertEquals("bytes after the device reset" + GuestKit.tail(vm.output(), 40), 0, after.length);
            boolean ended = vm.waitFor(GuestKit.RUN_SECONDS);
            String out = vm.output();
            String context = GuestKit.tail(out, 60);
            assertTrue("vireo run ended" + context, ended);
            assertEquals("exit code (0: the guest rebooted)" + context, 0, vm.process().exitValue());
            assertTrue("the guest script finished" + context, out.contains("vsock-guest-done"));
            assertEquals("the guest's echo server served every connection" + context, CONNECTIONS,
                    out.lines().filter(l -> l.strip().equals("vsock-io: echoed " + HOST_BYTES + " bytes")).count());
            String big = out.lines().map(String::strip).filter(l -> l.startsWith("vsock-io: send ok " + GUEST_BYTES + " ")).findFirst().orElse(null);
            assertNotNull("the guest's 1 MiB came back from the host" + context, big);
            assertTrue("the guest's 64 KiB came back" + context, out.contains("vsock-io: send ok " + GUEST_SMALL + " "));
            assertTrue("the driver was unbound and bound again" + context, GuestKit.field(out, "vsock-unbound") != null
                    && "1".equals(GuestKit.field(out, "vsock-bound")));
            assertTrue("after the reset the guest reaches the host again" + context, out.contains("vsock-io: send ok 1000 "));
            assertTrue("a port nobody listens on is refused" + context,
                    out.lines().anyMatch(l -> l.contains("vsock-io: send FAIL connect 2:6001") && l.contains("reset")));
            List<byte[]> got = new ArrayList<>(hostReceived);
            got.sort(java.util.Comparator.comparingInt(b -> -b.length));
            assertEquals("the host's echo server saw the guest's three connections", 3, got.size());
            assertArrayEquals("the host received the guest's 1 MiB pattern", pattern(GUEST_BYTES), got.get(0));
            assertArrayEquals(pattern(GUEST_SMALL), got.get(1));
            assertArrayEquals(pattern(1000), got.get(2));
            double guestSeconds = Double.parseDouble(big.split(" ")[4]);
            System.out.printf("VsockIT: guest 1 MiB echoed by the host in %.2f s (%.0f KiB/s each way); host %d x %d KiB echoed by the guest in %.2f s"
                            + " (%.0f KiB/s each way); run %d s%n", guestSeconds, 1024 / guestSeconds, CONNECTIONS, HOST_BYTES / 1024, hostSeconds,
                    CONNECTIONS * HOST_BYTES / 1024.0 / hostSeconds, (System.nanoTime() - started) / 1_000_000_000L);
        }
    }
}
