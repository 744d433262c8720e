package org.vireo.virtio.net;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import org.vireo.virtio.device.RateLimitedLog;

/**
 * Backend "tap:IFNAME": a Linux TAP interface opened through {@code /dev/net/tun} with {@code java.lang.foreign}.
 * Frames are read by a daemon thread that polls the TAP descriptor together with an eventfd, so {@link #close()} can
 * wake it without waiting for traffic. Needs CAP_NET_ADMIN (or a persistent TAP owned by the user).
 * <p>
 * The reader outlives a failing delivery: if the receiver (the device) throws, the frame is dropped, the failure
 * logged (rate-limited) and the next frame read; only the TAP itself failing, or {@link #close()}, ends it.
 */
public final class TapBackend implements FrameBackend {
    private static final System.Logger LOG = System.getLogger(TapBackend.class.getName());

    private static final int O_RDWR = 2;
    private static final int O_CLOEXEC = 0x80000;
    private static final long TUNSETIFF = 0x400454caL;   // _IOW('T', 202, int)
    private static final short IFF_TAP = 0x0002;
    private static final short IFF_NO_PI = 0x1000;
    private static final int IFNAMSIZ = 16;
    private static final int IFREQ_SIZE = 40;
    private static final int EFD_CLOEXEC = 0x80000;
    private static final short POLLIN = 0x1;
    private static final short POLLERR = 0x8;
    private static final short POLLHUP = 0x10;
    private static final short POLLNVAL = 0x20;
    private static final int EINTR = 4;
    private static final int EAGAIN = 11;
    private static final int BUFFER = 65536;

    private final String ifname;
    private final int tapFd;
    private final int wakeFd;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment readBuffer;
    private final MemorySegment writeBuffer;
    private final Object writeLock = new Object();
    private Thread reader;
    private volatile boolean closed;

    private TapBackend(String ifname, int tapFd, int wakeFd) {
        this.ifname = ifname;
        this.tapFd = tapFd;
        this.wakeFd = wakeFd;
        this.readBuffer = arena.allocate(BUFFER);
        this.writeBuffer = arena.allocate(BUFFER);
    }

