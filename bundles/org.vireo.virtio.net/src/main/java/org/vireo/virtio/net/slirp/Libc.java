package org.vireo.virtio.net.slirp;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/** The few libc calls the user-networking loop needs: an eventfd to wake it, and poll(2). */
final class Libc {
    static final int EFD_NONBLOCK = 0x800;
    static final int EFD_CLOEXEC = 0x80000;
    static final int EINTR = 4;
    // poll(2) event bits (asm-generic/poll.h).
    static final short POLLIN = 0x1, POLLPRI = 0x2, POLLOUT = 0x4, POLLERR = 0x8, POLLHUP = 0x10, POLLNVAL = 0x20;
    /** struct pollfd { int fd; short events; short revents; }. */
    static final long POLLFD_SIZE = 8, POLLFD_EVENTS = 4, POLLFD_REVENTS = 6;

    static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));

    final MethodHandle eventfd;   // int eventfd(unsigned int initval, int flags), errno captured
    final MethodHandle poll;      // int poll(struct pollfd *, nfds_t, int timeout), errno captured
    final MethodHandle read;      // ssize_t read(int, void *, size_t)
    final MethodHandle write;     // ssize_t write(int, const void *, size_t)
    final MethodHandle close;     // int close(int)
    private final MethodHandle strerror;

    private Libc() {
        Linker linker = Linker.nativeLinker();
        SymbolLookup libc = linker.defaultLookup();
        Linker.Option errno = Linker.Option.captureCallState("errno");
        eventfd = linker.downcallHandle(find(libc, "eventfd"), FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT), errno);
        poll = linker.downcallHandle(find(libc, "poll"), FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT), errno);
        read = linker.downcallHandle(find(libc, "read"), FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
        write = linker.downcallHandle(find(libc, "write"), FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
        close = linker.downcallHandle(find(libc, "close"), FunctionDescriptor.of(JAVA_INT, JAVA_INT));
        strerror = linker.downcallHandle(find(libc, "strerror"), FunctionDescriptor.of(ADDRESS, JAVA_INT));
    }

    private static final class Holder {
        static final Libc INSTANCE = new Libc();
    }

    static Libc get() { return Holder.INSTANCE; }

    /** A non-blocking, close-on-exec eventfd. */
    int newEventFd() throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment state = a.allocate(CAPTURE);
            int fd = (int) eventfd.invokeExact(state, 0, EFD_NONBLOCK | EFD_CLOEXEC);
            if (fd < 0) throw failure("eventfd", state);
            return fd;
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException("eventfd: " + t, t);
        }
    }

    void closeQuietly(int fd) {
        try {
            int ignored = (int) close.invokeExact(fd);
        } catch (Throwable ignored) {
            // nothing useful to do: the descriptor is gone either way
        }
    }

    static int errno(MemorySegment state) { return (int) ERRNO.get(state, 0L); }

    IOException failure(String what, MemorySegment state) {
        int err = errno(state);
        String text;
        try {
            MemorySegment s = (MemorySegment) strerror.invokeExact(err);
            text = s.reinterpret(256).getString(0);
        } catch (Throwable t) {
            text = "error";
        }
        return new IOException(what + ": " + text + " (errno " + err + ")");
    }

    private static MemorySegment find(SymbolLookup lookup, String symbol) {
        return lookup.find(symbol).orElseThrow(() -> new UnsatisfiedLinkError("libc has no " + symbol));
    }
}
