package org.vireo.virtio.net.slirp;

import static java.lang.foreign.ValueLayout.JAVA_BOOLEAN;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;
import static org.vireo.virtio.net.slirp.LibSlirp.CALLBACKS;
import static org.vireo.virtio.net.slirp.LibSlirp.CONFIG;
import static org.vireo.virtio.net.slirp.LibSlirp.offset;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.nio.ByteOrder;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.vireo.virtio.device.RateLimitedLog;
import org.vireo.virtio.net.FrameBackend;
import org.vireo.virtio.net.slirp.UserNetConfig.HostForward;

/**
 * Backend "user": user-mode networking on libslirp, the TCP/IP stack behind QEMU's {@code -netdev user}, called through
 * {@code java.lang.foreign}. The guest sees the network 10.0.2.0/24 with a gateway at 10.0.2.2 that stands for the
 * host's 127.0.0.1, a DHCP server handing out 10.0.2.15, a DNS relay at 10.0.2.3 and IPv6 on fec0::/64; its TCP and UDP
 * flows become ordinary host sockets. Forwarded host ports listen on loopback only.
 * <p>
 * libslirp is single-threaded, so one daemon thread owns the Slirp instance and makes every call into it: it creates
 * it, feeds it guest frames (queued by {@link #send}), polls its sockets together with an eventfd that wakes the thread
 * for new frames and for {@link #close()}, runs its timers, and finally cleans it up. Its callbacks therefore run on
 * that thread too, including frame delivery to the device.
 */
public final class SlirpBackend implements FrameBackend {
    /** Guest frames waiting for the loop thread; beyond this {@link #send} refuses them, like a full NIC queue. */
    public static final int MAX_QUEUED = 1024;
    /** Longest sleep in poll(2), so timers and shutdown never wait on a missed wake-up. */
    static final int MAX_POLL_MS = 100;
    /** Largest frame either way: libslirp's MTU is 1500, so this only keeps nonsense out. */
    static final int MAX_FRAME = 65535;
    private static final int ETH_HEADER = 14;
    private static final long START_TIMEOUT_SECONDS = 30;
    private static final long STOP_TIMEOUT_SECONDS = 5;

    private static final System.Logger LOG = System.getLogger(SlirpBackend.class.getName());
    private static final ValueLayout.OfInt NETWORK_INT = JAVA_INT.withOrder(ByteOrder.BIG_ENDIAN);

    /** What a libslirp timer does when it fires, by the API that created it. */
    private sealed interface TimerAction {}

    /** timer_new_opaque (config version 4): hand id and cb_opaque back through slirp_handle_timer. */
    private record OpaqueTimer(int id, MemorySegment cbOpaque) implements TimerAction {}

    /** timer_new: call the C function {@code cb(cb_opaque)}. */
    private record CallbackTimer(MemorySegment callback, MemorySegment cbOpaque) implements TimerAction {}

    private final UserNetConfig config;
    private final LibSlirp lib;
    private final Libc libc = Libc.get();
    private final int wakeFd;
    private final long clockOrigin = System.nanoTime();
    private final ArrayBlockingQueue<byte[]> toSlirp = new ArrayBlockingQueue<>(MAX_QUEUED);
    private final AtomicBoolean wakePending = new AtomicBoolean();
    private final CompletableFuture<Void> started = new CompletableFuture<>();
    private final Thread loop;
    private final AtomicLong framesToGuest = new AtomicLong();
    private final AtomicLong framesFromGuest = new AtomicLong();
    private final AtomicLong refusedFromGuest = new AtomicLong();
    private final AtomicLong guestErrors = new AtomicLong();
    private final RateLimitedLog log = new RateLimitedLog(LOG);
    /** Holds the value 1 for eventfd writes; never freed, as a writer may be racing close(). */
    private final MemorySegment one = Arena.ofAuto().allocateFrom(JAVA_LONG, 1L);
    /** Guards {@link #wakeFdOpen}: the loop closes the eventfd, other threads write to it. */
    private final Object wakeLock = new Object();
    private boolean wakeFdOpen = true;
    private volatile Consumer<byte[]> receiver;
    private volatile boolean closed;

