package org.vireo.difftest;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HexFormat;
import java.util.function.BooleanSupplier;

/**
 * A client of the GDB remote serial protocol over TCP: {@code $payload#checksum} packets, '+'/'-' acknowledgement,
 * '}' escapes and '*' run-length encoding in replies. Payloads are handled as ISO-8859-1 strings so binary data
 * survives unchanged. One request is in flight at a time; not thread-safe.
 */
public final class GdbClient implements AutoCloseable {
    private static final HexFormat HEX = HexFormat.of();
    /** Largest memory transfer per 'm'/'M' packet; QEMU announces PacketSize=1000 (hex), two hex digits per byte. */
    static final int MEMORY_CHUNK = 1024;

    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;
    private final Duration replyTimeout;

    /** A stop reply: 'T'/'S' with a signal, 'W' exited, 'X' killed; {@code raw} is the whole packet. */
    public record StopReply(char kind, int signal, String raw) {
        public boolean exited() { return kind == 'W' || kind == 'X'; }

        static StopReply parse(String p) {
            if (p.isEmpty()) throw new GdbException("empty stop reply");
            char k = p.charAt(0);
            if (k != 'T' && k != 'S' && k != 'W' && k != 'X') throw new GdbException("unexpected stop reply: " + p);
            int sig = p.length() >= 3 ? Integer.parseInt(p.substring(1, 3), 16) : 0;
            return new StopReply(k, sig, p);
        }
    }

    /** The stub answered with an error, an unexpected reply, or the link failed. */
    public static final class GdbException extends RuntimeException {
        public GdbException(String message) { super(message); }

        public GdbException(String message, Throwable cause) { super(message, cause); }
    }

    GdbClient(Socket socket, Duration replyTimeout) throws IOException {
        this.socket = socket;
        this.replyTimeout = replyTimeout;
        socket.setTcpNoDelay(true);
        socket.setSoTimeout((int) replyTimeout.toMillis());
        this.in = new BufferedInputStream(socket.getInputStream());
        this.out = socket.getOutputStream();
    }

    /**
     * Connects to a stub at {@code host:port}, retrying while it is not yet listening, until {@code connectTimeout}.
     * {@code alive} is polled between tries so a stub process that died stops the wait at once.
     */
    public static GdbClient connect(String host, int port, Duration connectTimeout, Duration replyTimeout,
                                    BooleanSupplier alive) throws IOException {
        long deadline = System.nanoTime() + connectTimeout.toNanos();
        IOException last = null;
        while (System.nanoTime() < deadline && alive.getAsBoolean()) {
            Socket s = new Socket();
            try {
                s.connect(new InetSocketAddress(host, port), 1000);
                return new GdbClient(s, replyTimeout);
            } catch (ConnectException | SocketTimeoutException e) {
                last = e;
                s.close();
                try {
                    Thread.sleep(50);   // polling a port that is not open yet; not a synchronisation
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted while connecting", ie);
                }
            }
        }
        throw new IOException("no GDB stub at " + host + ":" + port + (last != null ? ": " + last.getMessage() : ""));
    }

    // ------------------------------------------------------------------ framing

    static int checksum(String payload) {
        int sum = 0;
        for (int i = 0; i < payload.length(); i++) sum += payload.charAt(i) & 0xff;
        return sum & 0xff;
    }

    /** Escapes the bytes the protocol reserves ('$', '#', '}', '*') and frames the packet. */
    static String frame(String payload) {
        StringBuilder b = new StringBuilder(payload.length() + 4);
        for (int i = 0; i < payload.length(); i++) {
            char c = payload.charAt(i);
            if (c == '$' || c == '#' || c == '}' || c == '*') b.append('}').append((char) (c ^ 0x20));
            else b.append(c);
        }
        String body = b.toString();
        return "$" + body + "#" + String.format("%02x", checksum(body));
    }

