package org.vireo.api.http;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.websocket.core.CoreSession;
import org.eclipse.jetty.websocket.core.Frame;
import org.eclipse.jetty.websocket.core.OpCode;
import org.junit.Test;

/** The console's outbox never blocks the VM's writer: a stalled client costs at most 1 MiB, and it is told what it lost. */
public class ConsoleOutboxTest {
    /** A WebSocket session whose client reads only when told to: frames wait until {@link #deliver} completes them. */
    private static final class StalledClient extends CoreSession.Empty {
        final List<byte[]> frames = new ArrayList<>();
        final List<Callback> waiting = new ArrayList<>();

        @Override
        public synchronized void sendFrame(Frame frame, Callback callback, boolean batch) {
            assertEquals(OpCode.BINARY, frame.getOpCode());
            byte[] b = new byte[frame.getPayloadLength()];
            frame.getPayload().slice().get(b);
            frames.add(b);
            waiting.add(callback);
        }

        void deliver() {
            Callback c;
            synchronized (this) {
                c = waiting.removeFirst();
            }
            c.succeeded();
        }
    }

    @Test
    public void aStalledClientNeverBlocksTheWriterAndLearnsWhatWasDropped() {
        StalledClient client = new StalledClient();
        ConsoleSocket.Outbox outbox = new ConsoleSocket.Outbox(client);
        outbox.write("first".getBytes(StandardCharsets.US_ASCII), 0, 5);
        assertEquals(1, client.frames.size());          // sent at once
        byte[] chunk = new byte[64 * 1024];
        long began = System.nanoTime();
        for (int i = 0; i < 48; i++) outbox.write(chunk, 0, chunk.length);   // 3 MiB while the first frame is in flight
        assertTrue("the writer was held up", System.nanoTime() - began < 2_000_000_000L);
        assertEquals("nothing more is sent while a frame is in flight", 1, client.frames.size());
        client.deliver();
        assertEquals(2, client.frames.size());
        String tail = new String(client.frames.get(1), ConsoleSocket.MAX_PENDING, client.frames.get(1).length - ConsoleSocket.MAX_PENDING,
                StandardCharsets.UTF_8);
        assertEquals("\r\n[vireo: " + (48 * 64 * 1024 - ConsoleSocket.MAX_PENDING)
                + " bytes of console output dropped: the browser did not keep up]\r\n", tail);
        client.deliver();
        outbox.write("after".getBytes(StandardCharsets.US_ASCII), 0, 5);
        assertEquals("after", new String(client.frames.get(2), StandardCharsets.US_ASCII));
    }

    @Test
    public void afterCloseOutputIsIgnored() {
        StalledClient client = new StalledClient();
        ConsoleSocket.Outbox outbox = new ConsoleSocket.Outbox(client);
        outbox.close();
        outbox.write(new byte[10], 0, 10);
        assertEquals(0, client.frames.size());
    }
}