    // Loop-thread state.
    private final SlirpTimers<TimerAction> timers = new SlirpTimers<>();
    private MemorySegment slirp = MemorySegment.NULL;
    private MemorySegment addPollStub;
    private MemorySegment getReventsStub;
    private Arena pollArena;
    private MemorySegment pollFds;
    private int pollCount;
    private volatile int timersHeld;

    private SlirpBackend(UserNetConfig config, LibSlirp lib, int wakeFd) {
        this.config = config;
        this.lib = lib;
        this.wakeFd = wakeFd;
        this.loop = Thread.ofPlatform().daemon().name("vireo-slirp").unstarted(this::run);
    }

    /**
     * Starts a user network: loads libslirp, creates the stack on its own thread and sets up the port forwards.
     *
     * @throws IOException "user networking needs libslirp (apt-get install libslirp0)" when the library is missing, or
     *                     why the stack or a port forward (e.g. a host port already in use) could not be set up
     */
    public static SlirpBackend open(UserNetConfig config) throws IOException {
        return open(config, LibSlirp.load());
    }

    static SlirpBackend open(UserNetConfig config, LibSlirp lib) throws IOException {
        SlirpBackend backend = new SlirpBackend(config, lib, Libc.get().newEventFd());
        backend.loop.start();
        try {
            backend.started.get(START_TIMEOUT_SECONDS, TimeUnit.SECONDS);
            return backend;
        } catch (ExecutionException e) {
            backend.close();
            throw e.getCause() instanceof IOException io ? io : new IOException("user networking did not start: " + e.getCause(), e.getCause());
        } catch (TimeoutException e) {
            backend.close();
            throw new IOException("user networking did not start within " + START_TIMEOUT_SECONDS + " s");
        } catch (InterruptedException e) {
            backend.close();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while starting user networking", e);
        }
    }

    public UserNetConfig config() { return config; }

    /** Frames libslirp sent to the guest. */
    public long framesToGuest() { return framesToGuest.get(); }

    /** Guest frames handed to libslirp. */
    public long framesFromGuest() { return framesFromGuest.get(); }

    /** Guest frames refused: the queue to the loop thread was full, or the frame was malformed. */
    public long refusedFromGuest() { return refusedFromGuest.get(); }

    /** Malformed or improper guest packets libslirp reported (the first is logged as a warning, the rest at debug). */
    public long guestErrors() { return guestErrors.get(); }

    /** True while the loop thread runs (false once {@link #close()} has finished it). */
    public boolean running() { return loop.isAlive(); }

    @Override
    public void start(Consumer<byte[]> receiver) { this.receiver = receiver; }

    @Override
    public void send(byte[] frame) throws IOException {
        if (closed) throw new IOException("user network is closed");
        if (frame.length < ETH_HEADER || frame.length > MAX_FRAME) {
            refusedFromGuest.incrementAndGet();
            throw new IOException("frame of " + frame.length + " bytes is not an Ethernet frame");
        }
        if (!toSlirp.offer(frame)) {
            refusedFromGuest.incrementAndGet();
            throw new IOException("user network busy: " + MAX_QUEUED + " frames already queued");
        }
        if (wakePending.compareAndSet(false, true)) wake();
    }

    @Override
    public String describe() { return config.describe(); }

