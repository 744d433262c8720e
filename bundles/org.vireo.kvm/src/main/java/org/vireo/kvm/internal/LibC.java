package org.vireo.kvm.internal;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import org.vireo.kvm.KvmException;

/**
 * The few C library calls KVM needs, bound through the Foreign Function &amp; Memory API. Every call that can fail
 * captures errno (FFM's call-state capture, as the JVM may clobber errno between the call and a later read) and
 * either throws {@link KvmException} naming the operation, or, on hot paths, returns {@code -errno}.
 * The capture buffer is per thread, so these are safe to call from any thread.
 */
@SuppressWarnings("restricted") // binding native code is this class's purpose; the bundle needs native access
public final class LibC {
    public static final int O_RDWR = 0x2;
    public static final int O_CLOEXEC = 0x80000;
    public static final int PROT_READ = 0x1;
    public static final int PROT_WRITE = 0x2;
    public static final int MAP_SHARED = 0x1;
    public static final int EFD_CLOEXEC = 0x80000;
    public static final int EFD_NONBLOCK = 0x800;
    public static final short POLLIN = 0x1;
    public static final int SIG_BLOCK = 0;

    public static final int ENOENT = 2;
    public static final int EINTR = 4;
    public static final int E2BIG = 7;
    public static final int EAGAIN = 11;
    public static final int EACCES = 13;
    public static final int EFAULT = 14;
    public static final int EBUSY = 16;
    public static final int EEXIST = 17;
    public static final int ENXIO = 6;
    public static final int EINVAL = 22;
    public static final int ENOTTY = 25;
    public static final int ENOMEM = 12;
    public static final int EPERM = 1;
    public static final int ENOSYS = 38;
    public static final int EOPNOTSUPP = 95;

    /** glibc's sigset_t is 1024 bits; the kernel's (what KVM_SET_SIGNAL_MASK takes) is its first 64. */
    public static final long SIGSET_BYTES = 128;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final Linker.Option ERRNO = Linker.Option.captureCallState("errno");
    private static final MemoryLayout CAPTURE_LAYOUT = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO_HANDLE =
            CAPTURE_LAYOUT.varHandle(MemoryLayout.PathElement.groupElement("errno"));

