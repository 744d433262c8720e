package org.vireo.virtio.vsock;

import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;

/**
 * One stream connection between a guest socket and a host process's Unix socket: its state, its two byte streams
 * with their credit counters (virtio 1.x 5.10.6.3), and the control packets owed to the guest. Only
 * {@link VsockDevice}, under its lock, touches it.
 * <p>
 * Guest to host: the guest may have {@code bufAlloc} bytes in flight ({@link VsockDevice#BUF_ALLOC}); what it sends
 * waits in {@link #toHost} until the host socket takes it, and {@link #fwdCnt} counts what the host took.
 * Host to guest: bytes are read from the host socket into {@link #toGuest} only while the guest has credit for them
 * ({@link #peerBufAlloc} minus what it has not yet consumed), so the guest's receive buffer is never overrun.
 */
final class Connection {
    enum State {
        /** A host process asked for a guest port (CONNECT): REQUEST owed or sent, waiting for RESPONSE or RST. */
        HOST_CONNECTING,
        /** The guest asked for a host port: connecting to {@code HOST.sock_PORT}. */
        GUEST_CONNECTING,
        ESTABLISHED,
        /** Given up: an RST is owed to the guest (or none, if the guest does not know the connection); then removed. */
        CLOSING
    }

    /** The host end's port (the guest's destination, or an ephemeral one for a host-initiated connection). */
    final int hostPort;
    final int guestPort;
    final SocketChannel channel;
    SelectionKey key;
    State state;
    /** When a connection still being set up gives up (System.nanoTime), or 0. */
    long deadline;

    final ByteFifo toHost;
    final ByteFifo toGuest;
    /** "OK PORT\n" owed to a host process whose CONNECT the guest accepted; not counted in the credit. */
    ByteBuffer okLine;

    // Credit, as unsigned 32-bit counters with wrap-around.
    /** Bytes the guest sent us (RW payloads). */
    int rxCnt;
    /** Bytes of those the host socket has taken. */
    int fwdCnt;
    /** The fwd_cnt the guest last heard from us. */
    int fwdCntSent;
    /** Bytes we sent to the guest. */
    int txCnt;
    int peerBufAlloc;
    int peerFwdCnt;

    boolean hostEof;
    boolean hostOutputShut;
    /** The guest said SHUTDOWN with SEND: it will send no more. */
    boolean guestShutSend;
    /** The guest said SHUTDOWN with RCV: it will take no more. */
    boolean guestShutRecv;

    // Control packets owed to the guest.
    boolean needRequest;
    boolean needResponse;
    boolean needCreditUpdate;
    boolean needCreditRequest;
    /** A CREDIT_REQUEST went out and the guest has given no credit since: do not ask again. */
    boolean creditRequested;
    boolean needShutdown;
    boolean shutdownSent;
    boolean needRst;

    Connection(int hostPort, int guestPort, SocketChannel channel, State state, int toHostCapacity, int toGuestCapacity) {
        this.hostPort = hostPort;
        this.guestPort = guestPort;
        this.channel = channel;
        this.state = state;
        this.toHost = new ByteFifo(toHostCapacity);
        this.toGuest = new ByteFifo(toGuestCapacity);
    }

    /** Bytes the guest can still take: its buffer minus what we sent that it has not consumed (0 if it lies). */
    int peerCredit() {
        int inFlight = txCnt - peerFwdCnt;
        if (Integer.compareUnsigned(inFlight, peerBufAlloc) > 0) return 0;
        long credit = Integer.toUnsignedLong(peerBufAlloc) - Integer.toUnsignedLong(inFlight);
        return (int) Math.min(credit, Integer.MAX_VALUE);
    }

    /** Bytes the guest has sent that the host has not yet taken. */
    int unforwarded() { return rxCnt - fwdCnt; }

    static long key(int hostPort, int guestPort) {
        return (Integer.toUnsignedLong(hostPort) << 32) | Integer.toUnsignedLong(guestPort);
    }

    long key() { return key(hostPort, guestPort); }

    @Override
    public String toString() {
        return "host port " + Integer.toUnsignedString(hostPort) + " <-> guest port " + Integer.toUnsignedString(guestPort) + " " + state;
    }
}
