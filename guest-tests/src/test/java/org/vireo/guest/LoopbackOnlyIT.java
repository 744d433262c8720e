package org.vireo.guest;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * Nothing listens beyond loopback by default (issue 18). The packaged launcher is started with everything that can
 * open a host socket, and the test reads which sockets that JVM holds ({@code /proc/PID/fd}) and what they are bound to
 * ({@code /proc/PID/net/tcp, tcp6, udp, udp6}): every listening TCP socket and every unconnected (receiving) UDP socket
 * must be bound to 127.0.0.0/8 or ::1.
 * <ul>
 * <li>{@code vireo run} with user networking and a TCP and a UDP port forward given without a host address (the
 *     default), a disk, an rng, a virtio console and a hot-plug slot: the two forwards listen, on 127.0.0.1, and
 *     nothing else listens. Checked once the guest's kernel prints its banner (the vCPU starts only after every
 *     device is plugged).</li>
 * <li>The runtime on its own ({@code vireo} with its seeded demo machine and devices, Gogo shell): listens nowhere.</li>
 * </ul>
 * A forward asked for beyond loopback ({@code hostfwd=tcp:0.0.0.0:...}) is refused when the configuration is parsed
 * ({@code UserNetConfigTest} in org.vireo.virtio.net).
 * Vireo has no remote shell or JMX port; the shell is the terminal's. The HTTP API listens only when asked
 * ({@code vireo --http}), on 127.0.0.1 unless a host is given: {@code WebConsoleIT} checks that its one listener is there. Connected sockets (the
 * guest's own outgoing flows through user networking) are clients, not listeners, and not checked.
 */
public class LoopbackOnlyIT {
    private static final long START_SECONDS = 120;

    @Rule
    public TemporaryFolder folder = new TemporaryFolder();

    /** A socket the process holds, as the kernel's table shows it. */
    record HostSocket(String protocol, InetAddress address, int port, boolean listening) {
        @Override
        public String toString() { return protocol + " " + address.getHostAddress() + ":" + port; }
    }

    @Test
    public void aRunWithEveryDeviceAndPortForwardsListensOnLoopbackOnly() throws Exception {
        GuestKit.assumePresent();
        Path home = LauncherProcess.home();
        Path dir = folder.getRoot().toPath();
        Path image = dir.resolve("disk.img");
        try (var f = new java.io.RandomAccessFile(image.toFile(), "rw")) {
            f.setLength(16 << 20);
        }
        Path deploy = Files.createDirectories(dir.resolve("deploy"));
        int tcpPort = freeTcpPort();
        int udpPort = freeUdpPort();
        Path log = GuestKit.logFile("LoopbackOnlyIT-run");
        try (LauncherProcess vmm = LauncherProcess.start(home, deploy, log, "run", "--timeout", Integer.toString(GuestKit.RUN_SECONDS),
                "--net", "user,hostfwd=tcp::" + tcpPort + "-:22,hostfwd=udp::" + udpPort + "-:5353",
                "--disk", image.toString(), "--rng", "--console-device", "virtio,file=" + dir.resolve("hvc0.txt"), "--hotplug-slot",
                "--append", "console=ttyS0 acpi=off vireo.cmd=\"sleep 600\"")) {
            String banner = vmm.await(l -> l.contains("Linux version") || l.contains("needs libslirp"), START_SECONDS);
            GuestKit.assumeAvailable("libslirp is not installed (apt-get install libslirp0)", banner == null || !banner.contains("needs libslirp"));
            assertNotNull("the guest's kernel did not start within " + START_SECONDS + " s" + GuestKit.tail(vmm.output(), 40), banner);
            long pid = vmm.process().pid();
            List<HostSocket> listening = listening(pid);
            String seen = "listening sockets of the VMM (pid " + pid + "): " + listening;
            assertTrue("the TCP forward listens on 127.0.0.1:" + tcpPort + "; " + seen,
                    listening.stream().anyMatch(s -> s.protocol().startsWith("tcp") && s.port() == tcpPort && s.address().getHostAddress().equals("127.0.0.1")));
            assertTrue("the UDP forward is bound to 127.0.0.1:" + udpPort + "; " + seen,
                    listening.stream().anyMatch(s -> s.protocol().startsWith("udp") && s.port() == udpPort && s.address().getHostAddress().equals("127.0.0.1")));
            assertEquals("only loopback; " + seen, List.of(), beyondLoopback(listening));
            assertEquals("nothing listens but the two forwards; " + seen, 2, listening.size());
        }
    }

    @Test
    public void theRuntimeWithItsDemoDevicesListensNowhere() throws Exception {
        Path home = LauncherProcess.home();
        Path deploy = folder.getRoot().toPath().resolve("deploy");   // absent: the launcher seeds the demo configuration
        Path log = GuestKit.logFile("LoopbackOnlyIT-shell");
        try (LauncherProcess runtime = LauncherProcess.start(home, deploy, log)) {
            long pid = runtime.process().pid();
            // The demo's two disks are open once its devices are up (the launcher creates their images when it seeds).
            long deadline = System.nanoTime() + START_SECONDS * 1_000_000_000L;
            while (!(opens(pid, deploy.resolve("disk0.img")) && opens(pid, deploy.resolve("disk1.img")))) {
                assertTrue("the runtime ended early" + GuestKit.tail(runtime.output(), 40), runtime.process().isAlive());
                assertTrue("the demo disks were not opened within " + START_SECONDS + " s" + GuestKit.tail(runtime.output(), 40),
                        System.nanoTime() < deadline);
                Thread.sleep(200);
            }
            List<HostSocket> listening = listening(pid);
            assertEquals("listening sockets of the runtime (pid " + pid + ")", List.of(), listening);
        }
    }

    /** The parser, on table lines as Linux writes them: a wildcard or LAN listener is caught, clients are ignored. */
    @Test
    public void theSocketTableParserCatchesListenersBeyondLoopback() throws Exception {
        String tcp = """
                  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
                   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 101 1 0 100 0 0 10 0
                   1: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 102 1 0 100 0 0 10 0
                   2: 0A01A8C0:C350 0101A8C0:01BB 01 00000000:00000000 00:00000000 00000000     0        0 103 1 0 100 0 0 10 0
                   3: 0A01A8C0:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 999 1 0 100 0 0 10 0
                """;
        String tcp6 = """
                  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
                   0: 00000000000000000000000001000000:1F91 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 104 1 0 100 0 0 10 0
                   1: 00000000000000000000000000000000:1F92 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 105 1 0 100 0 0 10 0
                """;
        String udp = """
                   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
                  10: 0100007F:14E9 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 106 2 0 0
                  11: 00000000:14EA 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 107 2 0 0
                  12: 00000000:9C40 0202000A:0035 01 00000000:00000000 00:00000000 00000000     0        0 108 2 0 0
                """;
        Set<Long> ours = Set.of(101L, 102L, 103L, 104L, 105L, 106L, 107L, 108L);
        List<HostSocket> all = new ArrayList<>();
        all.addAll(parse("tcp", tcp, ours));
        all.addAll(parse("tcp6", tcp6, ours));
        all.addAll(parse("udp", udp, ours));
        List<HostSocket> listening = all.stream().filter(HostSocket::listening).toList();
        assertEquals("[tcp 127.0.0.1:8080, tcp 0.0.0.0:22, tcp6 0:0:0:0:0:0:0:1:8081, tcp6 0:0:0:0:0:0:0:0:8082, udp 127.0.0.1:5353,"
                + " udp 0.0.0.0:5354]", listening.toString());
        assertEquals("[tcp 0.0.0.0:22, tcp6 0:0:0:0:0:0:0:0:8082, udp 0.0.0.0:5354]", beyondLoopback(listening).toString());
        assertEquals("the client sockets are seen, as not listening", 2, all.size() - listening.size());
    }

    private static List<HostSocket> beyondLoopback(List<HostSocket> sockets) {
        return sockets.stream().filter(s -> !s.address().isLoopbackAddress()).toList();
    }

    /** The listening TCP and receiving (unconnected) UDP sockets that process {@code pid} holds. */
    static List<HostSocket> listening(long pid) throws IOException {
        Set<Long> inodes = socketInodes(pid);
        List<HostSocket> found = new ArrayList<>();
        for (String protocol : List.of("tcp", "tcp6", "udp", "udp6")) {
            Path table = Path.of("/proc", Long.toString(pid), "net", protocol);
            if (!Files.exists(table)) continue;   // no IPv6 in this kernel
            found.addAll(parse(protocol, Files.readString(table), inodes));
        }
        return found.stream().filter(HostSocket::listening).toList();
    }

    /** The inodes of the sockets among the process's open file descriptors ("socket:[INODE]"). */
    private static Set<Long> socketInodes(long pid) throws IOException {
        Set<Long> inodes = new HashSet<>();
        try (Stream<Path> fds = Files.list(Path.of("/proc", Long.toString(pid), "fd"))) {
            for (Path fd : fds.toList()) {
                String target;
                try {
                    target = Files.readSymbolicLink(fd).toString();
                } catch (NoSuchFileException closed) {
                    continue;
                }
                if (target.startsWith("socket:[")) inodes.add(Long.parseLong(target.substring(8, target.length() - 1)));
            }
        }
        return inodes;
    }

    private static boolean opens(long pid, Path file) throws IOException {
        try (Stream<Path> fds = Files.list(Path.of("/proc", Long.toString(pid), "fd"))) {
            for (Path fd : fds.toList()) {
                try {
                    if (Files.readSymbolicLink(fd).equals(file)) return true;
                } catch (NoSuchFileException closed) {
                    // closed while listing
                }
            }
        } catch (NoSuchFileException gone) {
            return false;
        }
        return false;
    }

    /**
     * Rows of a /proc/net/{tcp,tcp6,udp,udp6} table whose inode is in {@code inodes}. Columns: sl, local address,
     * remote address, state, queues, timer, retransmits, uid, timeout, inode. A TCP socket listens in state 0A (LISTEN);
     * a UDP socket receives from anyone while unconnected (state 07), an outgoing flow is connected (01).
     */
    static List<HostSocket> parse(String protocol, String table, Set<Long> inodes) throws UnknownHostException {
        List<HostSocket> found = new ArrayList<>();
        for (String row : table.lines().skip(1).toList()) {
            String[] f = row.strip().split("\\s+");
            if (f.length < 10 || !inodes.contains(Long.parseLong(f[9]))) continue;
            String[] local = f[1].split(":");
            boolean listening = protocol.startsWith("tcp") ? f[3].equals("0A") : f[3].equals("07");
            found.add(new HostSocket(protocol, address(local[0]), Integer.parseInt(local[1], 16), listening));
        }
        return found;
    }

    /** The kernel prints each 32-bit word of the address in host (little-endian) byte order. */
    private static InetAddress address(String hex) throws UnknownHostException {
        byte[] bytes = new byte[hex.length() / 2];
        for (int word = 0; word < bytes.length / 4; word++) {
            for (int i = 0; i < 4; i++) {
                int at = word * 8 + (3 - i) * 2;
                bytes[word * 4 + i] = (byte) Integer.parseInt(hex.substring(at, at + 2), 16);
            }
        }
        return InetAddress.getByAddress(bytes);
    }

    private static int freeTcpPort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static int freeUdpPort() throws IOException {
        try (DatagramSocket s = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            return s.getLocalPort();
        }
    }
}
