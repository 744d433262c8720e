package org.vireo.virtio.fs;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import org.vireo.memory.GuestMemoryException;
import org.vireo.virtio.VirtioIds;
import org.vireo.virtio.device.ActivationGuard;
import org.vireo.virtio.device.ConfigSpace;
import org.vireo.virtio.device.DescriptorChain;
import org.vireo.virtio.device.RateLimitedLog;
import org.vireo.virtio.device.VirtioDevice;
import org.vireo.virtio.device.VirtioDeviceContext;

/**
 * virtio-fs (virtio 1.2 5.11): a host directory shared with the guest, served by {@link FsServer} inside the VMM.
 * Queue 0 is the high-priority queue (the Linux client sends FORGET there), queue 1 the one request queue; both
 * are served under one lock on the notifying thread, so requests run one at a time. The config space holds the tag
 * the guest mounts by ({@code mount -t virtiofs TAG /mnt}) and the number of request queues.
 * <p>
 * A device reset ends the FUSE session: every node is forgotten and every host file closed.
 */
public final class FsDevice implements VirtioDevice, AutoCloseable {
    /** virtio device id of a file system device. */
    public static final int DEVICE_ID = VirtioIds.FS;
    public static final int TAG_BYTES = 36;
    public static final int CFG_NUM_REQUEST_QUEUES = 36;
    public static final int CONFIG_SIZE = 40;
    public static final int HIPRIO_QUEUE = 0;
    public static final int REQUEST_QUEUE = 1;
    public static final int QUEUE_SIZE = 256;

    private static final System.Logger LOG = System.getLogger(FsDevice.class.getName());

    private final FsServer server;
    private final String tag;
    private final String name;
    private final ConfigSpace config = new ConfigSpace(CONFIG_SIZE);
    private final ReentrantLock lock = new ReentrantLock();
    private final AtomicLong requests = new AtomicLong();
    private final RateLimitedLog log = new RateLimitedLog(LOG);
    private final ActivationGuard activations;

    /**
     * @param dir the directory to share; must exist
     * @param tag what the guest mounts: 1 to 36 bytes of UTF-8, no NUL
     */
    public FsDevice(Path dir, String tag, boolean readOnly, String name) throws IOException {
        this(dir, tag, readOnly, name, FsServer.DEFAULT_MAX_NODES, FsServer.DEFAULT_MAX_HANDLES);
    }

    public FsDevice(Path dir, String tag, boolean readOnly, String name, int maxNodes, int maxHandles) throws IOException {
        byte[] t = checkTag(tag);
        this.tag = tag;
        this.name = name;
        this.activations = new ActivationGuard(LOG, "virtio-fs " + name, lock);
        this.server = new FsServer(dir, readOnly, maxNodes, maxHandles, new FsServer.ProblemSink() {
            @Override
            public void guestError(String kind, String message) {
                log.warn(kind, () -> "virtio-fs " + FsDevice.this.name + ": " + message);
            }

            @Override
            public void internalError(String kind, RuntimeException e) {
                log.log(System.Logger.Level.ERROR, "internal " + kind, () -> "virtio-fs " + FsDevice.this.name + ": internal error on " + kind, e);
            }
        });
        for (int i = 0; i < t.length; i++) config.put8(i, t[i]);
        config.put32(CFG_NUM_REQUEST_QUEUES, 1);
    }

    /** The tag as bytes, or IllegalArgumentException saying what is wrong with it. */
    public static byte[] checkTag(String tag) {
        if (tag == null || tag.isEmpty()) throw new IllegalArgumentException("the tag is empty");
        byte[] t = tag.getBytes(StandardCharsets.UTF_8);
        if (t.length > TAG_BYTES) throw new IllegalArgumentException("tag '" + tag + "' is longer than " + TAG_BYTES + " bytes");
        if (tag.indexOf('\0') >= 0) throw new IllegalArgumentException("the tag contains NUL");
        return t;
    }

    public Path directory() { return server.root(); }

    public String tag() { return tag; }

    public boolean readOnly() { return server.readOnly(); }

    /** Requests answered (FORGETs included). */
    public long requests() { return requests.get(); }

    int nodeCount() { return server.nodeCount(); }

    int handleCount() { return server.handleCount(); }

    @Override public int deviceId() { return DEVICE_ID; }

    @Override public long offeredFeatures() { return 0; }   // no VIRTIO_FS_F_NOTIFICATION, no DAX window

    @Override public int queueCount() { return 2; }

    @Override public int queueMaxSize(int index) { return index == HIPRIO_QUEUE || index == REQUEST_QUEUE ? QUEUE_SIZE : 0; }

    @Override public int configSize() { return CONFIG_SIZE; }

    @Override public int readConfig(int offset, int size) { return config.read(offset, size); }

    @Override public void writeConfig(int offset, int size, int value) { /* read-only */ }

    @Override
    public void activate(VirtioDeviceContext context) {
        activations.activate(context);
    }

    @Override
    public void reset() {
        activations.reset();
        lock.lock();
        try {
            server.reset();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public String describe() {
        return server.root() + ", tag " + tag + ", " + (server.readOnly() ? "ro" : "rw") + ", " + requests() + " requests";
    }

    @Override
    public void queueNotify(int index) {
        if (index != HIPRIO_QUEUE && index != REQUEST_QUEUE) return;
        lock.lock();
        try {
            ActivationGuard.Activation act = activations.current();
            activations.serve(act, index, index == HIPRIO_QUEUE ? "hiprio queue" : "request queue", "",
                    chain -> process(act.context(), chain));
        } finally {
            lock.unlock();
        }
    }

    private int process(VirtioDeviceContext context, DescriptorChain chain) {
        requests.incrementAndGet();
        try {
            return server.serve(new ChainExchange(chain, context.memory()));
        } catch (GuestMemoryException e) {
            log.warn("bad buffer", () -> "virtio-fs " + name + ": bad request buffer: " + e.getMessage());
            return 0;
        }
    }

    /** Closes every host file and the shared directory; the device must be unplugged (reset) first. */
    @Override
    public void close() {
        lock.lock();
        try {
            server.close();
        } finally {
            lock.unlock();
        }
    }
}