    /** Undoes '}' escapes and expands '*' run-length encoding (count = next char - 29) of a received body. */
    static String decode(String body) {
        StringBuilder b = new StringBuilder(body.length());
        for (int i = 0; i < body.length(); i++) {
            char c = body.charAt(i);
            if (c == '}' && i + 1 < body.length()) {
                b.append((char) (body.charAt(++i) ^ 0x20));
            } else if (c == '*' && i + 1 < body.length() && !b.isEmpty()) {
                int repeat = body.charAt(++i) - 29;
                char prev = b.charAt(b.length() - 1);
                for (int k = 0; k < repeat; k++) b.append(prev);
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    private void writeRaw(String s) throws IOException {
        out.write(s.getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
    }

    private int readByte() throws IOException {
        int c = in.read();
        if (c < 0) throw new EOFException("GDB stub closed the connection");
        return c;
    }

    /** Sends one packet and waits for its '+' (resending on '-', up to 3 times). */
    void send(String payload) throws IOException {
        String framed = frame(payload);
        for (int attempt = 0; attempt < 3; attempt++) {
            writeRaw(framed);
            while (true) {
                int c = readByte();
                if (c == '+') return;
                if (c == '-') break;
                // Anything else before the ack (a stray byte) is skipped.
            }
        }
        throw new GdbException("stub refused packet 3 times: " + payload);
    }

    /** Receives one packet, verifies its checksum (answering '+' or '-'), returns the decoded body. */
    String receive() throws IOException {
        for (int attempt = 0; attempt < 3; attempt++) {
            int c;
            while ((c = readByte()) != '$') {
                // Skip acks and noise between packets.
            }
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            while ((c = readByte()) != '#') body.write(c);
            int hi = Character.digit(readByte(), 16), lo = Character.digit(readByte(), 16);
            String raw = body.toString(StandardCharsets.ISO_8859_1);
            if (hi >= 0 && lo >= 0 && ((hi << 4) | lo) == checksum(raw)) {
                writeRaw("+");
                return decode(raw);
            }
            writeRaw("-");
        }
        throw new GdbException("3 packets with bad checksums from the stub");
    }

    /** One request, one reply. */
    public String request(String payload) {
        try {
            send(payload);
            return receive();
        } catch (SocketTimeoutException e) {
            throw new GdbException("no reply within " + replyTimeout.toMillis() + " ms to " + abbreviate(payload), e);
        } catch (IOException e) {
            throw new GdbException("GDB link failed on " + abbreviate(payload) + ": " + e.getMessage(), e);
        }
    }

    private static String abbreviate(String s) { return s.length() > 40 ? s.substring(0, 40) + "..." : s; }

    /** A request whose reply must be "OK". */
    public void requestOk(String payload) {
        String r = request(payload);
        if (!"OK".equals(r)) throw new GdbException(abbreviate(payload) + " failed: '" + r + "'");
    }

    private static void checkError(String request, String reply) {
        if (reply.isEmpty()) throw new GdbException("stub does not support " + abbreviate(request));
        if (reply.length() == 3 && reply.charAt(0) == 'E' && Character.digit(reply.charAt(1), 16) >= 0) {
            throw new GdbException(abbreviate(request) + " failed: " + reply);
        }
    }

    // ------------------------------------------------------------------ commands

    /** qSupported; returns the stub's feature list. */
    public String handshake() {
        return request("qSupported:xmlRegisters=i386");
    }

    /** Reads a whole qXfer object (e.g. features/target.xml) in pieces. */
    public String readXfer(String object, String annex) {
        StringBuilder b = new StringBuilder();
        while (true) {
            String q = "qXfer:" + object + ":read:" + annex + ":" + Integer.toHexString(b.length()) + ",800";
            String r = request(q);
            checkError(q, r);
            char k = r.charAt(0);
            if (k != 'm' && k != 'l') throw new GdbException("bad qXfer reply for " + annex + ": " + abbreviate(r));
            b.append(r, 1, r.length());
            if (k == 'l' || r.length() == 1) return b.toString();
        }
    }

    /** '?': why the target stopped. */
    public StopReply haltReason() { return StopReply.parse(request("?")); }

    /** 'g': all registers, as raw target-order bytes. */
    public byte[] readRegisters() {
        String r = request("g");
        checkError("g", r);
        return HEX.parseHex(r);
    }

    /** 'P': writes register {@code regnum} with raw target-order bytes. */
    public void writeRegister(int regnum, byte[] value) {
        requestOk("P" + Integer.toHexString(regnum) + "=" + HEX.formatHex(value));
    }

    /** 'm', in chunks. Addresses are virtual unless physical mode was selected with {@link #physicalMemoryMode}. */
    public byte[] readMemory(long address, int length) {
        byte[] result = new byte[length];
        for (int off = 0; off < length; off += MEMORY_CHUNK) {
            int n = Math.min(MEMORY_CHUNK, length - off);
            String q = "m" + Long.toHexString(address + off) + "," + Integer.toHexString(n);
            String r = request(q);
            checkError(q, r);
            byte[] part = HEX.parseHex(r);
            System.arraycopy(part, 0, result, off, Math.min(part.length, n));
            if (part.length < n) throw new GdbException("short read at 0x" + Long.toHexString(address + off + part.length));
        }
        return result;
    }

    /** 'M', in chunks. */
    public void writeMemory(long address, byte[] data) {
        for (int off = 0; off < data.length; off += MEMORY_CHUNK) {
            int n = Math.min(MEMORY_CHUNK, data.length - off);
            requestOk("M" + Long.toHexString(address + off) + "," + Integer.toHexString(n) + ":"
                    + HEX.formatHex(data, off, off + n));
        }
    }

    /** QEMU extension: 'm'/'M' address physical memory (true) or go through the guest's paging (false). */
    public void physicalMemoryMode(boolean physical) {
        requestOk("Qqemu.PhyMemMode:" + (physical ? 1 : 0));
    }

    /** 's': one instruction. */
    public StopReply step() { return StopReply.parse(request("s")); }

    /** 'c' and wait (up to {@code timeout}) for the stop; on timeout the target is interrupted (^C) and this throws. */
    public StopReply continueUntilStop(Duration timeout) {
        try {
            send("c");
            socket.setSoTimeout((int) Math.max(1, timeout.toMillis()));
            try {
                return StopReply.parse(receive());
            } catch (SocketTimeoutException e) {
                socket.setSoTimeout((int) replyTimeout.toMillis());
                writeRaw("\u0003");
                receive();
                throw new GdbException("target did not stop within " + timeout.toSeconds() + " s (interrupted it)", e);
            } finally {
                socket.setSoTimeout((int) replyTimeout.toMillis());
            }
        } catch (IOException e) {
            throw new GdbException("GDB link failed while continuing: " + e.getMessage(), e);
        }
    }

    /** 'Z0'/'z0': software breakpoint (QEMU's TCG checks these without patching guest memory). */
    public void setBreakpoint(long address) { requestOk("Z0," + Long.toHexString(address) + ",1"); }

    public void clearBreakpoint(long address) { requestOk("z0," + Long.toHexString(address) + ",1"); }

    /**
     * qRcmd: a monitor command (QEMU's HMP); the console output ('O' packets) until the final "OK" is returned.
     */
    public String monitor(String command) {
        String q = "qRcmd," + HEX.formatHex(command.getBytes(StandardCharsets.UTF_8));
        try {
            send(q);
            StringBuilder output = new StringBuilder();
            while (true) {
                String r = receive();
                if (r.startsWith("O") && !r.equals("OK")) {
                    output.append(new String(HEX.parseHex(r.substring(1)), StandardCharsets.UTF_8));
                } else if (r.equals("OK")) {
                    return output.toString();
                } else {
                    checkError(q, r);
                    throw new GdbException("unexpected reply to monitor " + command + ": " + abbreviate(r));
                }
            }
        } catch (IOException e) {
            throw new GdbException("GDB link failed on monitor " + command + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException ignored) {
            // Closing is best effort; the peer may already be gone.
        }
    }
}
