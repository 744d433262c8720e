package org.vireo.virtio.vsock;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;
import static org.vireo.virtio.vsock.VsockHeader.OP_CREDIT_REQUEST;
import static org.vireo.virtio.vsock.VsockHeader.OP_CREDIT_UPDATE;
import static org.vireo.virtio.vsock.VsockHeader.OP_REQUEST;
import static org.vireo.virtio.vsock.VsockHeader.OP_RESPONSE;
import static org.vireo.virtio.vsock.VsockHeader.OP_RST;
import static org.vireo.virtio.vsock.VsockHeader.OP_RW;
import static org.vireo.virtio.vsock.VsockHeader.OP_SHUTDOWN;
import static org.vireo.virtio.vsock.VsockHeader.SHUTDOWN_RCV;
import static org.vireo.virtio.vsock.VsockHeader.SHUTDOWN_SEND;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.logging.Level;
import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.vireo.virtio.testkit.LogCapture;
import org.vireo.virtio.vsock.FakeGuest.Packet;

/** The device between a fake guest driver (testkit rings) and host processes on real Unix domain sockets. */
public class VsockDeviceTest {
    private static final int BIG = 1 << 20;

    @Rule public TemporaryFolder tmp = new TemporaryFolder();

    private Path sock;
    private VsockDevice device;
    private FakeGuest guest;
    private LogCapture logs;
    private final List<AutoCloseable> closeables = new ArrayList<>();

    @Before
    public void setUp() throws IOException {
        logs = LogCapture.of("org.vireo");
        sock = tmp.getRoot().toPath().resolve("v.sock");
        device = VsockDevice.open(sock, FakeGuest.CID, "vsock0");
        guest = new FakeGuest(device);
    }

    @After
    public void tearDown() throws Exception {
        for (AutoCloseable c : closeables) c.close();
        guest.close();
        device.close();
        assertFalse("HOST.sock removed on close", Files.exists(sock));
        assertTrue("nothing logged at ERROR:\n" + logs.warnings(), logs.atLeast(Level.SEVERE).isEmpty());
        logs.close();
    }

    private ServerSocketChannel hostListener(int port) throws IOException {
        ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        s.bind(UnixDomainSocketAddress.of(Path.of(sock + "_" + port)));
        closeables.add(s);
        return s;
    }

    private HostEnd accept(ServerSocketChannel s) throws IOException {
        HostEnd e = new HostEnd(s.accept());
        closeables.add(e);
        return e;
    }

    /** The guest connects from {@code guestPort} to host port {@code port}, where a listener waits; the host's end. */
    private HostEnd guestConnects(ServerSocketChannel listener, int guestPort, int port) throws Exception {
        guest.send(FakeGuest.header(guestPort, port, OP_REQUEST, 0, 0, BIG, 0));
        Packet p = guest.expect(OP_RESPONSE);
        assertEquals(port, p.header().srcPort());
        assertEquals(guestPort, p.header().dstPort());
        assertEquals(VsockHeader.HOST_CID, p.header().srcCid());
        assertEquals(FakeGuest.CID, p.header().dstCid());
        assertEquals(VsockDevice.BUF_ALLOC, p.header().bufAlloc());
        return accept(listener);
    }

    /** A host process connects to HOST.sock for guest port {@code port} and the guest accepts; returns the host end and the host port. */
    private Map.Entry<HostEnd, Integer> hostConnects(int port) throws Exception {
        HostEnd host = HostEnd.connect(sock);
        closeables.add(host);
        host.write("CONNECT " + port + "\n");
        Packet req = guest.expect(OP_REQUEST);
        assertEquals(port, req.header().dstPort());
        assertEquals(FakeGuest.CID, req.header().dstCid());
        int hostPort = req.header().srcPort();
        assertTrue("host port " + Integer.toUnsignedString(hostPort), Integer.compareUnsigned(hostPort, VsockDevice.FIRST_HOST_PORT) >= 0);
        guest.send(FakeGuest.header(port, hostPort, OP_RESPONSE, 0, 0, BIG, 0));
        assertEquals("OK " + hostPort + "\n", host.readLine(10_000));
        return Map.entry(host, hostPort);
    }

