package org.vireo.virtio.vsock;

import static org.vireo.virtio.vsock.VsockHeader.HOST_CID;
import static org.vireo.virtio.vsock.VsockHeader.OP_CREDIT_REQUEST;
import static org.vireo.virtio.vsock.VsockHeader.OP_CREDIT_UPDATE;
import static org.vireo.virtio.vsock.VsockHeader.OP_REQUEST;
import static org.vireo.virtio.vsock.VsockHeader.OP_RESPONSE;
import static org.vireo.virtio.vsock.VsockHeader.OP_RST;
import static org.vireo.virtio.vsock.VsockHeader.OP_RW;
import static org.vireo.virtio.vsock.VsockHeader.OP_SHUTDOWN;
import static org.vireo.virtio.vsock.VsockHeader.SHUTDOWN_RCV;
import static org.vireo.virtio.vsock.VsockHeader.SHUTDOWN_SEND;
import static org.vireo.virtio.vsock.VsockHeader.SIZE;
import static org.vireo.virtio.vsock.VsockHeader.TYPE_STREAM;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import org.vireo.virtio.VirtioIds;
import org.vireo.virtio.device.ActivationGuard;
import org.vireo.virtio.device.ActivationGuard.Activation;
import org.vireo.virtio.device.ConfigSpace;
import org.vireo.virtio.device.DescriptorChain;
import org.vireo.virtio.device.DeviceQueue;
import org.vireo.virtio.device.RateLimitedLog;
import org.vireo.virtio.device.VirtioDevice;
import org.vireo.virtio.device.VirtioDeviceContext;
import org.vireo.virtio.device.VirtqueueException;

/**
 * virtio-vsock (virtio 1.x 5.10, device id 19): stream sockets between the guest and host processes, with
 * Firecracker's host side. The device listens on a Unix domain socket {@code HOST.sock}:
 * <ul>
 * <li>a host process connects to it and writes {@code CONNECT <port>\n}; the device sends the guest a REQUEST for
 *     that port from an ephemeral host port, and once a guest listener answers (RESPONSE) writes
 *     {@code OK <hostport>\n} back and joins the two streams; an RST, or no answer within
 *     {@link #SETUP_TIMEOUT_MILLIS}, closes the host socket;</li>
 * <li>a guest connecting to the host (CID 2) port P reaches {@code HOST.sock_P} if a host process listens there
 *     (RESPONSE), else gets RST.</li>
 * </ul>
 * Queues: 0 receive (device to guest), 1 transmit, 2 event (TRANSPORT_RESET, {@link #resetTransport()}). Config:
 * {@code guest_cid} (le64).
 * <p>
 * <b>Flow control</b> (5.10.6.3): every packet carries the sender's buffer size and forwarded count. Guest data
 * waits per connection in a buffer of {@link #BUF_ALLOC} bytes (the credit the device advertises) until the host
 * socket takes it; a guest that sends beyond that credit gets its connection reset. Host data is read ahead into at
 * most {@link #TO_GUEST_BUFFER} bytes per connection and sent only as far as the guest's advertised credit allows
 * (a CREDIT_REQUEST when it has none), so a host process that writes faster than the guest reads is held back by
 * its socket, never buffered without bound.
 * The device sends CREDIT_UPDATE when the guest's view of its free space has fallen below half and it has
 * forwarded data since, or when asked (CREDIT_REQUEST).
 * <p>
 * <b>Threads</b>: one selector thread per device serves the host sockets; transmit-queue packets are handled on
 * the notifying thread. Everything is under one lock, and socket calls under it are non-blocking. Replies the
 * device owes without a connection (RST to unknown ports) wait in a queue of at most {@link #MAX_PENDING_RST};
 * when it is full the device stops taking transmit chains until the guest posts receive buffers, so a guest that
 * floods requests and never reads is held back by its own ring.
 * <p>
 * <b>Hostile guests</b>: a packet shorter than its header, with a length beyond its buffer or {@link #MAX_PAYLOAD},
 * or from another CID is dropped; an unknown type or op, a packet in the wrong state, or credit abuse resets that
 * connection (RST); more than {@link #MAX_CONNECTIONS} connections are refused with RST. Each kind is logged once a
 * minute at most. A malformed ring asks for a device reset (NEEDS_RESET).
 */
public final class VsockDevice implements VirtioDevice, AutoCloseable {
    public static final int DEVICE_ID = VirtioIds.VSOCK;
    public static final int RX = 0;
    public static final int TX = 1;
    public static final int EVENT = 2;
    public static final int QUEUE_SIZE = 256;
    public static final int CONFIG_SIZE = 8;