    @Override
    public void close() {
        closed = true;
        receiver = null;
        wake();
        if (Thread.currentThread() == loop) return;   // called from a callback: the loop ends when it returns
        try {
            loop.join(TimeUnit.SECONDS.toMillis(STOP_TIMEOUT_SECONDS));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (loop.isAlive()) LOG.log(System.Logger.Level.WARNING, "user network: loop thread did not stop within " + STOP_TIMEOUT_SECONDS + " s");
    }

    private void wake() {
        synchronized (wakeLock) {
            if (!wakeFdOpen) return;
            try {
                long ignored = (long) libc.write.invokeExact(wakeFd, one, 8L);
            } catch (Throwable t) {
                LOG.log(System.Logger.Level.WARNING, "user network: cannot wake the loop: " + t);
            }
        }
    }

    // ---- the loop thread ----

    private void run() {
        try (Arena arena = Arena.ofConfined()) {
            try {
                slirp = create(arena);
                for (HostForward f : config.forwards()) addForward(arena, f);
                started.complete(null);
                LOG.log(System.Logger.Level.DEBUG, () -> "user network up: libslirp " + lib.version() + ", " + config.describe());
                serve(arena);
            } catch (Throwable t) {
                if (!started.completeExceptionally(t instanceof IOException ? t : new IOException("user network: " + t, t))) {
                    LOG.log(System.Logger.Level.ERROR, "user network stopped: " + t);
                }
            } finally {
                closed = true;
                receiver = null;
                if (!slirp.equals(MemorySegment.NULL)) {
                    try {
                        lib.cleanup.invokeExact(slirp);   // closes its sockets and listeners; may still call back
                    } catch (Throwable t) {
                        LOG.log(System.Logger.Level.ERROR, "user network: slirp_cleanup failed: " + t);
                    }
                    slirp = MemorySegment.NULL;
                }
                if (pollArena != null) pollArena.close();
            }
        } finally {
            synchronized (wakeLock) {
                wakeFdOpen = false;
                libc.closeQuietly(wakeFd);
            }
            toSlirp.clear();
        }
    }

    /** slirp_new with our network layout and callbacks; both structs live in {@code arena} until after slirp_cleanup. */
    private MemorySegment create(Arena arena) throws Throwable {
        MemorySegment cb = arena.allocate(CALLBACKS);
        Linker linker = Linker.nativeLinker();
        MethodHandles.Lookup lookup = MethodHandles.lookup();
        cb.set(ValueLayout.ADDRESS, offset(CALLBACKS, "send_packet"), stub(linker, lookup, arena, "onSendPacket", LibSlirp.SEND_PACKET));
        cb.set(ValueLayout.ADDRESS, offset(CALLBACKS, "guest_error"), stub(linker, lookup, arena, "onGuestError", LibSlirp.GUEST_ERROR));
        cb.set(ValueLayout.ADDRESS, offset(CALLBACKS, "clock_get_ns"), stub(linker, lookup, arena, "onClockGetNs", LibSlirp.CLOCK_GET_NS));
        cb.set(ValueLayout.ADDRESS, offset(CALLBACKS, "timer_new"), stub(linker, lookup, arena, "onTimerNew", LibSlirp.TIMER_NEW));
        cb.set(ValueLayout.ADDRESS, offset(CALLBACKS, "timer_free"), stub(linker, lookup, arena, "onTimerFree", LibSlirp.TIMER_FREE));
        cb.set(ValueLayout.ADDRESS, offset(CALLBACKS, "timer_mod"), stub(linker, lookup, arena, "onTimerMod", LibSlirp.TIMER_MOD));
        MemorySegment pollFdNoop = stub(linker, lookup, arena, "onPollFd", LibSlirp.POLL_FD);
        cb.set(ValueLayout.ADDRESS, offset(CALLBACKS, "register_poll_fd"), pollFdNoop);
        cb.set(ValueLayout.ADDRESS, offset(CALLBACKS, "unregister_poll_fd"), pollFdNoop);
        cb.set(ValueLayout.ADDRESS, offset(CALLBACKS, "notify"), stub(linker, lookup, arena, "onNotify", LibSlirp.NOTIFY));
        cb.set(ValueLayout.ADDRESS, offset(CALLBACKS, "init_completed"), MemorySegment.NULL);
        cb.set(ValueLayout.ADDRESS, offset(CALLBACKS, "timer_new_opaque"), stub(linker, lookup, arena, "onTimerNewOpaque", LibSlirp.TIMER_NEW_OPAQUE));
        addPollStub = stub(linker, lookup, arena, "onAddPoll", LibSlirp.ADD_POLL);
        getReventsStub = stub(linker, lookup, arena, "onGetRevents", LibSlirp.GET_REVENTS);

        MemorySegment cfg = arena.allocate(CONFIG);   // zeroed: no TFTP, no boot file, no DNS search, default MTU/MRU
        int version = lib.configVersion();
        cfg.set(JAVA_INT, offset(CONFIG, "version"), version);
        cfg.set(JAVA_INT, offset(CONFIG, "restricted"), config.restricted() ? 1 : 0);
        cfg.set(JAVA_BOOLEAN, offset(CONFIG, "in_enabled"), true);
        cfg.set(NETWORK_INT, offset(CONFIG, "vnetwork"), UserNetConfig.NETWORK);
        cfg.set(NETWORK_INT, offset(CONFIG, "vnetmask"), UserNetConfig.NETMASK);
        cfg.set(NETWORK_INT, offset(CONFIG, "vhost"), UserNetConfig.GATEWAY);
        cfg.set(NETWORK_INT, offset(CONFIG, "vdhcp_start"), UserNetConfig.DHCP_START);
        cfg.set(NETWORK_INT, offset(CONFIG, "vnameserver"), UserNetConfig.NAMESERVER);
        cfg.set(JAVA_BOOLEAN, offset(CONFIG, "in6_enabled"), true);
        putIpv6(cfg, offset(CONFIG, "vprefix_addr6"), 0);   // fec0::/64, host fec0::2, DNS fec0::3, as QEMU
        cfg.set(JAVA_BYTE, offset(CONFIG, "vprefix_len"), (byte) 64);
        putIpv6(cfg, offset(CONFIG, "vhost6"), 2);
        putIpv6(cfg, offset(CONFIG, "vnameserver6"), 3);
        cfg.set(JAVA_BOOLEAN, offset(CONFIG, "disable_host_loopback"), false);   // 10.0.2.2 reaches 127.0.0.1

        MemorySegment instance = (MemorySegment) lib.slirpNew.invokeExact(cfg, cb, MemorySegment.NULL);
        if (instance.equals(MemorySegment.NULL)) {
            throw new IOException("slirp_new refused the configuration (libslirp " + lib.version() + ", config version " + version + ")");
        }
        return instance;
    }

    private MemorySegment stub(Linker linker, MethodHandles.Lookup lookup, Arena arena, String method, FunctionDescriptor fd)
            throws ReflectiveOperationException {
        MethodHandle target = lookup.findVirtual(SlirpBackend.class, method, fd.toMethodType()).bindTo(this);
        return linker.upcallStub(target, fd, arena);
    }

    private static void putIpv6(MemorySegment cfg, long offset, int last) {
        cfg.set(JAVA_BYTE, offset, (byte) 0xfe);
        cfg.set(JAVA_BYTE, offset + 1, (byte) 0xc0);
        cfg.set(JAVA_BYTE, offset + 15, (byte) last);
    }

    private void addForward(Arena arena, HostForward f) throws Throwable {
        MemorySegment host = arena.allocate(LibSlirp.IN_ADDR);
        MemorySegment guest = arena.allocate(LibSlirp.IN_ADDR);
        host.set(NETWORK_INT, 0, f.hostAddress());
        guest.set(NETWORK_INT, 0, f.guestAddress());
        int rc = (int) lib.addHostfwd.invokeExact(slirp, f.udp() ? 1 : 0, host, f.hostPort(), guest, f.guestPort());
        if (rc < 0) {
            throw new IOException("hostfwd=" + f + ": cannot listen on " + UserNetConfig.formatIpv4(f.hostAddress()) + ":" + f.hostPort()
                    + " (port in use?)");
        }
    }

    private void serve(Arena arena) throws Throwable {
        MemorySegment errno = arena.allocate(Libc.CAPTURE);
        MemorySegment timeout = arena.allocate(JAVA_INT);
        MemorySegment counter = arena.allocate(JAVA_LONG);
        MemorySegment frame = arena.allocate(MAX_FRAME);
        growPollFds(64);
        while (!closed) {
            wakePending.set(false);
            for (byte[] f; !closed && (f = toSlirp.poll()) != null; ) {
                MemorySegment.copy(f, 0, frame, JAVA_BYTE, 0, f.length);
                framesFromGuest.incrementAndGet();   // first: libslirp may answer (and a test look) within the call
                lib.input.invokeExact(slirp, frame, f.length);
            }
            runDueTimers();
            if (closed) break;

            pollCount = 0;
            int wakeIndex = addPollFd(wakeFd, Libc.POLLIN);
            int wait = (int) timers.millisUntilNext(nowMs(), MAX_POLL_MS);
            timeout.set(JAVA_INT, 0, wait);
            lib.pollfdsFill.invokeExact(slirp, timeout, addPollStub, MemorySegment.NULL);
            wait = (int) Math.min(wait, Integer.toUnsignedLong(timeout.get(JAVA_INT, 0)));
            if (!toSlirp.isEmpty()) wait = 0;

            int ready = (int) libc.poll.invokeExact(errno, pollFds, (long) pollCount, wait);
            boolean failed = ready < 0;
            if (failed && Libc.errno(errno) != Libc.EINTR) throw libc.failure("poll", errno);
            if (!failed && (pollFds.get(JAVA_SHORT, wakeIndex * Libc.POLLFD_SIZE + Libc.POLLFD_REVENTS) & Libc.POLLIN) != 0) {
                long ignored = (long) libc.read.invokeExact(wakeFd, counter, 8L);   // non-blocking: just resets the count
            }
            if (closed) break;
            lib.pollfdsPoll.invokeExact(slirp, failed ? 1 : 0, getReventsStub, MemorySegment.NULL);
        }
    }

    private void runDueTimers() throws Throwable {
        for (TimerAction action : timers.takeDue(nowMs())) {
            switch (action) {
                case OpaqueTimer t -> lib.handleTimer.orElseThrow().invokeExact(slirp, t.id(), t.cbOpaque());
                case CallbackTimer t -> lib.timerCallback.invokeExact(t.callback(), t.cbOpaque());
            }
        }
    }

    private long nowNs() { return System.nanoTime() - clockOrigin; }

    private long nowMs() { return nowNs() / 1_000_000; }

    private int addPollFd(int fd, short events) {
        if ((long) (pollCount + 1) * Libc.POLLFD_SIZE > pollFds.byteSize()) growPollFds(pollCount * 2);
        long at = pollCount * Libc.POLLFD_SIZE;
        pollFds.set(JAVA_INT, at, fd);
        pollFds.set(JAVA_SHORT, at + Libc.POLLFD_EVENTS, events);
        pollFds.set(JAVA_SHORT, at + Libc.POLLFD_REVENTS, (short) 0);
        return pollCount++;
    }

    private void growPollFds(int capacity) {
        Arena next = Arena.ofConfined();
        MemorySegment fds = next.allocate(capacity * Libc.POLLFD_SIZE, 8);
        if (pollFds != null) MemorySegment.copy(pollFds, 0, fds, 0, pollCount * Libc.POLLFD_SIZE);
        if (pollArena != null) pollArena.close();
        pollArena = next;
        pollFds = fds;
    }

    // ---- libslirp callbacks: on the loop thread, inside a slirp_* call. An exception escaping an upcall would
    // ---- abort the JVM, so each one catches everything.

    /** send_packet: a frame for the guest. */
    private long onSendPacket(MemorySegment buf, long len, MemorySegment opaque) {
        try {
            Consumer<byte[]> r = receiver;
            if (closed || r == null || len < ETH_HEADER || len > MAX_FRAME) return len;   // dropped, as by a NIC with no room
            framesToGuest.incrementAndGet();
            r.accept(buf.reinterpret(len).toArray(JAVA_BYTE));
        } catch (Throwable t) {
            log.warn("delivery failed", () -> "user network: delivering a frame to the guest failed: " + t);
        }
        return len;
    }

    /** guest_error: libslirp saw a malformed packet from the guest. */
    private void onGuestError(MemorySegment msg, MemorySegment opaque) {
        guestErrors.incrementAndGet();
        try {
            String text = msg.equals(MemorySegment.NULL) ? "?" : msg.reinterpret(1024).getString(0);
            log.warn("guest error", () -> "user network: guest error: " + text);
        } catch (Throwable t) {
            // logging must not take the stack down
        }
    }

    /** clock_get_ns: monotonic nanoseconds since this backend started. */
    private long onClockGetNs(MemorySegment opaque) { return nowNs(); }

    private MemorySegment onTimerNew(MemorySegment callback, MemorySegment cbOpaque, MemorySegment opaque) {
        try {
            MemorySegment handle = MemorySegment.ofAddress(timers.create(new CallbackTimer(callback, cbOpaque)));
            timersHeld = timers.size();
            return handle;
        } catch (Throwable t) {
            return MemorySegment.NULL;
        }
    }

    private MemorySegment onTimerNewOpaque(int id, MemorySegment cbOpaque, MemorySegment opaque) {
        try {
            MemorySegment handle = MemorySegment.ofAddress(timers.create(new OpaqueTimer(id, cbOpaque)));
            timersHeld = timers.size();
            return handle;
        } catch (Throwable t) {
            return MemorySegment.NULL;
        }
    }

    private void onTimerFree(MemorySegment timer, MemorySegment opaque) {
        try {
            timers.free(timer.address());
            timersHeld = timers.size();
        } catch (Throwable t) {
            // an unknown timer is already gone
        }
    }

    /** timer_mod: fire once at {@code expireMs} on the clock_get_ns clock, in milliseconds. */
    private void onTimerMod(MemorySegment timer, long expireMs, MemorySegment opaque) {
        try {
            timers.schedule(timer.address(), expireMs);
        } catch (Throwable t) {
            // an unknown timer cannot fire
        }
    }

    /** register_poll_fd / unregister_poll_fd: nothing to do, slirp_pollfds_fill lists the descriptors every round. */
    private void onPollFd(int fd, MemorySegment opaque) {}

    /** notify: a socket can take more data; go round the loop again at once. */
    private void onNotify(MemorySegment opaque) {
        try {
            if (wakePending.compareAndSet(false, true)) wake();
        } catch (Throwable t) {
            // the loop comes round within MAX_POLL_MS anyway
        }
    }

    /** add_poll: slirp_pollfds_fill lists a descriptor; returns its index for get_revents. */
    private int onAddPoll(int fd, int slirpEvents, MemorySegment opaque) {
        try {
            short events = 0;
            if ((slirpEvents & LibSlirp.SLIRP_POLL_IN) != 0) events |= Libc.POLLIN;
            if ((slirpEvents & LibSlirp.SLIRP_POLL_OUT) != 0) events |= Libc.POLLOUT;
            if ((slirpEvents & LibSlirp.SLIRP_POLL_PRI) != 0) events |= Libc.POLLPRI;
            if ((slirpEvents & LibSlirp.SLIRP_POLL_ERR) != 0) events |= Libc.POLLERR;
            if ((slirpEvents & LibSlirp.SLIRP_POLL_HUP) != 0) events |= Libc.POLLHUP;
            return addPollFd(fd, events);
        } catch (Throwable t) {
            LOG.log(System.Logger.Level.ERROR, "user network: cannot poll descriptor " + fd + ": " + t);
            return -1;
        }
    }

    /** get_revents: what poll(2) reported for the descriptor at {@code index}, in SLIRP_POLL_* bits. */
    private int onGetRevents(int index, MemorySegment opaque) {
        try {
            if (index < 0 || index >= pollCount) return 0;
            short revents = pollFds.get(JAVA_SHORT, index * Libc.POLLFD_SIZE + Libc.POLLFD_REVENTS);
            int events = 0;
            if ((revents & Libc.POLLIN) != 0) events |= LibSlirp.SLIRP_POLL_IN;
            if ((revents & Libc.POLLOUT) != 0) events |= LibSlirp.SLIRP_POLL_OUT;
            if ((revents & Libc.POLLPRI) != 0) events |= LibSlirp.SLIRP_POLL_PRI;
            if ((revents & (Libc.POLLERR | Libc.POLLNVAL)) != 0) events |= LibSlirp.SLIRP_POLL_ERR;
            if ((revents & Libc.POLLHUP) != 0) events |= LibSlirp.SLIRP_POLL_HUP;
            return events;
        } catch (Throwable t) {
            return 0;
        }
    }

    // ---- for tests ----

    /** Timers libslirp holds (with IPv6 on, its router-advertisement timer). */
    int timerCount() { return timersHeld; }
}
