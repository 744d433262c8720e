package org.vireo.api.http;

import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import org.eclipse.jetty.ee10.servlet.ServletContextRequest;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.FutureCallback;
import org.eclipse.jetty.websocket.core.CloseStatus;
import org.eclipse.jetty.websocket.core.Configuration;
import org.eclipse.jetty.websocket.core.CoreSession;
import org.eclipse.jetty.websocket.core.Frame;
import org.eclipse.jetty.websocket.core.FrameHandler;
import org.eclipse.jetty.websocket.core.OpCode;
import org.eclipse.jetty.websocket.core.WebSocketComponents;
import org.eclipse.jetty.websocket.core.server.Handshaker;
import org.eclipse.jetty.websocket.core.server.ServerUpgradeRequest;
import org.eclipse.jetty.websocket.core.server.ServerUpgradeResponse;
import org.eclipse.jetty.websocket.core.server.WebSocketNegotiator;
import org.eclipse.jetty.websocket.core.server.WebSocketServerComponents;
import org.vireo.shell.api.Management.ConsoleAttachment;

/**
 * A VM's serial console as a WebSocket (RFC 6455, through Jetty's WebSocket core on the connection the Servlet
 * Whiteboard handed us): guest output goes out as binary frames, and the text or binary frames the client sends are
 * typed into the serial port. Felix HTTP for Jetty 12 (1.0.2) has no WebSocket container of its own, and Jetty's
 * ee10 Servlet does not implement {@code HttpServletRequest.upgrade}, so the servlet hands the request to Jetty's
 * WebSocket core {@link Handshaker} itself.
 * <p>
 * The VM writes console output on its own thread; {@link Outbox} never blocks it: output waits in a bounded buffer
 * (1 MiB) while a frame is in flight, and output beyond that is dropped and counted (a note says how much), so a
 * slow or stalled browser cannot stall the guest.
 */
final class ConsoleSocket {
    static final int MAX_PENDING = 1 << 20;
    static final int MAX_INPUT_MESSAGE = 64 * 1024;
    private static final long UPGRADE_SECONDS = 30;

    private ConsoleSocket() {}

