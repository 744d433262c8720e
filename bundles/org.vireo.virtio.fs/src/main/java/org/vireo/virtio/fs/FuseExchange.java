package org.vireo.virtio.fs;

import java.nio.ByteBuffer;
import java.util.List;

/**
 * One FUSE request and the room for its reply: the readable bytes the driver sent (header, arguments, write data)
 * and the writable bytes it offered for the answer. The device backs it with a descriptor chain in guest memory,
 * tests with arrays. Offsets are within the concatenated readable or writable bytes.
 */
interface FuseExchange {
    long inLength();

    /** Copies up to {@code len} readable bytes at {@code offset}; returns how many were copied. */
    int readIn(long offset, byte[] dst, int off, int len);

    long outLength();

    /** Copies up to {@code len} bytes into the writable part at {@code offset}; returns how many were copied. */
    int writeOut(long offset, byte[] src, int off, int len);

    /** Views of readable bytes [offset, offset + len), which the caller has checked lie inside; for zero-copy writes. */
    List<ByteBuffer> inBuffers(long offset, long len);

    /** Views of writable bytes [offset, offset + len), which the caller has checked lie inside; for zero-copy reads. */
    List<ByteBuffer> outBuffers(long offset, long len);
}