    /** Receives RW payloads on one connection until {@code count} bytes arrived, answering as a guest that reads at once. */
    private byte[] guestReceives(int count, int guestPort, int hostPort) throws Exception {
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        int fwd = 0;
        while (got.size() < count) {
            Packet p = guest.receive();
            if (p.op() == OP_CREDIT_REQUEST) continue;
            assertEquals("op of " + p, "RW", VsockHeader.opName(p.op()));
            assertEquals(hostPort, p.header().srcPort());
            assertEquals(guestPort, p.header().dstPort());
            got.write(p.payload());
            fwd += p.payload().length;
            guest.send(FakeGuest.header(guestPort, hostPort, OP_CREDIT_UPDATE, 0, 0, BIG, fwd));
        }
        return got.toByteArray();
    }

    private static byte[] pattern(int n, int seed) {
        byte[] b = new byte[n];
        new SplittableRandom(seed).nextBytes(b);
        return b;
    }

    @Test
    public void configHoldsTheGuestCid() {
        assertEquals(19, device.deviceId());
        assertEquals(3, device.queueCount());
        assertEquals((int) FakeGuest.CID, device.readConfig(0, 4));
        assertEquals(0, device.readConfig(4, 4));
        device.writeConfig(0, 4, 99);
        assertEquals((int) FakeGuest.CID, device.readConfig(0, 4));
    }

    @Test
    public void guestConnectsToAHostListenerAndDataFlowsBothWays() throws Exception {
        ServerSocketChannel l = hostListener(5000);
        HostEnd host = guestConnects(l, 1234, 5000);
        byte[] up = "hello host".getBytes(StandardCharsets.US_ASCII);
        guest.send(FakeGuest.header(1234, 5000, OP_RW, up.length, 0, BIG, 0), up);
        assertArrayEquals(up, host.read(up.length, 10_000));
        host.write("hello guest");
        assertEquals("hello guest", new String(guestReceives(11, 1234, 5000), StandardCharsets.US_ASCII));
        assertEquals(1, device.connectionCount());
    }

    @Test
    public void guestConnectToAPortNobodyListensOnIsReset() throws Exception {
        guest.send(FakeGuest.header(1234, 5001, OP_REQUEST, 0, 0, BIG, 0));
        Packet rst = guest.expect(OP_RST);
        assertEquals(5001, rst.header().srcPort());
        assertEquals(1234, rst.header().dstPort());
        assertEquals(0, device.connectionCount());
    }

    @Test
    public void hostConnectsToAGuestListenerAndDataFlowsBothWays() throws Exception {
        var c = hostConnects(52);
        HostEnd host = c.getKey();
        int hostPort = c.getValue();
        byte[] down = pattern(200_000, 1);
        host.writeInBackground(down);
        assertArrayEquals(down, guestReceives(down.length, 52, hostPort));
        byte[] up = pattern(3000, 2);
        guest.send(FakeGuest.header(52, hostPort, OP_RW, up.length, 0, BIG, down.length), up);
        assertArrayEquals(up, host.read(up.length, 10_000));
    }

    @Test
    public void bytesAfterTheConnectLineGoToTheGuest() throws Exception {
        HostEnd host = HostEnd.connect(sock);
        closeables.add(host);
        host.write("CONNECT 7\nearly");
        Packet req = guest.expect(OP_REQUEST);
        guest.send(FakeGuest.header(7, req.header().srcPort(), OP_RESPONSE, 0, 0, BIG, 0));
        assertEquals("OK " + req.header().srcPort() + "\n", host.readLine(10_000));
        assertEquals("early", new String(guestReceives(5, 7, req.header().srcPort()), StandardCharsets.US_ASCII));
    }

