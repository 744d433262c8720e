package org.vireo.virtio.balloon;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import org.vireo.memory.GuestMemory;
import org.vireo.memory.GuestMemoryException;
import org.vireo.memory.GuestRange;
import org.vireo.virtio.device.ActivationGuard;
import org.vireo.virtio.device.DescriptorChain;
import org.vireo.virtio.device.DeviceQueue;
import org.vireo.virtio.device.RateLimitedLog;
import org.vireo.virtio.device.VirtioDevice;
import org.vireo.virtio.device.VirtioDeviceContext;
import org.vireo.virtio.device.VirtqueueException;

/**
 * virtio-balloon (virtio 1.2 5.5). The host sets a target ({@link #setTargetPages}, config {@code num_pages}); the
 * driver inflates towards it by sending the page frame numbers (4 KiB units, le32) of pages it gives up on the inflate
 * queue, deflates by sending those it takes back on the deflate queue, and reports the balloon's size in config
 * {@code actual}. Pages given up, and the free page ranges the driver reports on the reporting queue
 * (VIRTIO_BALLOON_F_PAGE_REPORTING), go back to the host at once ({@link GuestMemory#discard}: madvise DONTNEED on the
 * guest RAM mapping), so the host process's RSS shrinks; a page the guest touches again comes back zeroed.
 * <p>
 * Statistics (VIRTIO_BALLOON_F_STATS_VQ): the driver puts one buffer of (le16 tag, le64 value) pairs on the stats
 * queue; the device keeps it and hands it back when it wants fresh values ({@link #requestStats()}), and the driver
 * refills and re-queues it.
 * <p>
 * Queues are numbered as Linux numbers them: inflate 0, deflate 1, then stats and reporting, each only if its feature
 * was negotiated (a queue whose feature is missing takes no index). Every guest value is checked: a page number outside
 * guest RAM is skipped and warned about once per kind, a ring the guest breaks ends in NEEDS_RESET.
 */
public final class BalloonDevice implements VirtioDevice, AutoCloseable {
    public static final int DEVICE_ID = org.vireo.virtio.VirtioIds.BALLOON;
    public static final int F_MUST_TELL_HOST = 0, F_STATS_VQ = 1, F_DEFLATE_ON_OOM = 2, F_FREE_PAGE_HINT = 3, F_PAGE_POISON = 4,
            F_PAGE_REPORTING = 5;
    public static final int QUEUE_SIZE = 128;
    public static final int PAGE_SIZE = 4096;
    /** Page numbers read from one inflate or deflate chain at most (Linux sends 256); the rest is ignored. */
    static final int MAX_PFNS_PER_CHAIN = 4096;
    /** Statistics read from one stats buffer at most (Linux sends about 16). */
    static final int MAX_STATS = 64;
    static final int CONFIG_SIZE = 8;

    /** The statistics tags of virtio 1.2 5.5.6.3 and Linux's later ones, by tag. */
    static final List<String> STAT_NAMES = List.of("swap-in", "swap-out", "major-faults", "minor-faults", "free-memory",
            "total-memory", "available-memory", "disk-caches", "hugetlb-allocations", "hugetlb-failures", "oom-kills",
            "alloc-stalls", "async-scans", "direct-scans", "async-reclaims", "direct-reclaims");

    private enum Role { INFLATE, DEFLATE, STATS, REPORTING }

    private static final System.Logger LOG = System.getLogger(BalloonDevice.class.getName());

    private final String name;
    private final boolean deflateOnOom;
    private final boolean reporting;
    private final ReentrantLock lock = new ReentrantLock();
    private final RateLimitedLog log = new RateLimitedLog(LOG);
    private final ActivationGuard activations;

    private volatile int targetPages;
    private volatile int actualPages;
    /** Guarded by lock: the queue roles of the current activation, by queue index. */
    private Role[] roles = new Role[0];
    /** Guarded by lock: the stats buffer the device holds (its head), or -1. */
    private int heldStats = -1;
    private volatile Map<String, Long> stats = Map.of();
    private volatile long statsNanos;
    private final AtomicLong inflated = new AtomicLong(), deflated = new AtomicLong(), reported = new AtomicLong(),
            discarded = new AtomicLong();

