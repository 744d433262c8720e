package org.vireo.virtio.net.slirp;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;
import static org.vireo.virtio.net.slirp.Packets.ACK;
import static org.vireo.virtio.net.slirp.Packets.GATEWAY_IP;
import static org.vireo.virtio.net.slirp.Packets.GUEST_IP;
import static org.vireo.virtio.net.slirp.Packets.GUEST_MAC;
import static org.vireo.virtio.net.slirp.Packets.PSH;
import static org.vireo.virtio.net.slirp.Packets.SYN;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.After;
import org.junit.Assume;
import org.junit.BeforeClass;
import org.junit.Test;
import org.vireo.virtio.net.slirp.Packets.Frame;

/**
 * The user backend against the real libslirp, with the test acting as the guest through hand-built frames. All traffic
 * is inside the backend or to sockets this test opens on 127.0.0.1.
 */
public class SlirpBackendTest {
    /** Failure guard only: everything here normally answers in milliseconds. */
    private static final long TIMEOUT = 30;
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    private final List<AutoCloseable> cleanup = new ArrayList<>();

    @BeforeClass
    public static void needsLibslirp() {
        Assume.assumeTrue("libslirp is not installed (apt-get install libslirp0): user networking tests skipped", libslirpInstalled());
    }

    public static boolean libslirpInstalled() {
        try {
            LibSlirp.load();
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    @After
    public void tearDown() throws Exception {
        for (AutoCloseable c : cleanup.reversed()) c.close();
    }

    private <T extends AutoCloseable> T closeLater(T c) {
        cleanup.add(c);
        return c;
    }

    private SlirpBackend open(String spec) throws IOException {
        return closeLater(SlirpBackend.open(UserNetConfig.parse(spec)));
    }

    @Test
    public void dhcpDiscoverGetsAnOfferOf10_0_2_15From10_0_2_2() throws Exception {
        FakeGuest guest = new FakeGuest(open("user"));
        int xid = 0x5eed1234;
        guest.send(Packets.dhcpDiscover(GUEST_MAC, xid));
        Frame offer = guest.await("DHCP reply", f -> f.isUdp() && f.srcPort() == 67 && f.dstPort() == 68, TIMEOUT);
        assertEquals(GATEWAY_IP, offer.srcIp());
        assertEquals(xid, offer.bootpXid());
        assertEquals(Packets.DHCP_OFFER, offer.dhcpMessageType());
        assertEquals(GUEST_IP, offer.bootpYourIp());
        assertArrayEquals("server identifier", ByteBuffer.allocate(4).putInt(GATEWAY_IP).array(), offer.dhcpOption(54));
        assertArrayEquals("router", ByteBuffer.allocate(4).putInt(GATEWAY_IP).array(), offer.dhcpOption(3));
    }

    @Test
    public void arpForTheGatewayIsAnswered() throws Exception {
        SlirpBackend backend = open("user");
        FakeGuest guest = new FakeGuest(backend);
        guest.send(Packets.arpRequest(GUEST_MAC, GUEST_IP, GATEWAY_IP));
        Frame reply = guest.await("ARP reply", f -> f.isArp() && f.arpOp() == 2, TIMEOUT);
        assertEquals(GATEWAY_IP, reply.arpSenderIp());
        assertEquals(GUEST_IP, reply.arpTargetIp());
        assertArrayEquals(GUEST_MAC, reply.arpTargetMac());
        assertArrayEquals(GUEST_MAC, reply.dstMac());
        assertFalse("the gateway has its own MAC", java.util.Arrays.equals(GUEST_MAC, reply.arpSenderMac()));
        assertEquals(1, backend.framesFromGuest());
        assertTrue(backend.framesToGuest() >= 1);
    }

    @Test
    public void tcpToTheGatewayReachesAHostLoopbackServerBothWays() throws Exception {
        ServerSocket server = closeLater(new ServerSocket(0, 1, LOOPBACK));
        server.setSoTimeout((int) TimeUnit.SECONDS.toMillis(TIMEOUT));
        int port = server.getLocalPort();
        FakeGuest guest = new FakeGuest(open("user"));
        CompletableFuture<Socket> accepted = CompletableFuture.supplyAsync(() -> {
            try {
                return server.accept();
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });

        int guestPort = 40000, isn = 1000;
        guest.send(Packets.tcp(GUEST_IP, GATEWAY_IP, guestPort, port, isn, 0, SYN, new byte[0]));
        Socket host = closeLater(accepted.get(TIMEOUT, TimeUnit.SECONDS));
        assertTrue("the connection comes from the host's loopback", host.getInetAddress().isLoopbackAddress());
        Frame synAck = guest.await("SYN-ACK", f -> f.isTcp() && f.srcPort() == port && f.dstPort() == guestPort, TIMEOUT);
        assertEquals(GATEWAY_IP, synAck.srcIp());
        assertEquals(GUEST_IP, synAck.dstIp());
        assertEquals(SYN | ACK, synAck.tcpFlags() & (SYN | ACK | Packets.RST));
        assertEquals(isn + 1, synAck.tcpAck());
        int hostSeq = synAck.tcpSeq() + 1;
        guest.send(Packets.tcp(GUEST_IP, GATEWAY_IP, guestPort, port, isn + 1, hostSeq, ACK, new byte[0]));

        // host -> guest
        byte[] fromHost = "hello from the host".getBytes(StandardCharsets.US_ASCII);
        OutputStream out = host.getOutputStream();
        out.write(fromHost);
        out.flush();
        Frame data = guest.await("data segment", f -> f.isTcp() && f.srcPort() == port && f.payload().length > 0, TIMEOUT);
        assertEquals(hostSeq, data.tcpSeq());
        assertArrayEquals(fromHost, data.payload());

        // guest -> host
        byte[] fromGuest = "hello from the guest".getBytes(StandardCharsets.US_ASCII);
        guest.send(Packets.tcp(GUEST_IP, GATEWAY_IP, guestPort, port, isn + 1, hostSeq + fromHost.length, PSH | ACK, fromGuest));
        host.setSoTimeout((int) TimeUnit.SECONDS.toMillis(TIMEOUT));
        assertArrayEquals(fromGuest, host.getInputStream().readNBytes(fromGuest.length));
        Frame acked = guest.await("ACK of the guest's data",
                f -> f.isTcp() && f.srcPort() == port && f.tcpAck() == isn + 1 + fromGuest.length, TIMEOUT);
        assertEquals(0, acked.tcpFlags() & Packets.RST);
    }

    @Test
    public void hostForwardConnectsALoopbackClientToTheGuest() throws Exception {
        int guestPort = 2222;
        SlirpBackend backend = openWithForward(guestPort);
        int hostPort = backend.config().forwards().getFirst().hostPort();
        FakeGuest guest = new FakeGuest(backend);

        Socket client = closeLater(new Socket());
        client.connect(new InetSocketAddress(LOOPBACK, hostPort), (int) TimeUnit.SECONDS.toMillis(TIMEOUT));
        Frame syn = guest.await("forwarded SYN", f -> f.isTcp() && f.dstPort() == guestPort, TIMEOUT);
        assertEquals(GUEST_IP, syn.dstIp());
        assertEquals(SYN, syn.tcpFlags() & (SYN | ACK));

        int guestSeq = 7000;
        guest.send(Packets.tcp(GUEST_IP, syn.srcIp(), guestPort, syn.srcPort(), guestSeq, syn.tcpSeq() + 1, SYN | ACK, new byte[0]));
        Frame ack = guest.await("ACK of the SYN-ACK", f -> f.isTcp() && f.dstPort() == guestPort && f.tcpAck() == guestSeq + 1, TIMEOUT);
        byte[] banner = "SSH-2.0-pretend\r\n".getBytes(StandardCharsets.US_ASCII);
        guest.send(Packets.tcp(GUEST_IP, syn.srcIp(), guestPort, syn.srcPort(), guestSeq + 1, ack.tcpSeq(), PSH | ACK, banner));
        client.setSoTimeout((int) TimeUnit.SECONDS.toMillis(TIMEOUT));
        assertArrayEquals(banner, client.getInputStream().readNBytes(banner.length));
    }

    @Test
    public void closeStopsTheLoopReleasesForwardedPortsAndDropsConnections() throws Exception {
        ServerSocket server = closeLater(new ServerSocket(0, 1, LOOPBACK));
        server.setSoTimeout((int) TimeUnit.SECONDS.toMillis(TIMEOUT));
        SlirpBackend backend = openWithForward(22);
        int hostPort = backend.config().forwards().getFirst().hostPort();
        assertEquals("IPv6 is on, so libslirp holds its router-advertisement timer", 1, backend.timerCount());
        FakeGuest guest = new FakeGuest(backend);
        guest.send(Packets.tcp(GUEST_IP, GATEWAY_IP, 40001, server.getLocalPort(), 1, 0, SYN, new byte[0]));
        Socket host = closeLater(server.accept());

        backend.close();
        assertFalse("loop thread finished", backend.running());
        assertEquals("slirp_cleanup freed its timer", 0, backend.timerCount());
        assertThrows(IOException.class, () -> backend.send(Packets.arpRequest(GUEST_MAC, GUEST_IP, GATEWAY_IP)));
        backend.close();   // idempotent

        host.setSoTimeout((int) TimeUnit.SECONDS.toMillis(TIMEOUT));
        try {
            assertEquals("the host side sees the connection end", -1, host.getInputStream().read());
        } catch (SocketTimeoutException e) {
            fail("connection still open after close");
        } catch (SocketException e) {
            // reset: ended as well
        }
        try (ServerSocket again = new ServerSocket(hostPort, 1, LOOPBACK)) {
            assertEquals(hostPort, again.getLocalPort());
        }
    }

    @Test
    public void aHostPortInUseFailsTheOpenClearly() throws Exception {
        ServerSocket taken = closeLater(new ServerSocket(0, 1, LOOPBACK));
        IOException e = assertThrows(IOException.class,
                () -> open("user,hostfwd=tcp:127.0.0.1:" + taken.getLocalPort() + "-:22"));
        assertTrue(e.getMessage(), e.getMessage().contains("cannot listen on 127.0.0.1:" + taken.getLocalPort()));
    }

    @Test
    public void routerSolicitationGetsAnAdvertisementOfFec0Prefix() throws Exception {
        FakeGuest guest = new FakeGuest(open("user"));
        guest.send(Packets.routerSolicitation());
        Frame ra = guest.await("Router Advertisement", f -> f.isIcmpv6(Packets.ICMPV6_RA), TIMEOUT);
        assertEquals(List.of("fec0:0:0:0:0:0:0:0/64"), ra.raPrefixes());
    }

    @Test
    public void guestMisbehaviourIsReportedNotFatal() throws Exception {
        SlirpBackend backend = open("user");
        FakeGuest guest = new FakeGuest(backend);
        // A guest must not advertise itself as a router: libslirp calls guest_error.
        guest.send(Packets.icmpv6(Packets.ICMPV6_RA, new byte[] {(byte) 0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
                new byte[] {0x33, 0x33, 0, 0, 0, 1}, new byte[8]));
        guest.send(Packets.arpRequest(GUEST_MAC, GUEST_IP, GATEWAY_IP));   // processed in order: a sync point
        guest.await("ARP reply", f -> f.isArp() && f.arpOp() == 2, TIMEOUT);
        assertEquals(1, backend.guestErrors());
        assertTrue(backend.running());
    }

    @Test
    public void runtFramesAreRefused() throws Exception {
        SlirpBackend backend = open("user");
        assertThrows(IOException.class, () -> backend.send(new byte[10]));
        assertEquals(1, backend.refusedFromGuest());
        assertTrue(backend.running());
    }

    @Test
    public void describeGivesTheCanonicalSpecification() throws Exception {
        assertEquals("user", open("user").describe());
    }

    /** A backend forwarding a free loopback port to {@code guestPort}; retried if another process takes the port first. */
    private SlirpBackend openWithForward(int guestPort) throws IOException {
        IOException last = null;
        for (int attempt = 0; attempt < 5; attempt++) {
            int port;
            try (ServerSocket probe = new ServerSocket(0, 1, LOOPBACK)) {
                port = probe.getLocalPort();
            }
            try {
                SlirpBackend b = open("user,hostfwd=tcp:127.0.0.1:" + port + "-:" + guestPort);
                assertNotNull(b);
                return b;
            } catch (IOException e) {
                last = e;
            }
        }
        throw last;
    }
}