    @Test
    public void aGuestThatRefusesClosesTheHostSocketWithoutOk() throws Exception {
        HostEnd host = HostEnd.connect(sock);
        closeables.add(host);
        host.write("CONNECT 53\n");
        Packet req = guest.expect(OP_REQUEST);
        guest.send(FakeGuest.header(53, req.header().srcPort(), OP_RST, 0, 0, 0, 0));
        byte[] rest = host.readToEof(10_000);
        assertNotNull("host socket closed", rest);
        assertEquals(0, rest.length);
        assertEquals(0, device.connectionCount());
    }

    @Test
    public void badConnectLinesAreClosed() throws Exception {
        for (String line : new String[] {"HELLO 5\n", "CONNECT\n", "CONNECT 4294967296\n", "CONNECT -1\n", "CONNECT 5x\n", "x".repeat(100)}) {
            try (HostEnd host = HostEnd.connect(sock)) {
                host.write(line);
                assertNotNull("closed after " + line.strip(), host.readToEof(10_000));
            }
        }
        assertNull("the guest was asked nothing", guest.receive(200));
        assertEquals(Integer.valueOf(0), VsockDevice.parseConnect("CONNECT 0"));
        assertEquals(Integer.valueOf(-2), VsockDevice.parseConnect("CONNECT 4294967294"));
    }

    @Test
    public void hostDataIsHeldBackByTheGuestsCredit() throws Exception {
        HostEnd host = HostEnd.connect(sock);
        closeables.add(host);
        host.write("CONNECT 60\n");
        Packet req = guest.expect(OP_REQUEST);
        int hp = req.header().srcPort();
        int credit = 10_000;
        guest.send(FakeGuest.header(60, hp, OP_RESPONSE, 0, 0, credit, 0));
        assertEquals("OK " + hp + "\n", host.readLine(10_000));
        host.writeInBackground(pattern(BIG, 3));
        // The credit's worth arrives, then a CREDIT_REQUEST (the device has more and may not send it); then nothing.
        int got = 0;
        Packet p;
        while ((p = guest.receive()).op() != OP_CREDIT_REQUEST) {
            assertEquals(OP_RW, p.op());
            got += p.payload().length;
        }
        assertEquals("exactly the guest's credit arrives", credit, got);
        assertNull("nothing beyond the credit", guest.receive(300));
        // The guest reads it all: credit for 10000 more, and again a request once they are sent.
        guest.send(FakeGuest.header(60, hp, OP_CREDIT_UPDATE, 0, 0, credit, credit));
        int more = 0;
        while ((p = guest.receive()).op() != OP_CREDIT_REQUEST) more += p.payload().length;
        assertEquals(credit, more);
        assertNull(guest.receive(300));
    }

    @Test
    public void aGuestSendingBeyondItsCreditIsReset() throws Exception {
        ServerSocketChannel l = hostListener(5002);
        HostEnd host = guestConnects(l, 1, 5002);
        // The host never reads: the device's buffer (BUF_ALLOC) fills, then one more packet breaks the credit.
        byte[] chunk = new byte[VsockDevice.MAX_PAYLOAD];
        int sent = 0;
        Packet rst = null;
        for (int i = 0; i < 64 && rst == null; i++) {
            guest.send(FakeGuest.header(1, 5002, OP_RW, chunk.length, 0, BIG, 0), chunk);
            sent += chunk.length;
            Packet p;
            while ((p = guest.receive(20)) != null) if (p.op() == OP_RST) rst = p;
        }
        if (rst == null) rst = guest.receive();
        assertEquals(OP_RST, rst.op());
        assertTrue("reset only after the buffer could not take more: " + sent, sent > VsockDevice.BUF_ALLOC);
        assertNotNull("host socket closed", host.readToEof(10_000));
        assertTrue(logs.warnings(), logs.warnings().contains("credit"));
    }