    /** The guest's credit on each connection: bytes it may send that the host has not yet taken. */
    public static final int BUF_ALLOC = 256 * 1024;
    /** Host bytes read ahead for the guest on each connection, at most. */
    public static final int TO_GUEST_BUFFER = 64 * 1024;
    /** Largest payload of one packet either way (Linux's VIRTIO_VSOCK_MAX_PKT_BUF_SIZE). */
    public static final int MAX_PAYLOAD = 64 * 1024;
    public static final int MAX_CONNECTIONS = 256;
    /** Host sockets that have connected but not yet sent their CONNECT line, at most. */
    public static final int MAX_HOST_PENDING = 64;
    public static final int MAX_PENDING_RST = 128;
    /** How long a connection may take to be set up (guest RESPONSE, host connect, CONNECT line). */
    public static final long SETUP_TIMEOUT_MILLIS = 5000;
    /** Ports the device gives host-initiated connections start here (as Firecracker's do). */
    public static final int FIRST_HOST_PORT = 1 << 30;
    /** "CONNECT 4294967295\n" is 19 bytes; a longer line is refused. */
    private static final int MAX_LINE = 32;

    private static final System.Logger LOG = System.getLogger(VsockDevice.class.getName());

    private final Path hostPath;
    private final String name;
    private final ConfigSpace config = new ConfigSpace(CONFIG_SIZE);
    private volatile long guestCid;
    private final ReentrantLock lock = new ReentrantLock();
    private final ActivationGuard activations;
    private final RateLimitedLog log = new RateLimitedLog(LOG);
    private final Selector selector;
    private final ServerSocketChannel listener;
    private final Thread thread;
    private volatile boolean closed;

    private final AtomicLong bytesToGuest = new AtomicLong();
    private final AtomicLong bytesToHost = new AtomicLong();
    private final AtomicLong connectionsMade = new AtomicLong();

    // Guarded by lock.
    private final Map<Long, Connection> connections = new HashMap<>();
    /** Connections that may owe the guest a packet, in turn. */
    private final LinkedHashSet<Connection> rxReady = new LinkedHashSet<>();
    private final ArrayDeque<VsockHeader> pendingRst = new ArrayDeque<>();
    private final List<HostLine> hostLines = new ArrayList<>();
    private boolean txStalled;
    private boolean eventPending;
    private int nextHostPort = FIRST_HOST_PORT;

    /** A host socket that has connected to HOST.sock and not yet sent its whole CONNECT line. */
    private static final class HostLine {
        final SocketChannel channel;
        final ByteBuffer line = ByteBuffer.allocate(MAX_LINE);
        final long deadline;
        SelectionKey key;

        HostLine(SocketChannel channel, long deadline) {
            this.channel = channel;
            this.deadline = deadline;
        }
    }

    private VsockDevice(Path hostPath, long guestCid, String name, ServerSocketChannel listener, Selector selector) {
        this.hostPath = hostPath;
        this.name = name;
        this.guestCid = guestCid;
        this.listener = listener;
        this.selector = selector;
        this.activations = new ActivationGuard(LOG, "virtio-vsock " + name, lock);
        config.put64(0, guestCid);
        this.thread = Thread.ofPlatform().daemon().name("vireo-vsock-" + name).unstarted(this::run);
    }

    /**
     * Listens on {@code hostPath} (a stale socket file nobody listens on is replaced) and starts serving it.
     *
     * @param guestCid the guest's context id, 3 to 0xfffffffe
     * @throws IOException when the path cannot be listened on (in use, not a socket, too long, no directory)
     * @throws IllegalArgumentException for a CID outside that range
     */
    public static VsockDevice open(Path hostPath, long guestCid, String name) throws IOException {
        checkCid(guestCid);
        ServerSocketChannel listener = bind(hostPath);
        Selector selector = null;
        try {
            selector = Selector.open();
            listener.configureBlocking(false);
            listener.register(selector, SelectionKey.OP_ACCEPT, listener);
            VsockDevice device = new VsockDevice(hostPath, guestCid, name, listener, selector);
            device.thread.start();
            return device;
        } catch (IOException | RuntimeException e) {
            listener.close();
            if (selector != null) selector.close();
            Files.deleteIfExists(hostPath);
            throw e;
        }
    }

    /** Guest CIDs 0-2 are reserved (hypervisor, local, host) and 0xffffffff is VMADDR_CID_ANY. */
    public static void checkCid(long cid) {
        if (cid < 3 || cid > 0xffff_fffeL) {
            throw new IllegalArgumentException("guest CID " + cid + " is outside 3..4294967294 (0-2 are reserved, 4294967295 means any)");
        }
    }

