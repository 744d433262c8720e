package org.vireo.bus;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * An address space of device windows: port I/O (64 KiB) or MMIO. Lookups are lock-free on an immutable sorted
 * array that registration replaces (copy-on-write: windows change rarely, accesses are a hot path).
 * An access nobody claims reads as all ones and discards writes, as on a real bus; a handler that throws is
 * contained here so a device bug cannot take down the vCPU thread.
 */
public final class IoBus {
    private static final System.Logger LOG = System.getLogger(IoBus.class.getName());

    private record Entry(IoRange range, IoHandler handler) {}

    private final String name;
    private volatile Entry[] entries = new Entry[0];

    public IoBus(String name) { this.name = name; }

    public String name() { return name; }

    /** Claims {@code [base, base+length)}; fails if any byte of it is already claimed. */
    public synchronized Registration register(long base, long length, String owner, IoHandler handler) {
        if (length <= 0) throw new IllegalArgumentException("window length must be positive");
        IoRange range = new IoRange(base, length, owner);
        for (Entry e : entries) {
            if (base < e.range.end() && e.range.base() < base + length) {
                throw new IllegalStateException(name + ": " + range + " overlaps " + e.range);
            }
        }
        Entry entry = new Entry(range, handler);
        Entry[] next = Arrays.copyOf(entries, entries.length + 1);
        next[next.length - 1] = entry;
        Arrays.sort(next, (a, b) -> Long.compare(a.range.base(), b.range.base()));
        entries = next;
        return () -> remove(entry);
    }

    private synchronized void remove(Entry entry) {
        List<Entry> next = new ArrayList<>(Arrays.asList(entries));
        if (next.remove(entry)) entries = next.toArray(Entry[]::new);
    }

    private Entry lookup(long address) {
        Entry[] es = entries;
        int lo = 0, hi = es.length - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            Entry e = es[mid];
            if (address < e.range.base()) hi = mid - 1;
            else if (address >= e.range.end()) lo = mid + 1;
            else return e;
        }
        return null;
    }

    /** True if some device claims {@code address}. */
    public boolean claimed(long address) { return lookup(address) != null; }

    public long read(long address, int size) {
        Entry e = lookup(address);
        if (e == null) return ones(size);
        try {
            return e.handler.read(address - e.range.base(), size) & ones(size);
        } catch (RuntimeException ex) {
            LOG.log(System.Logger.Level.ERROR, name + ": read at 0x" + Long.toHexString(address) + " failed in " + e.range.owner(), ex);
            return ones(size);
        }
    }

    public void write(long address, int size, long value) {
        Entry e = lookup(address);
        if (e == null) return;
        try {
            e.handler.write(address - e.range.base(), size, value & ones(size));
        } catch (RuntimeException ex) {
            LOG.log(System.Logger.Level.ERROR, name + ": write at 0x" + Long.toHexString(address) + " failed in " + e.range.owner(), ex);
        }
    }

    public List<IoRange> ranges() {
        List<IoRange> out = new ArrayList<>();
        for (Entry e : entries) out.add(e.range);
        return out;
    }

    private static long ones(int size) { return size >= 8 ? -1L : (1L << (size * 8)) - 1; }
}