    @Test
    public void gracefulShutdownBothWays() throws Exception {
        var c = hostConnects(70);
        HostEnd host = c.getKey();
        int hp = c.getValue();
        host.write("bye");
        host.channel.shutdownOutput();
        assertEquals("bye", new String(guestReceives(3, 70, hp), StandardCharsets.US_ASCII));
        Packet sd = guest.expect(OP_SHUTDOWN);
        assertEquals(SHUTDOWN_SEND, sd.header().flags());
        // The guest answers and closes: the host reads the answer and EOF, the guest gets the RST it waits for.
        guest.send(FakeGuest.header(70, hp, OP_RW, 2, 0, BIG, 3), "ok".getBytes(StandardCharsets.US_ASCII));
        guest.send(FakeGuest.header(70, hp, OP_SHUTDOWN, 0, SHUTDOWN_RCV | SHUTDOWN_SEND, BIG, 3));
        assertArrayEquals("ok".getBytes(StandardCharsets.US_ASCII), host.readToEof(10_000));
        guest.expect(OP_RST);
        assertEquals(0, device.connectionCount());
    }

    @Test
    public void guestHalfCloseGivesTheHostEof() throws Exception {
        ServerSocketChannel l = hostListener(5003);
        HostEnd host = guestConnects(l, 9, 5003);
        guest.send(FakeGuest.header(9, 5003, OP_RW, 4, 0, BIG, 0), "data".getBytes(StandardCharsets.US_ASCII));
        guest.send(FakeGuest.header(9, 5003, OP_SHUTDOWN, 0, SHUTDOWN_SEND, BIG, 0));
        assertArrayEquals("data".getBytes(StandardCharsets.US_ASCII), host.readToEof(10_000));
        host.write("reply");     // the other direction still works
        assertEquals("reply", new String(guestReceives(5, 9, 5003), StandardCharsets.US_ASCII));
        host.channel.close();
        guest.expect(OP_SHUTDOWN);
        guest.expect(OP_RST);
        assertEquals(0, device.connectionCount());
    }

    @Test
    public void guestRstClosesTheHostSocket() throws Exception {
        ServerSocketChannel l = hostListener(5004);
        HostEnd host = guestConnects(l, 10, 5004);
        guest.send(FakeGuest.header(10, 5004, OP_RST, 0, 0, 0, 0));
        assertNotNull(host.readToEof(10_000));
        assertEquals(0, device.connectionCount());
        assertNull("an RST is never answered", guest.receive(200));
    }

    @Test
    public void manyConnectionsAtOnce() throws Exception {
        int n = 24;
        ServerSocketChannel l = hostListener(6000);
        List<HostEnd> hosts = new ArrayList<>();
        for (int i = 0; i < n; i++) hosts.add(guestConnects(l, 100 + i, 6000));
        List<Map.Entry<HostEnd, Integer>> incoming = new ArrayList<>();
        for (int i = 0; i < n; i++) incoming.add(hostConnects(200 + i));
        assertEquals(2 * n, device.connectionCount());
        // Every host end writes at once; the guest sorts what arrives by connection.
        Map<Integer, ByteArrayOutputStream> got = new HashMap<>();
        Map<Integer, Integer> fwd = new HashMap<>();
        for (int i = 0; i < n; i++) hosts.get(i).write(pattern(5000, 100 + i));
        for (int i = 0; i < n; i++) incoming.get(i).getKey().write(pattern(5000, 200 + i));
        int total = 0;
        while (total < 2 * n * 5000) {
            Packet p = guest.receive();
            if (p.op() != OP_RW) continue;
            int gp = p.header().dstPort();
            got.computeIfAbsent(gp, k -> new ByteArrayOutputStream()).write(p.payload());
            total += p.payload().length;
            int f = fwd.merge(gp, p.payload().length, Integer::sum);
            guest.send(FakeGuest.header(gp, p.header().srcPort(), OP_CREDIT_UPDATE, 0, 0, BIG, f));
        }
        for (int i = 0; i < n; i++) {
            assertArrayEquals("guest port " + (100 + i), pattern(5000, 100 + i), got.get(100 + i).toByteArray());
            assertArrayEquals("guest port " + (200 + i), pattern(5000, 200 + i), got.get(200 + i).toByteArray());
        }
        // And back: each guest port sends its own bytes.
        for (int i = 0; i < n; i++) {
            byte[] up = pattern(3000, 300 + i);
            guest.send(FakeGuest.header(100 + i, 6000, OP_RW, up.length, 0, BIG, 5000), up);
            int hp = incoming.get(i).getValue();
            byte[] up2 = pattern(3000, 400 + i);
            guest.send(FakeGuest.header(200 + i, hp, OP_RW, up2.length, 0, BIG, 5000), up2);
        }
        for (int i = 0; i < n; i++) {
            assertArrayEquals(pattern(3000, 300 + i), hosts.get(i).read(3000, 10_000));
            assertArrayEquals(pattern(3000, 400 + i), incoming.get(i).getKey().read(3000, 10_000));
        }
    }

