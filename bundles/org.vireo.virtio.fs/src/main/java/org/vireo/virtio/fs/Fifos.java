package org.vireo.virtio.fs;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.file.Path;

/**
 * mkfifo(3), the one call java.nio.file lacks, through the Foreign Function API. Unavailable (no C library, or
 * native access refused) means MKNOD of a fifo answers EPERM.
 */
final class Fifos {
    private static final MethodHandle MKFIFO;
    private static final StructLayout STATE;
    private static final VarHandle ERRNO;

    static {
        MethodHandle h = null;
        StructLayout state = null;
        VarHandle errno = null;
        try {
            Linker linker = Linker.nativeLinker();
            Linker.Option capture = Linker.Option.captureCallState("errno");
            state = Linker.Option.captureStateLayout();
            errno = state.varHandle(java.lang.foreign.MemoryLayout.PathElement.groupElement("errno"));
            h = linker.defaultLookup().find("mkfifo")
                    .map(a -> linker.downcallHandle(a, FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT), capture))
                    .orElse(null);
        } catch (RuntimeException | Error e) {
            h = null;
        }
        MKFIFO = h;
        STATE = state;
        ERRNO = errno;
    }

    private Fifos() {}

    static boolean available() { return MKFIFO != null; }

    /** Creates a fifo; the JVM's umask applies to {@code mode}, the caller sets the final mode afterwards. */
    static void mkfifo(Path path, int mode) throws FuseError {
        if (MKFIFO == null) throw new FuseError(Fuse.EPERM, "mkfifo is not available");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(STATE);
            MemorySegment name = arena.allocateFrom(path.toString());
            int rc = (int) MKFIFO.invokeExact(state, name, mode);
            if (rc != 0) throw new FuseError((int) ERRNO.get(state, 0L), "mkfifo failed");
        } catch (FuseError e) {
            throw e;
        } catch (Throwable t) {
            throw new FuseError(Fuse.EIO, "mkfifo: " + t);
        }
    }
}
