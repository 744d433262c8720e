package org.vireo.virtio.fs;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.vireo.memory.GuestMemory;
import org.vireo.memory.GuestRange;
import org.vireo.virtio.device.DescriptorChain;

/** A FUSE request in a descriptor chain: readable ranges carry the request, writable ones take the reply. */
final class ChainExchange implements FuseExchange {
    private final DescriptorChain chain;
    private final GuestMemory memory;

    ChainExchange(DescriptorChain chain, GuestMemory memory) {
        this.chain = chain;
        this.memory = memory;
    }

    @Override public long inLength() { return chain.readableLength(); }

    @Override public int readIn(long offset, byte[] dst, int off, int len) { return chain.read(offset, dst, off, len); }

    @Override public long outLength() { return chain.writableLength(); }

    @Override public int writeOut(long offset, byte[] src, int off, int len) { return chain.write(offset, src, off, len); }

    @Override public List<ByteBuffer> inBuffers(long offset, long len) { return views(chain.readable(), offset, len); }

    @Override public List<ByteBuffer> outBuffers(long offset, long len) { return views(chain.writable(), offset, len); }

    /** Zero-copy views of [offset, offset + len) of the concatenated ranges (the server bounds len by MAX_IO). */
    private List<ByteBuffer> views(List<GuestRange> ranges, long offset, long len) {
        List<ByteBuffer> out = new ArrayList<>();
        long skip = offset;
        long left = len;
        for (GuestRange r : ranges) {
            if (left <= 0) break;
            if (skip >= r.length()) {
                skip -= r.length();
                continue;
            }
            long n = Math.min(r.length() - skip, left);
            out.add(memory.slice(r.address() + skip, n).asByteBuffer());
            left -= n;
            skip = 0;
        }
        return out;
    }
}