    @Test
    public void hostilePacketsNeverThrowAndAreLoggedOncePerKind() throws Exception {
        for (int round = 0; round < 20; round++) {
            guest.sendRaw(new byte[10]);                                                       // shorter than a header
            guest.send(FakeGuest.header(1, 2, OP_RW, 100, 0, 0, 0));                             // length beyond its buffer
            guest.send(FakeGuest.header(1, 2, OP_RW, -1, 0, 0, 0));                              // 4 GiB
            guest.send(new VsockHeader(7, 2, 1, 2, 0, 1, OP_REQUEST, 0, 0, 0));                  // another guest's CID
            guest.send(new VsockHeader(FakeGuest.CID, 2, 1, 2, 0, 2, OP_REQUEST, 0, 0, 0));      // SEQPACKET
            guest.send(new VsockHeader(FakeGuest.CID, 9, 1, 2, 0, 1, OP_REQUEST, 0, 0, 0));      // not the host
            guest.send(FakeGuest.header(1, 2, 99, 0, 0, 0, 0));                                  // unknown op, no connection
            guest.send(FakeGuest.header(1, 2, OP_RESPONSE, 0, 0, 0, 0));                         // no connection
        }
        int rsts = 0;
        Packet p;
        while ((p = guest.receive(300)) != null) {
            assertEquals(OP_RST, p.op());
            rsts++;
        }
        assertEquals("RST for SEQPACKET, another CID, an unknown op and a stray RESPONSE", 20 * 4, rsts);
        long warnings = logs.atLeast(Level.WARNING).size();
        assertTrue("at most one warning per kind, got " + warnings + ":\n" + logs.warnings(), warnings <= 4);
        // Still serving.
        ServerSocketChannel l = hostListener(5005);
        guestConnects(l, 1, 5005);
    }

    @Test
    public void unknownOpOnAConnectionResetsIt() throws Exception {
        ServerSocketChannel l = hostListener(5006);
        HostEnd host = guestConnects(l, 11, 5006);
        guest.send(FakeGuest.header(11, 5006, 42, 0, 0, BIG, 0));
        guest.expect(OP_RST);
        assertNotNull(host.readToEof(10_000));
        assertEquals(0, device.connectionCount());
    }

    @Test
    public void creditRequestIsAnswered() throws Exception {
        ServerSocketChannel l = hostListener(5007);
        guestConnects(l, 12, 5007);
        guest.send(FakeGuest.header(12, 5007, OP_CREDIT_REQUEST, 0, 0, BIG, 0));
        Packet u = guest.expect(OP_CREDIT_UPDATE);
        assertEquals(VsockDevice.BUF_ALLOC, u.header().bufAlloc());
        assertEquals(0, u.header().fwdCnt());
    }

    @Test
    public void aFloodOfRequestsWithoutReceiveBuffersStallsTransmit() throws Exception {
        guest.close();
        guest = new FakeGuest(device, 0);       // no receive buffers at all
        int n = VsockDevice.MAX_PENDING_RST + 50;
        for (int i = 0; i < n; i++) guest.h.submit(VsockDevice.TX, FakeGuest.header(i, 4000, OP_REQUEST, 0, 0, BIG, 0).encode());
        guest.h.kick(VsockDevice.TX);
        int used = 0;
        while (guest.h.awaitUsed(VsockDevice.TX, 300, java.util.concurrent.TimeUnit.MILLISECONDS) != null) used++;
        assertEquals("transmit stops once " + VsockDevice.MAX_PENDING_RST + " RSTs wait", VsockDevice.MAX_PENDING_RST, used);
        guest.postRx(200);
        int rsts = 0;
        Packet p;
        while ((p = guest.receive(500)) != null) {
            assertEquals(OP_RST, p.op());
            rsts++;
        }
        while (guest.h.awaitUsed(VsockDevice.TX, 300, java.util.concurrent.TimeUnit.MILLISECONDS) != null) used++;
        assertEquals(n, used);
        assertEquals(n, rsts);
    }