    private static final MethodHandle OPEN = errnoHandle("open", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT),
            Linker.Option.firstVariadicArg(2));
    private static final MethodHandle CLOSE = errnoHandle("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    // ioctl(int, unsigned long, ...) is variadic: the third argument goes through the variadic convention.
    private static final MethodHandle IOCTL_VALUE = errnoHandle("ioctl", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG),
            Linker.Option.firstVariadicArg(2));
    private static final MethodHandle IOCTL_POINTER = errnoHandle("ioctl", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS),
            Linker.Option.firstVariadicArg(2));
    private static final MethodHandle MMAP = errnoHandle("mmap",
            FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG));
    private static final MethodHandle MUNMAP = errnoHandle("munmap", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));
    private static final MethodHandle EVENTFD = errnoHandle("eventfd", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle READ = errnoHandle("read", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    private static final MethodHandle WRITE = errnoHandle("write", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    private static final MethodHandle POLL = errnoHandle("poll", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
    private static final MethodHandle PTHREAD_SELF = plainHandle("pthread_self", FunctionDescriptor.of(JAVA_LONG));
    // pthread_* return the error number instead of setting errno.
    private static final MethodHandle PTHREAD_KILL = plainHandle("pthread_kill", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT));
    private static final MethodHandle PTHREAD_SIGMASK = plainHandle("pthread_sigmask", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle SIGTIMEDWAIT = errnoHandle("sigtimedwait", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
    private static final MethodHandle SIGRTMIN = plainHandle("__libc_current_sigrtmin", FunctionDescriptor.of(JAVA_INT));
    private static final MethodHandle STRERROR = plainHandle("strerror", FunctionDescriptor.of(ADDRESS, JAVA_INT));

    /** Per-thread errno capture buffer; freed by the GC with its thread. */
    private static final ThreadLocal<MemorySegment> CAPTURE = ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(CAPTURE_LAYOUT));

    private LibC() {}

    private static MethodHandle errnoHandle(String name, FunctionDescriptor fd, Linker.Option... extra) {
        Linker.Option[] options = new Linker.Option[extra.length + 1];
        options[0] = ERRNO;
        System.arraycopy(extra, 0, options, 1, extra.length);
        return LINKER.downcallHandle(symbol(name), fd, options);
    }

    private static MethodHandle plainHandle(String name, FunctionDescriptor fd) {
        return LINKER.downcallHandle(symbol(name), fd);
    }

    private static MemorySegment symbol(String name) {
        return LIBC.find(name).orElseThrow(() -> new UnsatisfiedLinkError("C library has no " + name));
    }

    private static MemorySegment capture() { return CAPTURE.get(); }

    private static int errno(MemorySegment capture) { return (int) ERRNO_HANDLE.get(capture, 0L); }

    private static RuntimeException unexpected(String what, Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new IllegalStateException(what + ": " + t, t);
    }

    /** The C library's text for an errno value. */
    public static String strerror(int errno) {
        try {
            MemorySegment s = (MemorySegment) STRERROR.invokeExact(errno);
            return s.equals(MemorySegment.NULL) ? "errno " + errno : s.reinterpret(1024).getString(0);
        } catch (Throwable t) {
            return "errno " + errno;
        }
    }

    public static int open(String path, int flags, String operation) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment c = capture();
            int fd = (int) OPEN.invokeExact(c, arena.allocateFrom(path), flags, 0);
            if (fd < 0) throw new KvmException(operation, errno(c));
            return fd;
        } catch (KvmException e) {
            throw e;
        } catch (Throwable t) {
            throw unexpected(operation, t);
        }
    }

    /** Closes quietly: a failing close of a KVM or eventfd descriptor leaves nothing to recover. */
    public static void close(int fd) {
        if (fd < 0) return;
        try {
            int ignored = (int) CLOSE.invokeExact(capture(), fd);
        } catch (Throwable t) {
            throw unexpected("close", t);
        }
    }

    /** ioctl with an integer argument; returns the non-negative result or throws naming {@code operation}. */
    public static int ioctl(int fd, long request, long arg, String operation) {
        int r = ioctlErrno(fd, request, arg);
        if (r < 0) throw new KvmException(operation, -r);
        return r;
    }

    /** ioctl with a pointer argument; returns the non-negative result or throws naming {@code operation}. */
    public static int ioctl(int fd, long request, MemorySegment arg, String operation) {
        int r = ioctlErrno(fd, request, arg);
        if (r < 0) throw new KvmException(operation, -r);
        return r;
    }

    /** ioctl with an integer argument: the result, or {@code -errno}. */
    public static int ioctlErrno(int fd, long request, long arg) {
        try {
            MemorySegment c = capture();
            int r = (int) IOCTL_VALUE.invokeExact(c, fd, request, arg);
            return r < 0 ? -errno(c) : r;
        } catch (Throwable t) {
            throw unexpected("ioctl", t);
        }
    }

    /** ioctl with a pointer argument: the result, or {@code -errno}. */
    public static int ioctlErrno(int fd, long request, MemorySegment arg) {
        try {
            MemorySegment c = capture();
            int r = (int) IOCTL_POINTER.invokeExact(c, fd, request, arg);
            return r < 0 ? -errno(c) : r;
        } catch (Throwable t) {
            throw unexpected("ioctl", t);
        }
    }

    /** Maps {@code length} bytes of {@code fd} shared read-write; the segment must be given back with {@link #munmap}. */
    public static MemorySegment mmapShared(int fd, long length, String operation) {
        try {
            MemorySegment c = capture();
            MemorySegment p = (MemorySegment) MMAP.invokeExact(c, MemorySegment.NULL, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0L);
            if (p.address() == -1L) throw new KvmException(operation, errno(c));
            return p.reinterpret(length);
        } catch (KvmException e) {
            throw e;
        } catch (Throwable t) {
            throw unexpected(operation, t);
        }
    }

    public static void munmap(MemorySegment mapping) {
        try {
            int ignored = (int) MUNMAP.invokeExact(capture(), mapping, mapping.byteSize());
        } catch (Throwable t) {
            throw unexpected("munmap", t);
        }
    }

    public static int eventfd(int flags) {
        try {
            MemorySegment c = capture();
            int fd = (int) EVENTFD.invokeExact(c, 0, flags);
            if (fd < 0) throw new KvmException("eventfd", errno(c));
            return fd;
        } catch (KvmException e) {
            throw e;
        } catch (Throwable t) {
            throw unexpected("eventfd", t);
        }
    }

    /** read(2) into {@code buffer}: bytes read, or {@code -errno}. */
    public static long read(int fd, MemorySegment buffer) {
        try {
            MemorySegment c = capture();
            long r = (long) READ.invokeExact(c, fd, buffer, buffer.byteSize());
            return r < 0 ? -errno(c) : r;
        } catch (Throwable t) {
            throw unexpected("read", t);
        }
    }

    /** write(2) from {@code buffer}: bytes written, or {@code -errno}. */
    public static long write(int fd, MemorySegment buffer) {
        try {
            MemorySegment c = capture();
            long r = (long) WRITE.invokeExact(c, fd, buffer, buffer.byteSize());
            return r < 0 ? -errno(c) : r;
        } catch (Throwable t) {
            throw unexpected("write", t);
        }
    }

    /** Waits up to {@code timeoutMillis} (negative: forever) for {@code fd} to become readable: 1, 0 on timeout, or {@code -errno}. */
    public static int pollIn(int fd, int timeoutMillis) {
        try (Arena arena = Arena.ofConfined()) {
            // struct pollfd { int fd; short events; short revents; }
            MemorySegment pfd = arena.allocate(8, 4);
            pfd.set(JAVA_INT, 0, fd);
            pfd.set(java.lang.foreign.ValueLayout.JAVA_SHORT, 4, POLLIN);
            MemorySegment c = capture();
            int r = (int) POLL.invokeExact(c, pfd, 1L, timeoutMillis);
            return r < 0 ? -errno(c) : r;
        } catch (Throwable t) {
            throw unexpected("poll", t);
        }
    }

    public static long pthreadSelf() {
        try {
            return (long) PTHREAD_SELF.invokeExact();
        } catch (Throwable t) {
            throw unexpected("pthread_self", t);
        }
    }

    /** Sends {@code signal} to one thread; returns 0 or the error number. */
    public static int pthreadKill(long thread, int signal) {
        try {
            return (int) PTHREAD_KILL.invokeExact(thread, signal);
        } catch (Throwable t) {
            throw unexpected("pthread_kill", t);
        }
    }

    /** The first real-time signal number glibc leaves to applications. */
    public static int sigrtmin() {
        try {
            return (int) SIGRTMIN.invokeExact();
        } catch (Throwable t) {
            throw unexpected("__libc_current_sigrtmin", t);
        }
    }

    /** A glibc sigset_t holding only {@code signal}. */
    public static MemorySegment sigset(Arena arena, int signal) {
        MemorySegment set = arena.allocate(SIGSET_BYTES, 8);
        int bit = signal - 1;
        set.set(JAVA_LONG, (bit / 64) * 8L, 1L << (bit % 64));
        return set;
    }

    /**
     * Blocks {@code set} in the calling thread; writes the previous mask into {@code old} (a glibc sigset_t).
     */
    public static void blockSignals(MemorySegment set, MemorySegment old) {
        try {
            int r = (int) PTHREAD_SIGMASK.invokeExact(SIG_BLOCK, set, old);
            if (r != 0) throw new KvmException("pthread_sigmask", r);
        } catch (KvmException e) {
            throw e;
        } catch (Throwable t) {
            throw unexpected("pthread_sigmask", t);
        }
    }

    /** Takes a pending signal of {@code set} off the calling thread without waiting; true if one was pending. */
    public static boolean consumePendingSignal(MemorySegment set) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment zero = arena.allocate(16, 8); // struct timespec {0, 0}
            MemorySegment c = capture();
            int r = (int) SIGTIMEDWAIT.invokeExact(c, set, MemorySegment.NULL, zero);
            return r > 0;
        } catch (Throwable t) {
            throw unexpected("sigtimedwait", t);
        }
    }
}