    /**
     * Attaches to (or creates) the TAP interface {@code ifname}.
     *
     * @throws IOException with the errno text when the TAP cannot be opened, e.g. without CAP_NET_ADMIN
     */
    public static TapBackend open(String ifname) throws IOException {
        byte[] name = ifname.getBytes(StandardCharsets.US_ASCII);
        if (name.length == 0 || name.length >= IFNAMSIZ || ifname.contains("/") || ifname.isBlank()) {
            throw new IOException("bad TAP interface name \"" + ifname + "\": 1 to 15 characters, no '/'");
        }
        Native n = Native.get();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment errno = a.allocate(Native.CAPTURE);
            int fd = (int) n.open.invokeExact(errno, a.allocateFrom("/dev/net/tun"), O_RDWR | O_CLOEXEC);
            if (fd < 0) throw n.failure("cannot open /dev/net/tun for TAP " + ifname, errno);
            MemorySegment ifreq = a.allocate(IFREQ_SIZE);
            MemorySegment.copy(name, 0, ifreq, ValueLayout.JAVA_BYTE, 0, name.length);
            ifreq.set(ValueLayout.JAVA_SHORT, IFNAMSIZ, (short) (IFF_TAP | IFF_NO_PI));
            int rc = (int) n.ioctl.invokeExact(errno, fd, TUNSETIFF, ifreq);
            if (rc < 0) {
                IOException e = n.failure("cannot attach to TAP interface " + ifname + " (TUNSETIFF; needs CAP_NET_ADMIN or a TAP owned by this user)", errno);
                int ignored = (int) n.close.invokeExact(fd);
                throw e;
            }
            int efd = (int) n.eventfd.invokeExact(errno, 0, EFD_CLOEXEC);
            if (efd < 0) {
                IOException e = n.failure("eventfd failed", errno);
                int ignored = (int) n.close.invokeExact(fd);
                throw e;
            }
            String actual = ifreq.getString(0, StandardCharsets.US_ASCII);
            return new TapBackend(actual.isEmpty() ? ifname : actual, fd, efd);
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException("TAP " + ifname + ": native call failed: " + t, t);
        }
    }

    public String interfaceName() { return ifname; }

    @Override
    public synchronized void start(Consumer<byte[]> receiver) {
        if (reader != null || closed) return;
        reader = Thread.ofPlatform().daemon().name("vireo-tap-" + ifname).start(() -> readLoop(receiver));
    }

    private void readLoop(Consumer<byte[]> receiver) {
        Native n = Native.get();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment errno = a.allocate(Native.CAPTURE);
            MemorySegment fds = a.allocate(16, 8);   // struct pollfd[2] {int fd; short events; short revents}
            fds.set(ValueLayout.JAVA_INT, 0, tapFd);
            fds.set(ValueLayout.JAVA_SHORT, 4, POLLIN);
            fds.set(ValueLayout.JAVA_INT, 8, wakeFd);
            fds.set(ValueLayout.JAVA_SHORT, 12, POLLIN);
            pump("TAP " + ifname, () -> nextFrame(n, errno, fds), receiver, () -> closed);
        }
    }

    /** The next frame from the TAP, or null once closed; waits for one. */
    private byte[] nextFrame(Native n, MemorySegment errno, MemorySegment fds) throws Throwable {
        while (!closed) {
            fds.set(ValueLayout.JAVA_SHORT, 6, (short) 0);
            fds.set(ValueLayout.JAVA_SHORT, 14, (short) 0);
            int ready = (int) n.poll.invokeExact(errno, fds, 2L, -1);
            if (ready < 0) {
                if (Native.errno(errno) == EINTR) continue;
                throw n.failure("poll", errno);
            }
            if (closed || fds.get(ValueLayout.JAVA_SHORT, 14) != 0) break;
            short revents = fds.get(ValueLayout.JAVA_SHORT, 6);
            if ((revents & (POLLERR | POLLHUP | POLLNVAL)) != 0) throw new IOException("TAP descriptor reported poll events 0x" + Integer.toHexString(revents));
            if ((revents & POLLIN) == 0) continue;
            long got = (long) n.read.invokeExact(errno, tapFd, readBuffer, (long) BUFFER);
            if (got < 0) {
                int err = Native.errno(errno);
                if (err == EINTR || err == EAGAIN) continue;
                throw n.failure("read", errno);
            }
            if (got > 0 && !closed) return readBuffer.asSlice(0, got).toArray(ValueLayout.JAVA_BYTE);
        }
        return null;
    }

    /** Where a reader thread gets its frames: {@code null} when there are no more. */
    @FunctionalInterface
    interface FrameSource {
        byte[] next() throws Throwable;
    }

    /**
     * A reader thread's loop: hands each frame of {@code source} to {@code receiver} until the source ends, fails,
     * or {@code closed} says so. A receiver that throws loses that frame, not the loop (the device has had its
     * chance to ask for a reset; a reader that died would starve receive until the VM ends).
     */
    static void pump(String label, FrameSource source, Consumer<byte[]> receiver, BooleanSupplier closed) {
        RateLimitedLog log = new RateLimitedLog(LOG);
        try {
            byte[] frame;
            while (!closed.getAsBoolean() && (frame = source.next()) != null) {
                if (closed.getAsBoolean()) break;
                try {
                    receiver.accept(frame);
                } catch (RuntimeException | LinkageError | AssertionError e) {
                    log.log(System.Logger.Level.ERROR, "delivery failed", () -> label + ": delivering a frame failed; it is dropped", e);
                }
            }
        } catch (Throwable t) {
            if (!closed.getAsBoolean()) LOG.log(System.Logger.Level.ERROR, label + ": receiving stopped: " + t.getMessage());
        }
    }

    @Override
    public void send(byte[] frame) throws IOException {
        if (frame.length > BUFFER) throw new IOException("frame of " + frame.length + " bytes is too large for TAP " + ifname);
        Native n = Native.get();
        synchronized (writeLock) {
            if (closed) throw new IOException("TAP " + ifname + " is closed");
            MemorySegment.copy(frame, 0, writeBuffer, ValueLayout.JAVA_BYTE, 0, frame.length);
            try (Arena a = Arena.ofConfined()) {
                MemorySegment errno = a.allocate(Native.CAPTURE);
                long written = (long) n.write.invokeExact(errno, tapFd, writeBuffer, (long) frame.length);
                if (written < 0) throw n.failure("write to TAP " + ifname, errno);
            } catch (IOException | RuntimeException | Error e) {
                throw e;
            } catch (Throwable t) {
                throw new IOException(t);
            }
        }
    }

    @Override
    public String describe() { return "tap:" + ifname; }

    @Override
    public void close() {
        Thread r;
        synchronized (this) {
            if (closed) return;
            closed = true;
            r = reader;
        }
        Native n = Native.get();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment one = a.allocateFrom(ValueLayout.JAVA_LONG, 1L);
            long ignored = (long) n.writeNoErrno.invokeExact(wakeFd, one, 8L);
            if (r != null) r.join(TimeUnit.SECONDS.toMillis(5));
            synchronized (writeLock) {
                int c1 = (int) n.close.invokeExact(tapFd);
                int c2 = (int) n.close.invokeExact(wakeFd);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Throwable t) {
            LOG.log(System.Logger.Level.WARNING, "TAP " + ifname + ": close failed: " + t);
        }
        if (r == null || !r.isAlive()) arena.close();   // a reader stuck in native code keeps its buffer
    }

    /** libc entry points; looked up once. Those taking a capture segment first report errno through it. */
    private static final class Native {
        static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
        private static final VarHandle ERRNO = CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));

        final MethodHandle open, ioctl, eventfd, poll, read, write, writeNoErrno, close, strerror;

        private Native() {
            Linker linker = Linker.nativeLinker();
            SymbolLookup libc = linker.defaultLookup();
            Linker.Option errno = Linker.Option.captureCallState("errno");
            ValueLayout.OfInt i = ValueLayout.JAVA_INT;
            ValueLayout.OfLong l = ValueLayout.JAVA_LONG;
            var p = ValueLayout.ADDRESS;
            open = linker.downcallHandle(find(libc, "open"), FunctionDescriptor.of(i, p, i), errno);
            ioctl = linker.downcallHandle(find(libc, "ioctl"), FunctionDescriptor.of(i, i, l, p), errno, Linker.Option.firstVariadicArg(2));
            eventfd = linker.downcallHandle(find(libc, "eventfd"), FunctionDescriptor.of(i, i, i), errno);
            poll = linker.downcallHandle(find(libc, "poll"), FunctionDescriptor.of(i, p, l, i), errno);
            read = linker.downcallHandle(find(libc, "read"), FunctionDescriptor.of(l, i, p, l), errno);
            write = linker.downcallHandle(find(libc, "write"), FunctionDescriptor.of(l, i, p, l), errno);
            writeNoErrno = linker.downcallHandle(find(libc, "write"), FunctionDescriptor.of(l, i, p, l));
            close = linker.downcallHandle(find(libc, "close"), FunctionDescriptor.of(i, i));
            strerror = linker.downcallHandle(find(libc, "strerror"), FunctionDescriptor.of(p, i));
        }

        private static final class Holder {
            static final Native INSTANCE = new Native();
        }

        static Native get() { return Holder.INSTANCE; }

        private static MemorySegment find(SymbolLookup lookup, String symbol) {
            return lookup.find(symbol).orElseThrow(() -> new UnsatisfiedLinkError("libc has no " + symbol));
        }

        static int errno(MemorySegment capture) { return (int) ERRNO.get(capture, 0L); }

        IOException failure(String what, MemorySegment capture) {
            int err = errno(capture);
            String text;
            try {
                MemorySegment s = (MemorySegment) strerror.invokeExact(err);
                text = s.reinterpret(256).getString(0);
            } catch (Throwable t) {
                text = "error";
            }
            return new IOException(what + ": " + text + " (errno " + err + ")");
        }
    }
}