    private static ServerSocketChannel bind(Path path) throws IOException {
        if (Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
            BasicFileAttributes a = Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            if (!a.isOther()) throw new IOException(path + " exists and is not a socket");
            boolean inUse;
            try (SocketChannel probe = SocketChannel.open(UnixDomainSocketAddress.of(path))) {
                inUse = true;
            } catch (IOException refused) {
                inUse = false;
            }
            if (inUse) throw new IOException(path + " is in use: another process listens on it");
            Files.delete(path);     // a stale socket from a run that ended without cleaning up
        }
        ServerSocketChannel ch = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            ch.bind(UnixDomainSocketAddress.of(path));
        } catch (IOException e) {
            ch.close();
            throw new IOException("cannot listen on " + path + ": " + e.getMessage(), e);
        }
        return ch;
    }

    public Path hostPath() { return hostPath; }

    public long guestCid() { return guestCid; }

    /** Connections open now (set up or being set up). */
    public int connectionCount() {
        lock.lock();
        try {
            return connections.size();
        } finally {
            lock.unlock();
        }
    }

    public long bytesToGuest() { return bytesToGuest.get(); }

    public long bytesToHost() { return bytesToHost.get(); }

    @Override public int deviceId() { return DEVICE_ID; }

    /** No feature bits: stream sockets only (no VIRTIO_VSOCK_F_SEQPACKET). */
    @Override public long offeredFeatures() { return 0; }

    @Override public int queueCount() { return 3; }

    @Override public int queueMaxSize(int index) { return index >= 0 && index < 3 ? QUEUE_SIZE : 0; }

    @Override public int configSize() { return CONFIG_SIZE; }

    @Override public int readConfig(int offset, int size) { return config.read(offset, size); }

    @Override public void writeConfig(int offset, int size, int value) { /* guest_cid is read-only */ }

    @Override
    public void activate(VirtioDeviceContext context) {
        activations.activate(context);
    }

    /** Forgets every connection: the guest driver has forgotten them too. Host sockets are closed. */
    @Override
    public void reset() {
        activations.reset();
        lock.lock();
        try {
            dropAllConnections();
            eventPending = false;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Drops every connection (closing the host sockets) and tells the guest with a TRANSPORT_RESET event, after which
     * it resets its own sockets and reads its CID again: what a VMM does when the host side of the device has
     * changed under a running guest (a restored snapshot, a new CID). The event waits for an event buffer if the
     * guest has none posted.
     */
    public void resetTransport() {
        lock.lock();
        try {
            dropAllConnections();
            eventPending = true;
            deliverEvent(activations.current());
        } finally {
            lock.unlock();
        }
    }

    /** Gives the guest a new CID: config space changes and the transport is reset ({@link #resetTransport()}). */
    public void setGuestCid(long cid) {
        checkCid(cid);
        guestCid = cid;
        config.put64(0, cid);
        Activation act = activations.current();
        if (act != null) act.context().signalConfigChange();
        resetTransport();
    }

    @Override
    public String describe() {
        return "path=" + hostPath + " cid=" + guestCid + ", " + connectionCount() + " connections, " + bytesToGuest()
                + " bytes to guest, " + bytesToHost() + " bytes to host";
    }

    @Override
    public void queueNotify(int index) {
        Activation act = activations.current();
        if (act == null || act.stopped()) return;
        lock.lock();
        try {
            switch (index) {
                case TX -> processTx(act);
                case RX -> {
                    deliverRx(act);
                    if (txStalled) processTx(act);
                }
                case EVENT -> deliverEvent(act);
                default -> { }
            }
        } finally {
            lock.unlock();
        }
    }

    // ---- guest to device ----

    /** Handles the transmit queue's chains until it is empty, or until the RST backlog is full. Holds lock. */
    private void processTx(Activation act) {
        if (!activations.isCurrent(act) || act.stopped()) return;
        DeviceQueue queue = act.context().queue(TX);
        if (queue == null) return;
        txStalled = false;
        boolean used = false;
        try {
            while (activations.isCurrent(act)) {
                if (pendingRst.size() >= MAX_PENDING_RST) {
                    deliverRx(act);
                    if (pendingRst.size() >= MAX_PENDING_RST) {
                        txStalled = true;      // resumed when the guest posts receive buffers and takes the replies
                        break;
                    }
                }
                queue.setNotification(false);
                DescriptorChain chain = queue.pop();
                if (chain == null) {
                    // Re-enable kicks, then look once more: the driver may have added a chain meanwhile.
                    queue.setNotification(true);
                    chain = queue.pop();
                    if (chain == null) break;
                }
                handlePacket(chain);
                queue.addUsed(chain.head(), 0);
                used = true;
            }
        } catch (VirtqueueException | RuntimeException e) {
            activations.fail(act, "transmit queue", "a packet", e);
        } finally {
            if (used && activations.isCurrent(act)) act.context().signalUsed(TX);
        }
        deliverRx(act);
    }

    private void handlePacket(DescriptorChain chain) {
        long readable = chain.readableLength();
        byte[] hb = new byte[SIZE];
        if (readable < SIZE || chain.read(0, hb, 0, SIZE) < SIZE) {
            warn("short packet", "a transmit buffer of " + readable + " bytes is shorter than a packet header; dropped");
            return;
        }
        VsockHeader h = VsockHeader.parse(hb);
        long len = Integer.toUnsignedLong(h.len());
        if (len > MAX_PAYLOAD || len > readable - SIZE) {
            warn("bad length", "packet length " + len + " exceeds its buffer (" + (readable - SIZE) + " bytes) or " + MAX_PAYLOAD + "; dropped: " + h);
            return;
        }
        if (h.srcCid() != guestCid) {
            warn("bad source", "packet from CID " + h.srcCid() + ", not the guest's " + guestCid + "; dropped: " + h);
            return;
        }
        if (h.type() != TYPE_STREAM) {
            warn("bad type", "socket type " + h.type() + " is not supported (stream only); answered with RST: " + h);
            replyRst(h);
            return;
        }
        if (h.dstCid() != HOST_CID) {
            debug(() -> "packet for CID " + h.dstCid() + ", not the host; answered with RST: " + h);
            replyRst(h);
            return;
        }
        Connection conn = connections.get(Connection.key(h.dstPort(), h.srcPort()));
        if (conn == null) {
            if (h.op() == OP_REQUEST) guestConnect(h);
            else if (h.op() != OP_RST) replyRst(h);    // never answer an RST with one
            return;
        }
        if (conn.state == Connection.State.CLOSING) return;     // an RST is on its way to the guest
        conn.peerBufAlloc = h.bufAlloc();
        conn.peerFwdCnt = h.fwdCnt();
        switch (h.op()) {
            case OP_RESPONSE -> {
                if (conn.state == Connection.State.HOST_CONNECTING && !conn.needRequest) {
                    conn.state = Connection.State.ESTABLISHED;
                    conn.deadline = 0;
                    conn.okLine = ByteBuffer.wrap(("OK " + Integer.toUnsignedString(conn.hostPort) + "\n").getBytes(StandardCharsets.US_ASCII));
                    flushToHost(conn);
                } else {
                    warn("bad state", "RESPONSE on a connection that did not ask for one (" + conn + "); reset");
                    kill(conn);
                }
            }
            case OP_RST -> remove(conn);
            case OP_SHUTDOWN -> {
                if (conn.state != Connection.State.ESTABLISHED) {
                    kill(conn);
                    break;
                }
                if ((h.flags() & SHUTDOWN_SEND) != 0) conn.guestShutSend = true;
                if ((h.flags() & SHUTDOWN_RCV) != 0) {
                    conn.guestShutRecv = true;
                    conn.toGuest.clear();
                }
                progress(conn);
            }
            case OP_RW -> {
                if (conn.state != Connection.State.ESTABLISHED || conn.guestShutSend) {
                    warn("bad state", "data on a connection that cannot take it (" + conn + (conn.guestShutSend ? ", after SHUTDOWN" : "") + "); reset");
                    kill(conn);
                    break;
                }
                if (len > conn.toHost.free()) {
                    warn("credit", "the guest sent " + len + " bytes with only " + conn.toHost.free() + " bytes of credit (" + conn + "); reset");
                    kill(conn);
                    break;
                }
                if (len > 0) {
                    byte[] data = new byte[(int) len];
                    int n = chain.read(SIZE, data, 0, data.length);
                    conn.toHost.add(data, 0, n);
                    conn.rxCnt += n;
                    flushToHost(conn);
                }
            }
            case OP_CREDIT_UPDATE -> { }     // the credit was taken from the header above
            case OP_CREDIT_REQUEST -> conn.needCreditUpdate = true;
            case OP_REQUEST -> {
                warn("bad state", "REQUEST on a connection that exists (" + conn + "); reset");
                kill(conn);
            }
            default -> {
                warn("bad op", "unknown op " + h.op() + " (" + conn + "); reset");
                kill(conn);
            }
        }
        if (conn.peerCredit() > 0) conn.creditRequested = false;
        update(conn);
    }

    /** A guest REQUEST to host port P: connect to HOST.sock_P, answer RESPONSE once connected, RST if nobody listens. */
    private void guestConnect(VsockHeader h) {
        if (connections.size() >= MAX_CONNECTIONS) {
            warn("too many connections", MAX_CONNECTIONS + " connections are open; a request to host port "
                    + Integer.toUnsignedString(h.dstPort()) + " is refused");
            replyRst(h);
            return;
        }
        Path target = Path.of(hostPath + "_" + Integer.toUnsignedString(h.dstPort()));
        SocketChannel ch = null;
        try {
            ch = SocketChannel.open(StandardProtocolFamily.UNIX);
            ch.configureBlocking(false);
            boolean connected = ch.connect(UnixDomainSocketAddress.of(target));
            Connection conn = new Connection(h.dstPort(), h.srcPort(), ch,
                    connected ? Connection.State.ESTABLISHED : Connection.State.GUEST_CONNECTING, BUF_ALLOC, TO_GUEST_BUFFER);
            conn.peerBufAlloc = h.bufAlloc();
            conn.peerFwdCnt = h.fwdCnt();
            if (connected) conn.needResponse = true;
            else conn.deadline = deadline();
            conn.key = ch.register(selector, 0, conn);
            connections.put(conn.key(), conn);
            connectionsMade.incrementAndGet();
            update(conn);
            if (!connected) wakeSelector();     // a new deadline
        } catch (IOException | RuntimeException e) {
            closeQuietly(ch);
            debug(() -> "guest connect to " + target + " refused: " + e.getMessage());
            replyRst(h);
        }
    }

    /** Queues an RST answering {@code h} (ports and CIDs swapped). */
    private void replyRst(VsockHeader h) {
        if (pendingRst.size() >= MAX_PENDING_RST) return;   // cannot happen: transmit stops first
        pendingRst.add(new VsockHeader(h.dstCid(), h.srcCid(), h.dstPort(), h.srcPort(), 0, h.type(), OP_RST, 0, 0, 0));
    }

    // ---- device to guest ----

    private boolean canSendData(Connection c) {
        return c.state == Connection.State.ESTABLISHED && !c.guestShutRecv && !c.toGuest.isEmpty() && c.peerCredit() > 0;
    }

    private boolean owesPacket(Connection c) {
        return c.needRst || c.needRequest || c.needResponse || canSendData(c) || c.needShutdown || c.needCreditRequest
                || c.needCreditUpdate;
    }

    /** Fills receive buffers with what the device owes the guest: RSTs first, then each connection in turn. Holds lock. */
    private void deliverRx(Activation act) {
        if (!activations.isCurrent(act) || act.stopped()) return;
        DeviceQueue queue = act.context().queue(RX);
        if (queue == null) return;
        boolean used = false;
        Connection conn = null;
        try {
            while (activations.isCurrent(act)) {
                conn = pendingRst.isEmpty() ? nextReady() : null;
                if (conn == null && pendingRst.isEmpty()) break;
                DescriptorChain chain = queue.pop();
                if (chain == null) break;
                long room = chain.writableLength();
                if (room < SIZE) {
                    warn("short receive buffer", "a receive buffer of " + room + " bytes cannot hold a packet header; returned empty");
                    queue.addUsed(chain.head(), 0);
                    used = true;
                } else if (conn == null) {
                    byte[] hb = pendingRst.poll().encode();
                    chain.write(0, hb, 0, SIZE);
                    queue.addUsed(chain.head(), SIZE);
                    used = true;
                } else {
                    int n = writePacket(chain, conn, (int) Math.min(room - SIZE, MAX_PAYLOAD));
                    queue.addUsed(chain.head(), n);
                    used = true;
                }
                if (conn != null) {
                    update(conn);
                    conn = null;
                }
            }
        } catch (VirtqueueException | RuntimeException e) {
            activations.fail(act, "receive queue", "a packet", e);
        } finally {
            if (conn != null) rxReady.add(conn);    // taken from the turn but not served
            if (used && activations.isCurrent(act)) act.context().signalUsed(RX);
        }
    }

    /** The next connection in turn that owes the guest a packet (taken out of the turn), or null. */
    private Connection nextReady() {
        Iterator<Connection> it = rxReady.iterator();
        while (it.hasNext()) {
            Connection c = it.next();
            it.remove();
            if (owesPacket(c)) return c;
        }
        return null;
    }

    /** Writes the next packet {@code c} owes into {@code chain}, with at most {@code room} payload bytes; returns its length. */
    private int writePacket(DescriptorChain chain, Connection c, int room) {
        int op;
        int flags = 0;
        byte[] payload = null;
        if (c.needRst) {
            op = OP_RST;
            c.needRst = false;
        } else if (c.needRequest) {
            op = OP_REQUEST;
            c.needRequest = false;
        } else if (c.needResponse) {
            op = OP_RESPONSE;
            c.needResponse = false;
        } else if (canSendData(c) && room > 0) {
            int n = Math.min(Math.min(room, c.toGuest.size()), c.peerCredit());
            payload = new byte[n];
            c.toGuest.poll(payload, 0, n);
            c.txCnt += n;
            bytesToGuest.addAndGet(n);
            op = OP_RW;
        } else if (c.needShutdown) {
            op = OP_SHUTDOWN;
            flags = SHUTDOWN_SEND;
            c.needShutdown = false;
            c.shutdownSent = true;
        } else if (c.needCreditRequest) {
            op = OP_CREDIT_REQUEST;
            c.needCreditRequest = false;
            c.creditRequested = true;
        } else {
            op = OP_CREDIT_UPDATE;      // asked for, or data that does not fit this buffer: the credit is news enough
        }
        c.fwdCntSent = c.fwdCnt;
        c.needCreditUpdate = false;     // every packet carries fwd_cnt
        VsockHeader h = new VsockHeader(HOST_CID, guestCid, c.hostPort, c.guestPort, payload == null ? 0 : payload.length,
                TYPE_STREAM, op, flags, BUF_ALLOC, c.fwdCnt);
        chain.write(0, h.encode(), 0, SIZE);
        if (payload != null) chain.write(SIZE, payload, 0, payload.length);
        if (op == OP_RST) {
            remove(c);
        } else {
            progress(c);
        }
        return SIZE + (payload == null ? 0 : payload.length);
    }

    /** Writes a pending TRANSPORT_RESET into an event buffer, if the guest has posted one. Holds lock. */
    private void deliverEvent(Activation act) {
        if (!eventPending || !activations.isCurrent(act) || act.stopped()) return;
        DeviceQueue queue = act.context().queue(EVENT);
        if (queue == null) return;
        boolean used = false;
        try {
            DescriptorChain chain;
            while ((chain = queue.pop()) != null) {
                used = true;
                if (chain.writableLength() < 4) {
                    warn("short event buffer", "an event buffer of " + chain.writableLength() + " bytes cannot hold an event; returned empty");
                    queue.addUsed(chain.head(), 0);
                    continue;
                }
                chain.write(0, new byte[] {VsockHeader.EVENT_TRANSPORT_RESET, 0, 0, 0}, 0, 4);
                queue.addUsed(chain.head(), 4);
                eventPending = false;
                break;
            }
        } catch (VirtqueueException | RuntimeException e) {
            activations.fail(act, "event queue", "an event", e);
        } finally {
            if (used && activations.isCurrent(act)) act.context().signalUsed(EVENT);
        }
    }

    // ---- connection bookkeeping ----

    /**
     * Moves a connection towards its end: shuts the host socket's output once the guest has finished sending and all
     * of it is written; tells the guest SHUTDOWN(SEND) once the host has finished and all of it is delivered; and
     * once both directions are finished, closes the host socket and sends RST (which a Linux guest waits for after
     * close). Holds lock.
     */
    private void progress(Connection c) {
        if (c.state != Connection.State.ESTABLISHED) return;
        if (c.guestShutSend && c.toHost.isEmpty() && c.okLine == null && !c.hostOutputShut) {
            try {
                c.channel.shutdownOutput();
            } catch (IOException e) {
                debug(() -> "shutting down output to the host socket of " + c + ": " + e.getMessage());
            }
            c.hostOutputShut = true;
        }
        boolean hostDone = c.guestShutRecv || (c.hostEof && c.toGuest.isEmpty());
        if (hostDone && !c.guestShutRecv && !c.shutdownSent) c.needShutdown = true;
        if (c.hostOutputShut && hostDone && (c.shutdownSent || c.guestShutRecv)) {
            closeQuietly(c.channel);
            c.state = Connection.State.CLOSING;
            c.needRst = true;
            c.needShutdown = false;
        }
    }

    /** Recomputes what {@code c} waits for: its turn to send to the guest, and its socket's interest. Holds lock. */
    private void update(Connection c) {
        if (c.state == Connection.State.ESTABLISHED && !c.toGuest.isEmpty() && !c.guestShutRecv && c.peerCredit() == 0
                && !c.creditRequested) {
            c.needCreditRequest = true;
        }
        if (c.state == Connection.State.ESTABLISHED) {
            // The guest's view of our free space has fallen below half and we have forwarded data since: tell it.
            int viewFree = BUF_ALLOC - (c.rxCnt - c.fwdCntSent);
            if (viewFree < BUF_ALLOC / 2 && c.fwdCnt != c.fwdCntSent) c.needCreditUpdate = true;
        }
        if (owesPacket(c) && connections.get(c.key()) == c) rxReady.add(c);
        SelectionKey k = c.key;
        if (k == null || !k.isValid()) return;
        int ops = 0;
        switch (c.state) {
            case GUEST_CONNECTING -> ops = SelectionKey.OP_CONNECT;
            case ESTABLISHED -> {
                if (!c.hostEof && !c.guestShutRecv && c.toGuest.free() > 0) ops |= SelectionKey.OP_READ;
                if (c.okLine != null || !c.toHost.isEmpty()) ops |= SelectionKey.OP_WRITE;
            }
            default -> { }
        }
        if (k.interestOps() != ops) {
            k.interestOps(ops);
            wakeSelector();
        }
    }

    /** Gives up on {@code c}: closes the host socket and owes the guest an RST if it knows the connection. Holds lock. */
    private void kill(Connection c) {
        if (c.state == Connection.State.CLOSING) return;
        boolean guestKnows = c.state != Connection.State.HOST_CONNECTING || !c.needRequest;
        closeQuietly(c.channel);
        c.state = Connection.State.CLOSING;
        c.needRequest = c.needResponse = c.needShutdown = c.needCreditRequest = c.needCreditUpdate = false;
        c.toGuest.clear();
        c.toHost.clear();
        c.okLine = null;
        if (guestKnows && activations.current() != null) {
            c.needRst = true;
            rxReady.add(c);
        } else {
            remove(c);
        }
    }

    private void remove(Connection c) {
        closeQuietly(c.channel);
        c.state = Connection.State.CLOSING;
        c.needRst = false;
        connections.remove(c.key(), c);
        rxReady.remove(c);
    }

    private void dropAllConnections() {
        for (Connection c : connections.values()) closeQuietly(c.channel);
        connections.clear();
        rxReady.clear();
        pendingRst.clear();
        txStalled = false;
    }

    /** Writes what the guest sent (and an owed OK line) to the host socket, as far as it takes it now. Holds lock. */
    private void flushToHost(Connection c) {
        try {
            if (c.okLine != null) {
                c.channel.write(c.okLine);
                if (c.okLine.hasRemaining()) return;
                c.okLine = null;
            }
            int n;
            while (!c.toHost.isEmpty() && (n = c.toHost.writeTo(c.channel)) > 0) {
                c.fwdCnt += n;
                bytesToHost.addAndGet(n);
            }
        } catch (IOException e) {
            debug(() -> "writing to the host socket of " + c + ": " + e.getMessage());
            kill(c);
            return;
        }
        progress(c);
    }

    // ---- the host side: the selector thread ----

    private void run() {
        while (!closed) {
            try {
                selector.select(selectTimeout());
            } catch (IOException | ClosedSelectorException e) {
                if (closed) break;
                log.log(System.Logger.Level.ERROR, "selector", () -> "virtio-vsock " + name + ": waiting for host sockets failed", e);
                sleepQuietly();
                continue;
            }
            lock.lock();
            try {
                if (closed) break;
                for (SelectionKey k : selector.selectedKeys()) handleKey(k);
                selector.selectedKeys().clear();
                expire(System.nanoTime());
                Activation act = activations.current();
                deliverRx(act);
                if (txStalled) processTx(act);
            } catch (RuntimeException e) {
                log.log(System.Logger.Level.ERROR, "internal error", () -> "virtio-vsock " + name + ": internal error on the host socket thread", e);
            } finally {
                lock.unlock();
            }
        }
    }

    /** Milliseconds to the next setup deadline (at least 1), or 0 for none. */
    private long selectTimeout() {
        lock.lock();
        try {
            long now = System.nanoTime();
            long next = Long.MAX_VALUE;
            for (Connection c : connections.values()) if (c.deadline != 0) next = Math.min(next, c.deadline - now);
            for (HostLine l : hostLines) next = Math.min(next, l.deadline - now);
            if (next == Long.MAX_VALUE) return 0;
            return Math.max(1, TimeUnit.NANOSECONDS.toMillis(next) + 1);
        } finally {
            lock.unlock();
        }
    }

    private void handleKey(SelectionKey k) {
        if (!k.isValid()) return;
        Object a = k.attachment();
        if (a == listener) {
            accept();
        } else if (a instanceof HostLine l) {
            readLine(l);
        } else if (a instanceof Connection c) {
            if (c.state == Connection.State.CLOSING) return;
            if (k.isConnectable()) finishConnect(c);
            if (k.isValid() && k.isWritable()) flushToHost(c);
            if (k.isValid() && k.isReadable()) readHost(c);
            if (c.state != Connection.State.CLOSING || c.needRst) update(c);
        }
    }

    private void accept() {
        while (true) {
            SocketChannel ch;
            try {
                ch = listener.accept();
            } catch (IOException e) {
                log.warn("accept", () -> "virtio-vsock " + name + ": accepting on " + hostPath + " failed: " + e.getMessage());
                return;
            }
            if (ch == null) return;
            if (hostLines.size() >= MAX_HOST_PENDING) {
                log.warn("host pending", () -> "virtio-vsock " + name + ": " + MAX_HOST_PENDING + " host connections have not sent CONNECT yet; refusing another");
                closeQuietly(ch);
                continue;
            }
            try {
                ch.configureBlocking(false);
                HostLine l = new HostLine(ch, deadline());
                l.key = ch.register(selector, SelectionKey.OP_READ, l);
                hostLines.add(l);
            } catch (IOException e) {
                closeQuietly(ch);
            }
        }
    }

    /** Reads a host socket's CONNECT line; once it is whole, asks the guest for the connection. */
    private void readLine(HostLine l) {
        int n;
        try {
            n = l.channel.read(l.line);
        } catch (IOException e) {
            n = -1;
        }
        int nl = -1;
        for (int i = 0; i < l.line.position(); i++) {
            if (l.line.get(i) == '\n') {
                nl = i;
                break;
            }
        }
        if (nl < 0) {
            if (n < 0 || !l.line.hasRemaining()) dropLine(l, n < 0 ? "closed before its CONNECT line" : "sent a line that is not CONNECT <port>");
            return;
        }
        String text = new String(l.line.array(), 0, nl, StandardCharsets.US_ASCII).strip();
        Integer port = parseConnect(text);
        if (port == null) {
            dropLine(l, "sent \"" + text.replaceAll("[^\\x20-\\x7e]", "?") + "\", not CONNECT <port>");
            return;
        }
        Activation act = activations.current();
        if (act == null || act.stopped()) {
            dropLine(l, "asked for guest port " + Integer.toUnsignedString(port) + " before the guest's driver is ready");
            return;
        }
        if (connections.size() >= MAX_CONNECTIONS) {
            dropLine(l, "asked for a connection while " + MAX_CONNECTIONS + " are open");
            return;
        }
        hostLines.remove(l);
        int hostPort = allocateHostPort(port);
        Connection c = new Connection(hostPort, port, l.channel, Connection.State.HOST_CONNECTING, BUF_ALLOC, TO_GUEST_BUFFER);
        c.needRequest = true;
        c.deadline = deadline();
        c.key = l.key;
        c.key.attach(c);
        int extra = l.line.position() - nl - 1;      // bytes after the line are the first data for the guest
        if (extra > 0) c.toGuest.add(l.line.array(), nl + 1, extra);
        connections.put(c.key(), c);
        connectionsMade.incrementAndGet();
        update(c);
    }

    /** "CONNECT 1234" gives 1234 (any unsigned 32-bit port), anything else null. */
    static Integer parseConnect(String line) {
        if (!line.startsWith("CONNECT ")) return null;
        String digits = line.substring(8).strip();
        if (digits.isEmpty() || digits.length() > 10 || !digits.chars().allMatch(ch -> ch >= '0' && ch <= '9')) return null;
        long port = Long.parseLong(digits);
        return port > 0xffff_ffffL ? null : (int) port;
    }

    private void dropLine(HostLine l, String why) {
        hostLines.remove(l);
        closeQuietly(l.channel);
        log.log(System.Logger.Level.INFO, "host line", () -> "virtio-vsock " + name + ": a host connection to " + hostPath + " " + why + "; closed");
    }

    private int allocateHostPort(int guestPort) {
        while (true) {
            int p = nextHostPort;
            nextHostPort = p == -2 ? FIRST_HOST_PORT : p + 1;       // 0xffffffff is VMADDR_PORT_ANY
            if (!connections.containsKey(Connection.key(p, guestPort))) return p;
        }
    }

    private void finishConnect(Connection c) {
        try {
            if (!c.channel.finishConnect()) return;
        } catch (IOException e) {
            debug(() -> "guest connect to host port " + Integer.toUnsignedString(c.hostPort) + " failed: " + e.getMessage());
            kill(c);
            return;
        }
        c.state = Connection.State.ESTABLISHED;
        c.deadline = 0;
        c.needResponse = true;
    }

    private void readHost(Connection c) {
        if (c.state != Connection.State.ESTABLISHED) return;
        int max = c.toGuest.free();
        if (max <= 0) return;
        int n;
        try {
            n = c.toGuest.readFrom(c.channel, max);
        } catch (IOException e) {
            debug(() -> "reading the host socket of " + c + ": " + e.getMessage());
            kill(c);
            return;
        }
        if (n < 0) {
            c.hostEof = true;
            progress(c);
        }
    }

    private void expire(long now) {
        for (Connection c : new ArrayList<>(connections.values())) {
            if (c.deadline != 0 && now - c.deadline >= 0) {
                c.deadline = 0;
                log.log(System.Logger.Level.INFO, "setup timeout", () -> "virtio-vsock " + name + ": " + c + " was not set up within "
                        + SETUP_TIMEOUT_MILLIS + " ms; closed");
                kill(c);
            }
        }
        for (HostLine l : new ArrayList<>(hostLines)) {
            if (now - l.deadline >= 0) dropLine(l, "sent no CONNECT line within " + SETUP_TIMEOUT_MILLIS + " ms");
        }
    }

    private static long deadline() { return System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(SETUP_TIMEOUT_MILLIS); }

    private void wakeSelector() {
        if (Thread.currentThread() != thread) selector.wakeup();
    }

    private static void closeQuietly(java.io.Closeable c) {
        if (c == null) return;
        try {
            c.close();
        } catch (IOException ignored) {
            // closing a socket: nothing to do about a failure
        }
    }

    private static void sleepQuietly() {
        try {
            Thread.sleep(100);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void warn(String kind, String message) {
        log.warn(kind, () -> "virtio-vsock " + name + ": " + message);
    }

    private void debug(java.util.function.Supplier<String> message) {
        LOG.log(System.Logger.Level.DEBUG, () -> "virtio-vsock " + name + ": " + message.get());
    }

    /** Stops the host socket thread, closes every socket and removes HOST.sock; the device must be unplugged (reset) first. */
    @Override
    public void close() {
        closed = true;
        selector.wakeup();
        try {
            thread.join(TimeUnit.SECONDS.toMillis(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        lock.lock();
        try {
            dropAllConnections();
            for (HostLine l : hostLines) closeQuietly(l.channel);
            hostLines.clear();
            closeQuietly(listener);
            closeQuietly(selector);
        } finally {
            lock.unlock();
        }
        try {
            Files.deleteIfExists(hostPath);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, () -> "removing " + hostPath + ": " + e.getMessage());
        }
    }
}
