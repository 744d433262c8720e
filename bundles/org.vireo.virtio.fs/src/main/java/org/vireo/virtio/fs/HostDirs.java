package org.vireo.virtio.fs;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * openat(2) and close(2) through the Foreign Function API, for walking the shared tree one directory descriptor at a
 * time: each component is opened relative to its parent's descriptor with O_NOFOLLOW, so a symlink anywhere on the
 * way fails the walk instead of being followed, whatever the host does meanwhile. java.nio.file then works below a
 * directory through {@code /proc/self/fd/N/name}: the kernel resolves {@code /proc/self/fd/N} to exactly the opened
 * directory. Unavailable (no C library, native access refused, no /proc) means the server falls back to checking
 * each component with lstat.
 */
final class HostDirs {
    static final int AT_FDCWD = -100;
    static final int O_DIRECTORY = 0200000;
    static final int O_NOFOLLOW = 0400000;
    static final int O_CLOEXEC = 02000000;
    static final int O_PATH = 010000000;

    private static final MethodHandle OPENAT;
    private static final MethodHandle CLOSE;
    private static final StructLayout STATE;
    private static final VarHandle ERRNO;

    static {
        MethodHandle openat = null, close = null;
        StructLayout state = null;
        VarHandle errno = null;
        try {
            Linker linker = Linker.nativeLinker();
            Linker.Option capture = Linker.Option.captureCallState("errno");
            state = Linker.Option.captureStateLayout();
            errno = state.varHandle(MemoryLayout.PathElement.groupElement("errno"));
            openat = linker.defaultLookup().find("openat").map(a -> linker.downcallHandle(a,
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT), capture)).orElse(null);
            close = linker.defaultLookup().find("close").map(a -> linker.downcallHandle(a,
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT))).orElse(null);
        } catch (RuntimeException | Error e) {
            openat = null;
        }
        OPENAT = close == null ? null : openat;
        CLOSE = close;
        STATE = state;
        ERRNO = errno;
    }

    private HostDirs() {}

    static boolean available() { return OPENAT != null && Files.isDirectory(Path.of("/proc/self/fd")); }

    /** The path through which java.nio.file reaches what descriptor {@code fd} refers to. */
    static Path path(int fd) { return Path.of("/proc/self/fd/" + fd); }

    /** openat(dirfd, name, flags | O_CLOEXEC): the descriptor, or FuseError with the errno. */
    static int openat(int dirfd, String name, int flags) throws FuseError {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(STATE);
            int fd = (int) OPENAT.invokeExact(state, dirfd, arena.allocateFrom(name), flags | O_CLOEXEC);
            if (fd < 0) throw new FuseError((int) ERRNO.get(state, 0L));
            return fd;
        } catch (FuseError e) {
            throw e;
        } catch (Throwable t) {
            throw new FuseError(Fuse.EIO, "openat: " + t);
        }
    }

    static void close(int fd) {
        try {
            int rc = (int) CLOSE.invokeExact(fd);
            assert rc == 0 || rc == -1;
        } catch (Throwable ignored) {
            // nothing to do about a descriptor that does not close
        }
    }
}
