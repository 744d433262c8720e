package org.vireo.difftest;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.After;
import org.junit.Test;

public class GdbClientTest {
    @Test
    public void checksumAndFraming() {
        assertEquals("$g#67", GdbClient.frame("g"));
        assertEquals("$qSupported#37", GdbClient.frame("qSupported"));
        // '#', '$', '}' and '*' are escaped as '}' + (byte ^ 0x20), and the checksum covers the escaped body.
        assertEquals("$X}\u0003}\u0004}]}\n#" + String.format("%02x", GdbClient.checksum("X}\u0003}\u0004}]}\n")),
                GdbClient.frame("X#$}*"));
    }

    @Test
    public void decodeUndoesEscapesAndRunLengths() {
        assertEquals("0000", GdbClient.decode("0* "));              // ' ' - 29 = 3 more copies
        assertEquals("xyyyyyyz", GdbClient.decode("xy*\"z"));       // '"' - 29 = 5 more copies
        assertEquals("a#b}", GdbClient.decode("a}\u0003b}]"));
    }

    // ---- a scripted stub on loopback

    /** A fake stub: answers each received packet with {@code reply}; can NAK the first packet once. */
    private static final class FakeStub implements AutoCloseable {
        final ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        final List<String> received = new ArrayList<>();
        final CompletableFuture<Void> done;

        FakeStub(boolean nakFirst, Function<String, List<String>> reply) throws IOException {
            done = CompletableFuture.runAsync(() -> {
                try (Socket s = server.accept()) {
                    s.setSoTimeout(10_000);
                    InputStream in = s.getInputStream();
                    OutputStream out = s.getOutputStream();
                    boolean nak = nakFirst;
                    while (true) {
                        int c = in.read();
                        if (c < 0) return;
                        if (c != '$') continue;
                        ByteArrayOutputStream body = new ByteArrayOutputStream();
                        while ((c = in.read()) != '#') body.write(c);
                        in.read();
                        in.read();
                        if (nak) {
                            nak = false;
                            out.write('-');
                            continue;
                        }
                        out.write('+');
                        String p = body.toString(StandardCharsets.ISO_8859_1);
                        synchronized (received) {
                            received.add(p);
                        }
                        for (String r : reply.apply(p)) {
                            out.write(GdbClient.frame(r).getBytes(StandardCharsets.ISO_8859_1));
                            out.flush();
                            if (in.read() != '+') throw new IllegalStateException("client did not ack");
                        }
                    }
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            });
        }

        GdbClient client() throws IOException {
            return GdbClient.connect("127.0.0.1", server.getLocalPort(), Duration.ofSeconds(10), Duration.ofSeconds(10), () -> true);
        }

        @Override
        public void close() throws Exception {
            server.close();
            done.get(10, TimeUnit.SECONDS);
        }
    }

    private FakeStub stub;

    @After
    public void closeStub() throws Exception {
        if (stub != null) stub.close();
    }

    @Test
    public void resendsAfterNakAndReadsMemory() throws Exception {
        stub = new FakeStub(true, p -> List.of(p.equals("m1000,4") ? "0102ff7f" : "E01"));
        try (GdbClient c = stub.client()) {
            assertArrayEquals(new byte[] {1, 2, -1, 0x7f}, c.readMemory(0x1000, 4));
        }
        synchronized (stub.received) {
            assertEquals(List.of("m1000,4"), stub.received);
        }
    }

    @Test
    public void errorRepliesBecomeExceptions() throws Exception {
        stub = new FakeStub(false, p -> List.of("E14"));
        try (GdbClient c = stub.client()) {
            c.readMemory(0, 1);
            throw new AssertionError("E14 must fail the read");
        } catch (GdbClient.GdbException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("E14"));
        }
    }

    @Test
    public void xferIsReadInPiecesUntilTheLastOne() throws Exception {
        stub = new FakeStub(false, p -> List.of(p.endsWith(":0,800") ? "m<target>" : p.endsWith(":8,800") ? "l</target>" : "E00"));
        try (GdbClient c = stub.client()) {
            assertEquals("<target></target>", c.readXfer("features", "target.xml"));
        }
    }

    @Test
    public void monitorCollectsConsoleOutputUntilOk() throws Exception {
        String hello = "CPU#0\nRAX=1\n";
        stub = new FakeStub(false, p -> List.of("O" + java.util.HexFormat.of().formatHex(hello.getBytes(StandardCharsets.UTF_8)), "OK"));
        try (GdbClient c = stub.client()) {
            assertEquals(hello, c.monitor("info registers"));
        }
        synchronized (stub.received) {
            assertEquals("qRcmd,696e666f20726567697374657273", stub.received.get(0));
        }
    }

    @Test
    public void stopRepliesAreParsed() {
        assertEquals(5, GdbClient.StopReply.parse("T05thread:01;").signal());
        assertTrue(GdbClient.StopReply.parse("W00").exited());
        assertEquals('S', GdbClient.StopReply.parse("S02").kind());
    }
}
