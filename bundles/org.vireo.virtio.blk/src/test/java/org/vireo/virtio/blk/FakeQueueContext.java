package org.vireo.virtio.blk;

import java.lang.foreign.Arena;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.vireo.memory.GuestMemory;
import org.vireo.memory.GuestRange;
import org.vireo.virtio.device.DescriptorChain;
import org.vireo.virtio.device.DeviceQueue;
import org.vireo.virtio.device.VirtioDeviceContext;
import org.vireo.virtio.device.VirtqueueException;

/**
 * A device context whose queue hands out hand-made chains, bypassing the ring: for request layouts a real ring would
 * refuse before the device sees them (lengths beyond int, empty chains), and to check the device on its own.
 */
final class FakeQueueContext implements VirtioDeviceContext, AutoCloseable {
    final Arena arena = Arena.ofShared();
    final GuestMemory memory;
    final long features;
    final FakeQueue queue = new FakeQueue();
    int signals;
    String needsReset;
    private long next = 0x1000;

    FakeQueueContext(long memoryBytes, long features) {
        this.memory = GuestMemory.allocate(arena, memoryBytes);
        this.features = features;
    }

    /** A fresh range of guest memory. */
    GuestRange alloc(long length) {
        GuestRange r = new GuestRange(next, length);
        next = (next + length + 15) & ~15L;
        return r;
    }

    @Override public long negotiatedFeatures() { return features; }

    @Override public GuestMemory memory() { return memory; }

    @Override public DeviceQueue queue(int index) { return index == 0 ? queue : null; }

    @Override public void signalUsed(int index) { signals++; }

    @Override public void signalConfigChange() {}

    @Override public void needsReset(String reason) { needsReset = reason; }

    @Override public void close() { arena.close(); }

    record Used(int head, int length) {}

    final class FakeQueue implements DeviceQueue {
        final ArrayDeque<DescriptorChain> available = new ArrayDeque<>();
        final List<Used> used = new ArrayList<>();
        VirtqueueException failure;
        private int heads;

        int add(List<GuestRange> readable, List<GuestRange> writable) {
            int head = heads++;
            available.add(new FakeChain(head, readable, writable));
            return head;
        }

        @Override public int index() { return 0; }
        @Override public int size() { return 256; }

        @Override
        public DescriptorChain pop() throws VirtqueueException {
            if (failure != null) throw failure;
            return available.poll();
        }

        @Override public void addUsed(int head, int writtenBytes) { used.add(new Used(head, writtenBytes)); }
        @Override public boolean needsInterrupt() { return true; }
        @Override public void setNotification(boolean enabled) {}
        @Override public int availIndex() { return heads; }
        @Override public int lastAvailIndex() { return heads - available.size(); }
        @Override public int usedIndex() { return used.size(); }
        @Override public boolean broken() { return failure != null; }
    }

    final class FakeChain implements DescriptorChain {
        final int head;
        final List<GuestRange> readable, writable;

        FakeChain(int head, List<GuestRange> readable, List<GuestRange> writable) {
            this.head = head;
            this.readable = readable;
            this.writable = writable;
        }

        @Override public int head() { return head; }
        @Override public List<GuestRange> readable() { return readable; }
        @Override public List<GuestRange> writable() { return writable; }
        @Override public long readableLength() { return readable.stream().mapToLong(GuestRange::length).sum(); }
        @Override public long writableLength() { return writable.stream().mapToLong(GuestRange::length).sum(); }

        @Override
        public int read(long offset, byte[] dst, int off, int len) { return copy(readable, offset, dst, off, len, false); }

        @Override
        public int write(long offset, byte[] src, int off, int len) { return copy(writable, offset, src, off, len, true); }

        private int copy(List<GuestRange> ranges, long offset, byte[] buf, int off, int len, boolean toGuest) {
            Objects.checkFromIndexSize(off, len, buf.length);
            int done = 0;
            long skip = offset;
            for (GuestRange r : ranges) {
                if (done == len) break;
                if (skip >= r.length()) {
                    skip -= r.length();
                    continue;
                }
                int n = (int) Math.min(len - done, r.length() - skip);
                if (toGuest) memory.write(r.address() + skip, buf, off + done, n);
                else memory.read(r.address() + skip, buf, off + done, n);
                done += n;
                skip = 0;
            }
            return done;
        }
    }
}