    public BalloonDevice(String name, int targetPages, boolean deflateOnOom) {
        this(name, targetPages, deflateOnOom, true);
    }

    /** @param reporting whether to offer free page reporting (VIRTIO_BALLOON_F_PAGE_REPORTING) */
    public BalloonDevice(String name, int targetPages, boolean deflateOnOom, boolean reporting) {
        if (targetPages < 0) throw new IllegalArgumentException("a balloon target is not negative: " + targetPages);
        this.name = name;
        this.targetPages = targetPages;
        this.deflateOnOom = deflateOnOom;
        this.reporting = reporting;
        this.activations = new ActivationGuard(LOG, "virtio-balloon " + name, lock);
    }

    public String name() { return name; }

    @Override public int deviceId() { return DEVICE_ID; }

    @Override
    public long offeredFeatures() {
        return (1L << F_STATS_VQ) | (reporting ? 1L << F_PAGE_REPORTING : 0) | (deflateOnOom ? 1L << F_DEFLATE_ON_OOM : 0);
    }

    @Override public int queueCount() { return 4; }

    @Override public int queueMaxSize(int index) { return index >= 0 && index < 4 ? QUEUE_SIZE : 0; }

    @Override public int configSize() { return CONFIG_SIZE; }

    /** num_pages (le32, the target) at 0, actual (le32, the driver's) at 4; any aligned or unaligned piece of them. */
    @Override
    public int readConfig(int offset, int size) {
        long both = (targetPages & 0xffff_ffffL) | ((actualPages & 0xffff_ffffL) << 32);
        int value = 0;
        for (int i = 0; i < size && i < 4; i++) {
            int at = offset + i;
            if (at < 0 || at >= CONFIG_SIZE) continue;
            value |= (int) ((both >>> (8 * at)) & 0xff) << (8 * i);
        }
        return value;
    }

    /** The driver writes actual; num_pages is the device's and stays. */
    @Override
    public void writeConfig(int offset, int size, int value) {
        lock.lock();
        try {
            int actual = actualPages;
            for (int i = 0; i < size && i < 4; i++) {
                int at = offset + i - 4;
                if (at < 0 || at >= 4) continue;
                actual = (actual & ~(0xff << (8 * at))) | (((value >>> (8 * i)) & 0xff) << (8 * at));
            }
            actualPages = actual;
        } finally {
            lock.unlock();
        }
    }

    /** Sets the balloon's target (pages the guest should give up) and tells the driver (a configuration change). */
    public void setTargetPages(int pages) {
        if (pages < 0) throw new IllegalArgumentException("a balloon target is not negative: " + pages);
        targetPages = pages;
        lock.lock();
        try {
            ActivationGuard.Activation act = activations.current();
            if (act != null && !act.stopped()) act.context().signalConfigChange();
        } finally {
            lock.unlock();
        }
    }

    public int targetPages() { return targetPages; }

    /** The balloon's size as the driver last reported it (config actual). */
    public int actualPages() { return actualPages; }

    /** Pages the driver gave up (inflate) and took back (deflate), bytes it reported free, bytes given back to the host. */
    public long inflatedPages() { return inflated.get(); }

    public long deflatedPages() { return deflated.get(); }

    public long reportedBytes() { return reported.get(); }

    public long discardedBytes() { return discarded.get(); }

    /**
     * Bytes of guest RAM the host holds now ({@link GuestMemory#residentBytes()}: pages touched and not given back),
     * -1 when not activated or unknown.
     */
    public long guestResidentBytes() {
        ActivationGuard.Activation act = activations.current();
        return act == null ? -1 : act.context().memory().residentBytes();
    }

    /** The guest's last statistics (name to value; memory in bytes), empty before the first. */
    public Map<String, Long> stats() { return stats; }

    /** When the last statistics came ({@link System#nanoTime()}), 0 before the first. */
    public long statsNanos() { return statsNanos; }