    @Test
    public void transportResetEventDropsConnections() throws Exception {
        ServerSocketChannel l = hostListener(5008);
        HostEnd host = guestConnects(l, 13, 5008);
        device.resetTransport();
        assertNotNull("the host socket is closed", host.readToEof(10_000));
        assertEquals(0, device.connectionCount());
        assertEquals("no event buffer yet: nothing used", -1, guest.awaitEvent(200));
        guest.h.submitIn(VsockDevice.EVENT, 4);
        guest.h.kick(VsockDevice.EVENT);
        assertEquals(VsockHeader.EVENT_TRANSPORT_RESET, guest.awaitEvent(10_000));
        // A new CID: config changes, and another event.
        guest.h.submitIn(VsockDevice.EVENT, 4);
        guest.h.kick(VsockDevice.EVENT);
        device.setGuestCid(77);
        assertEquals(77, device.readConfig(0, 4));
        assertEquals(VsockHeader.EVENT_TRANSPORT_RESET, guest.awaitEvent(10_000));
        device.setGuestCid(FakeGuest.CID);
    }

    @Test
    public void deviceResetClosesHostSockets() throws Exception {
        ServerSocketChannel l = hostListener(5009);
        HostEnd host = guestConnects(l, 14, 5009);
        var c = hostConnects(80);
        guest.h.reset();
        assertNotNull(host.readToEof(10_000));
        assertNotNull(c.getKey().readToEof(10_000));
        assertEquals(0, device.connectionCount());
        // Before the driver is back, a host CONNECT is refused.
        try (HostEnd early = HostEnd.connect(sock)) {
            early.write("CONNECT 80\n");
            assertNotNull(early.readToEof(10_000));
        }
    }

    @Test
    public void aSilentHostConnectionIsClosedAfterTheSetupTimeout() throws Exception {
        try (HostEnd host = HostEnd.connect(sock)) {
            assertNotNull("closed", host.readToEof(VsockDevice.SETUP_TIMEOUT_MILLIS + 5000));
        }
    }

    @Test
    public void aGuestThatNeverAnswersTimesOut() throws Exception {
        HostEnd host = HostEnd.connect(sock);
        closeables.add(host);
        host.write("CONNECT 90\n");
        guest.expect(OP_REQUEST);
        assertNotNull(host.readToEof(VsockDevice.SETUP_TIMEOUT_MILLIS + 5000));
        guest.expect(OP_RST);       // the guest is told to forget the request
        assertEquals(0, device.connectionCount());
    }

    @Test
    public void aStaleSocketFileIsReplacedAndALiveOneRefused() throws Exception {
        Path other = tmp.getRoot().toPath().resolve("o.sock");
        ServerSocketChannel stale = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        stale.bind(UnixDomainSocketAddress.of(other));
        try {
            VsockDevice.open(other, 3, "x").close();
            fail("a socket someone listens on must be refused");
        } catch (IOException expected) {
            assertTrue(expected.getMessage(), expected.getMessage().contains("in use"));
        }
        stale.close();      // the file stays, nobody listens
        assertTrue(Files.exists(other));
        VsockDevice.open(other, 3, "x").close();
        Path file = tmp.newFile("plain").toPath();
        try {
            VsockDevice.open(file, 3, "x").close();
            fail("a regular file is not replaced");
        } catch (IOException expected) {
            assertTrue(Files.exists(file));
        }
        try {
            VsockDevice.open(tmp.getRoot().toPath().resolve("c.sock"), 2, "x").close();
            fail("CID 2 is the host's");
        } catch (IllegalArgumentException expected) {
            assertTrue(expected.getMessage().contains("reserved"));
        }
    }
}