    /** Upgrades the request to a console WebSocket; false (nothing written) if it is no WebSocket request. */
    static boolean upgrade(HttpServletRequest req, HttpServletResponse resp, Function<OutputStream, ConsoleAttachment> attach) throws IOException {
        ServletContextRequest request = ServletContextRequest.getServletContextRequest(req);
        Handshaker handshaker = Handshaker.newInstance();
        if (!handshaker.isWebSocketUpgradeRequest(request)) return false;
        WebSocketComponents components = WebSocketServerComponents.ensureWebSocketComponents(
                request.getConnectionMetaData().getConnector().getServer());
        WebSocketNegotiator negotiator = new WebSocketNegotiator() {
            @Override
            public FrameHandler negotiate(ServerUpgradeRequest upgradeRequest, ServerUpgradeResponse upgradeResponse, Callback callback) {
                return new Handler(attach);
            }

            @Override
            public void customize(Configuration configuration) {
                configuration.setIdleTimeout(Duration.ofDays(1)); // a console may be quiet for a long time
                configuration.setMaxTextMessageSize(MAX_INPUT_MESSAGE);
                configuration.setMaxBinaryMessageSize(MAX_INPUT_MESSAGE);
                configuration.setMaxFrameSize(MAX_INPUT_MESSAGE);
            }
        };
        FutureCallback callback = new FutureCallback();
        if (!handshaker.upgradeRequest(negotiator, request, request.getServletContextResponse(), callback, components, null)) return false;
        try {
            callback.get(UPGRADE_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted during the WebSocket upgrade", e);
        } catch (ExecutionException | TimeoutException e) {
            throw new IOException("WebSocket upgrade failed: " + e, e);
        }
        return true;
    }

    /** One console connection. */
    static final class Handler implements FrameHandler {
        private final Function<OutputStream, ConsoleAttachment> attach;
        private volatile CoreSession session;
        private volatile ConsoleAttachment attachment;
        private volatile Outbox outbox;

        Handler(Function<OutputStream, ConsoleAttachment> attach) { this.attach = attach; }

        @Override
        public void onOpen(CoreSession coreSession, Callback callback) {
            session = coreSession;
            outbox = new Outbox(coreSession);
            try {
                attachment = attach.apply(outbox);
            } catch (RuntimeException e) {
                callback.succeeded();
                coreSession.close(CloseStatus.SERVER_ERROR, truncate(String.valueOf(e.getMessage())), Callback.NOOP);
                return;
            }
            callback.succeeded();
            coreSession.demand();
        }

        @Override
        public void onFrame(Frame frame, Callback callback) {
            byte op = frame.getOpCode();
            if (op == OpCode.CLOSE) {
                callback.succeeded();
                return;
            }
            ConsoleAttachment a = attachment;
            if (a != null && frame.hasPayload() && (op == OpCode.TEXT || op == OpCode.BINARY || op == OpCode.CONTINUATION)) {
                ByteBuffer payload = frame.getPayload().slice();
                byte[] keys = new byte[payload.remaining()];
                payload.get(keys);
                a.send(keys, 0, keys.length);
            }
            callback.succeeded();
            session.demand();
        }

        @Override
        public void onError(Throwable cause, Callback callback) {
            detach();
            callback.succeeded();
        }

        @Override
        public void onClosed(CloseStatus closeStatus, Callback callback) {
            detach();
            callback.succeeded();
        }

        private void detach() {
            Outbox o = outbox;
            if (o != null) o.close();
            ConsoleAttachment a = attachment;
            attachment = null;
            if (a != null) a.close();
        }

        private static String truncate(String s) { return s.length() > 120 ? s.substring(0, 120) : s; }
    }

    /**
     * The stream the VM writes its console output to: never blocks, keeps at most {@link #MAX_PENDING} bytes while a
     * frame is in flight, and sends one binary frame at a time with everything pending.
     */
    static final class Outbox extends OutputStream {
        private final CoreSession session;
        private byte[] pending = new byte[4096];
        private int length;
        private long dropped;
        private boolean inFlight;
        private boolean closed;

        Outbox(CoreSession session) { this.session = session; }

        @Override
        public void write(int b) { write(new byte[] {(byte) b}, 0, 1); }

        @Override
        public void write(byte[] b, int off, int len) {
            synchronized (this) {
                if (closed) return;
                int room = MAX_PENDING - length;
                int take = Math.min(room, len);
                if (take < len) dropped += len - take;
                if (take > 0) {
                    if (length + take > pending.length) pending = java.util.Arrays.copyOf(pending, Math.min(MAX_PENDING, Math.max(pending.length * 2, length + take)));
                    System.arraycopy(b, off, pending, length, take);
                    length += take;
                }
            }
            flushPending();
        }

        /** Sends what is pending unless a frame is in flight (its completion sends the rest). */
        private void flushPending() {
            byte[] chunk;
            synchronized (this) {
                if (closed || inFlight || (length == 0 && dropped == 0)) return;
                byte[] note = dropped == 0 ? new byte[0]
                        : ("\r\n[vireo: " + dropped + " bytes of console output dropped: the browser did not keep up]\r\n").getBytes(java.nio.charset.StandardCharsets.UTF_8);
                chunk = new byte[length + note.length];
                System.arraycopy(pending, 0, chunk, 0, length);
                System.arraycopy(note, 0, chunk, length, note.length);
                length = 0;
                dropped = 0;
                if (pending.length > 64 * 1024) pending = new byte[4096];
                inFlight = true;
            }
            // Outside the lock: Jetty may complete the callback on this very thread.
            session.sendFrame(new Frame(OpCode.BINARY, ByteBuffer.wrap(chunk)), new Callback() {
                @Override
                public void succeeded() {
                    synchronized (Outbox.this) {
                        inFlight = false;
                    }
                    flushPending();
                }

                @Override
                public void failed(Throwable x) {
                    close();
                }
            }, false);
        }

        @Override
        public synchronized void close() {
            closed = true;
            length = 0;
            pending = new byte[0];
        }
    }
}