    /**
     * Asks the driver for fresh statistics: hands back the stats buffer the device holds, which the driver refills and
     * queues again. False when there is none to hand back (no activation, no STATS_VQ, or a request in flight).
     */
    public boolean requestStats() {
        lock.lock();
        try {
            ActivationGuard.Activation act = activations.current();
            int index = indexOf(Role.STATS);
            if (act == null || act.stopped() || heldStats < 0 || index < 0) return false;
            DeviceQueue q = act.context().queue(index);
            if (q == null) return false;
            q.addUsed(heldStats, 0);
            heldStats = -1;
            act.context().signalUsed(index);
            return true;
        } catch (RuntimeException e) {
            activations.fail(activations.current(), "stats queue", "", e);
            return false;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void activate(VirtioDeviceContext context) {
        long features = context.negotiatedFeatures();
        List<Role> r = new ArrayList<>(List.of(Role.INFLATE, Role.DEFLATE));
        if ((features & (1L << F_STATS_VQ)) != 0) r.add(Role.STATS);
        if ((features & (1L << F_PAGE_REPORTING)) != 0) r.add(Role.REPORTING);
        lock.lock();
        try {
            roles = r.toArray(new Role[0]);
            heldStats = -1;
        } finally {
            lock.unlock();
        }
        ActivationGuard.Activation act = activations.activate(context);
        // Linux queues (and kicks) its first stats buffer while probing, before DRIVER_OK, and not again: take it now.
        lock.lock();
        try {
            int stats = indexOf(Role.STATS);
            if (stats >= 0) takeStats(act, stats);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void reset() {
        activations.reset();
        lock.lock();
        try {
            heldStats = -1;   // the driver's buffers are gone with the rings
            actualPages = 0;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public String describe() {
        return String.format("target %d pages, actual %d; inflated %d, deflated %d pages, %d MiB reported free, %d MiB given back",
                targetPages, actualPages, inflated.get(), deflated.get(), reported.get() >> 20, discarded.get() >> 20);
    }

    @Override
    public void queueNotify(int index) {
        lock.lock();
        try {
            ActivationGuard.Activation act = activations.current();
            if (act == null || index < 0 || index >= roles.length) return;
            switch (roles[index]) {
                case INFLATE -> activations.serve(act, index, "inflate queue", "", chain -> pages(act, chain, true));
                case DEFLATE -> activations.serve(act, index, "deflate queue", "", chain -> pages(act, chain, false));
                case REPORTING -> activations.serve(act, index, "reporting queue", "", chain -> report(act, chain));
                case STATS -> takeStats(act, index);
            }
        } finally {
            lock.unlock();
        }
    }

    private int indexOf(Role role) {
        for (int i = 0; i < roles.length; i++) if (roles[i] == role) return i;
        return -1;
    }

    /** An inflate or deflate chain: le32 page frame numbers in its readable part. Nothing is written back. */
    private int pages(ActivationGuard.Activation act, DescriptorChain chain, boolean inflate) {
        long readable = chain.readableLength();
        if (readable % 4 != 0) warn("odd length", "a " + (inflate ? "inflate" : "deflate") + " buffer of " + readable + " bytes is not whole page numbers");
        int count = (int) Math.min(readable / 4, MAX_PFNS_PER_CHAIN);
        if (readable / 4 > MAX_PFNS_PER_CHAIN) warn("long chain", "a buffer of " + readable / 4 + " page numbers; the first " + MAX_PFNS_PER_CHAIN + " are taken");
        byte[] bytes = new byte[count * 4];
        int got = chain.read(0, bytes, 0, bytes.length);
        count = got / 4;
        if (!inflate) {
            deflated.addAndGet(count);
            return 0;   // without MUST_TELL_HOST a page comes back when the guest touches it: nothing to do
        }
        GuestMemory memory = act.context().memory();
        long runStart = -1, runEnd = -1;
        for (int i = 0; i < count; i++) {
            long pfn = (bytes[4 * i] & 0xffL) | (bytes[4 * i + 1] & 0xffL) << 8 | (bytes[4 * i + 2] & 0xffL) << 16 | (bytes[4 * i + 3] & 0xffL) << 24;
            long address = pfn * PAGE_SIZE;
            if (!memory.contains(address, PAGE_SIZE)) {
                warn("page outside RAM", String.format("inflate: page 0x%x is not in guest RAM; skipped", pfn));
                continue;
            }
            inflated.incrementAndGet();
            if (address == runEnd) {
                runEnd += PAGE_SIZE;
                continue;
            }
            if (runStart >= 0) discard(memory, runStart, runEnd - runStart);
            runStart = address;
            runEnd = address + PAGE_SIZE;
        }
        if (runStart >= 0) discard(memory, runStart, runEnd - runStart);
        return 0;
    }

    /** A reporting chain: its writable ranges are free guest pages; whole pages inside RAM go back to the host. */
    private int report(ActivationGuard.Activation act, DescriptorChain chain) {
        GuestMemory memory = act.context().memory();
        for (GuestRange r : chain.writable()) {
            long start = (r.address() + PAGE_SIZE - 1) & -PAGE_SIZE;
            long end = (r.address() + r.length()) & -PAGE_SIZE;
            if (end <= start) continue;
            reported.addAndGet(end - start);
            discard(memory, start, end - start);
        }
        return 0;   // the driver reads nothing back
    }

    private void discard(GuestMemory memory, long address, long length) {
        try {
            memory.discard(address, length);
            discarded.addAndGet(length);
        } catch (GuestMemoryException | IllegalArgumentException e) {
            // A run across two memory regions, say: give the pages back one by one.
            for (long a = address; a < address + length; a += PAGE_SIZE) {
                try {
                    memory.discard(a, PAGE_SIZE);
                    discarded.addAndGet(PAGE_SIZE);
                } catch (GuestMemoryException | IllegalArgumentException pageFailure) {
                    warn("discard failed", String.format("cannot give page 0x%x back to the host: %s", a, pageFailure.getMessage()));
                }
            }
        } catch (UnsupportedOperationException e) {
            warn("no discard", "this guest memory cannot give pages back to the host: " + e.getMessage());
        }
    }

    /** Takes the stats buffer the driver queued: reads it and keeps it until {@link #requestStats()}. */
    private void takeStats(ActivationGuard.Activation act, int index) {
        if (!activations.isCurrent(act) || act.stopped()) return;
        DeviceQueue q = act.context().queue(index);
        if (q == null) return;
        try {
            DescriptorChain chain;
            while ((chain = q.pop()) != null) {
                if (heldStats >= 0) {
                    // A driver that queues a second buffer: hand the older back, keep the newer.
                    q.addUsed(heldStats, 0);
                    act.context().signalUsed(index);
                }
                heldStats = chain.head();
                readStats(chain);
            }
        } catch (VirtqueueException | RuntimeException e) {
            activations.fail(act, "stats queue", "", e);
        }
    }

    private void readStats(DescriptorChain chain) {
        int entries = (int) Math.min(chain.readableLength() / 10, MAX_STATS);
        byte[] bytes = new byte[entries * 10];
        int got = chain.read(0, bytes, 0, bytes.length);
        Map<String, Long> out = new LinkedHashMap<>();
        for (int i = 0; i + 10 <= got; i += 10) {
            int tag = (bytes[i] & 0xff) | (bytes[i + 1] & 0xff) << 8;
            long value = 0;
            for (int b = 7; b >= 0; b--) value = value << 8 | (bytes[i + 2 + b] & 0xff);
            out.put(tag < STAT_NAMES.size() ? STAT_NAMES.get(tag) : "tag-" + tag, value);
        }
        stats = Collections.unmodifiableMap(out);
        statsNanos = System.nanoTime();
    }

    private void warn(String kind, String message) {
        log.warn(kind, () -> "virtio-balloon " + name + ": " + message);
    }

    /** Nothing to release: the device holds no host resource. */
    @Override
    public void close() {}
}
