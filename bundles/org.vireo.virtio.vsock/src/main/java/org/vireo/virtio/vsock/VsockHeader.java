package org.vireo.virtio.vsock;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * struct virtio_vsock_hdr (virtio 1.x 5.10.6), 44 bytes little-endian, and the constants of the stream protocol.
 * Ports and the credit counters are unsigned 32-bit values held in ints; compare them with
 * {@link Integer#compareUnsigned} and subtract them with wrap-around, as the spec's counters wrap.
 */
record VsockHeader(long srcCid, long dstCid, int srcPort, int dstPort, int len, int type, int op, int flags,
                   int bufAlloc, int fwdCnt) {
    static final int SIZE = 44;

    /** The host's CID: what a guest connects to in order to reach a host process. */
    static final long HOST_CID = 2;

    static final int TYPE_STREAM = 1;

    static final int OP_REQUEST = 1;
    static final int OP_RESPONSE = 2;
    static final int OP_RST = 3;
    static final int OP_SHUTDOWN = 4;
    static final int OP_RW = 5;
    static final int OP_CREDIT_UPDATE = 6;
    static final int OP_CREDIT_REQUEST = 7;

    /** SHUTDOWN flags: the sender will receive no more, will send no more. */
    static final int SHUTDOWN_RCV = 1;
    static final int SHUTDOWN_SEND = 2;

    /** The one event the device sends on the event queue (struct virtio_vsock_event). */
    static final int EVENT_TRANSPORT_RESET = 0;

    static VsockHeader parse(byte[] b) {
        ByteBuffer in = ByteBuffer.wrap(b, 0, SIZE).order(ByteOrder.LITTLE_ENDIAN);
        return new VsockHeader(in.getLong(), in.getLong(), in.getInt(), in.getInt(), in.getInt(),
                Short.toUnsignedInt(in.getShort()), Short.toUnsignedInt(in.getShort()), in.getInt(), in.getInt(), in.getInt());
    }

    /** Writes this header into {@code out} at offset 0 (which must hold at least {@link #SIZE} bytes). */
    void encode(byte[] out) {
        ByteBuffer.wrap(out, 0, SIZE).order(ByteOrder.LITTLE_ENDIAN).putLong(srcCid).putLong(dstCid).putInt(srcPort).putInt(dstPort)
                .putInt(len).putShort((short) type).putShort((short) op).putInt(flags).putInt(bufAlloc).putInt(fwdCnt);
    }

    byte[] encode() {
        byte[] b = new byte[SIZE];
        encode(b);
        return b;
    }

    static String opName(int op) {
        return switch (op) {
            case OP_REQUEST -> "REQUEST";
            case OP_RESPONSE -> "RESPONSE";
            case OP_RST -> "RST";
            case OP_SHUTDOWN -> "SHUTDOWN";
            case OP_RW -> "RW";
            case OP_CREDIT_UPDATE -> "CREDIT_UPDATE";
            case OP_CREDIT_REQUEST -> "CREDIT_REQUEST";
            default -> "op " + op;
        };
    }

    @Override
    public String toString() {
        return opName(op) + " " + srcCid + ":" + Integer.toUnsignedString(srcPort) + " -> " + dstCid + ":" + Integer.toUnsignedString(dstPort)
                + " len " + Integer.toUnsignedString(len) + " flags " + flags + " buf_alloc " + Integer.toUnsignedString(bufAlloc)
                + " fwd_cnt " + Integer.toUnsignedString(fwdCnt);
    }
}
