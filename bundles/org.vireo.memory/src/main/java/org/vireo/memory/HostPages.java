package org.vireo.memory;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Host pages for guest RAM: reserved with {@code mmap(MAP_NORESERVE)} so the host commits a page only when the
 * guest (or a device) first touches it, and handed back with {@code madvise(MADV_DONTNEED)}, after which the
 * page reads as zero and costs the host nothing until touched again. {@link Arena#allocate} would instead zero
 * (and so commit) every byte up front: a 512 MiB guest would cost 512 MiB of RSS before its first instruction.
 * Where mmap is not available (not Linux, or the call fails) it falls back to {@link Arena#allocate}, and
 * discarding zero-fills.
 */
final class HostPages {
    static final long PAGE = 4096;
    private static final int PROT_READ = 1, PROT_WRITE = 2;
    private static final int MAP_PRIVATE = 0x02, MAP_ANONYMOUS = 0x20, MAP_NORESERVE = 0x4000;
    private static final int MADV_DONTNEED = 4;
    private static final long MAP_FAILED = -1L;

    private static final MethodHandle MMAP, MUNMAP, MADVISE, MINCORE;

    static {
        MethodHandle mmap = null, munmap = null, madvise = null, mincore = null;
        if (System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT).contains("linux")) {
            try {
                Linker linker = Linker.nativeLinker();
                SymbolLookup libc = linker.defaultLookup();
                mmap = linker.downcallHandle(libc.find("mmap").orElseThrow(), FunctionDescriptor.of(ValueLayout.ADDRESS,
                        ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                        ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG));
                munmap = linker.downcallHandle(libc.find("munmap").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
                madvise = linker.downcallHandle(libc.find("madvise").orElseThrow(), FunctionDescriptor.of(
                        ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
                mincore = linker.downcallHandle(libc.find("mincore").orElseThrow(), FunctionDescriptor.of(
                        ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS));
            } catch (RuntimeException | LinkageError e) {
                mmap = munmap = madvise = mincore = null; // no native access: the portable fallback below
            }
        }
        MINCORE = mincore;
        MMAP = mmap;
        MUNMAP = munmap;
        MADVISE = madvise;
    }

    private HostPages() {}

    /** Whether reserve() maps pages lazily here (Linux with native access). */
    static boolean lazy() { return MMAP != null; }

    /**
     * {@code bytes} of zeroed, page-aligned memory that lives as long as {@code arena}; committed by the host only
     * as it is touched when {@link #lazy()}.
     */
    static MemorySegment reserve(Arena arena, long bytes) {
        if (bytes <= 0) throw new IllegalArgumentException("guest RAM must be positive: " + bytes);
        if (MMAP != null) {
            long length = roundUp(bytes);
            MemorySegment address;
            try {
                address = (MemorySegment) MMAP.invokeExact(MemorySegment.NULL, length, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0L);
            } catch (Throwable t) {
                throw new IllegalStateException("mmap of " + length + " bytes of guest RAM", t);
            }
            if (address.address() != MAP_FAILED && address.address() != 0) {
                long base = address.address();
                return address.reinterpret(bytes, arena, s -> unmap(base, length));
            }
            // Out of address space or refused by policy: try the ordinary allocator, which says why if it fails too.
        }
        return arena.allocate(bytes, PAGE);
    }

    /** Gives the host back the pages of {@code segment} (page-aligned, whole pages); they read as zero after. */
    static void discard(MemorySegment segment) {
        if (MADVISE != null && segment.address() % PAGE == 0 && segment.byteSize() % PAGE == 0) {
            try {
                int rc = (int) MADVISE.invokeExact(segment, segment.byteSize(), MADV_DONTNEED);
                if (rc == 0) return;
            } catch (Throwable t) {
                // fall through to zero-filling: the contract (zeroes after) still holds
            }
        }
        segment.fill((byte) 0);
    }

    /**
     * How many bytes of {@code segment} (page-aligned) the host holds in RAM now, by {@code mincore}; -1 where
     * that cannot be known.
     */
    static long residentBytes(MemorySegment segment) {
        if (MINCORE == null || segment.address() % PAGE != 0) return -1;
        long pages = (segment.byteSize() + PAGE - 1) / PAGE;
        long resident = 0;
        final long chunk = 1 << 16; // pages per call: a 64 KiB vector covers 256 MiB
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment vector = scratch.allocate(chunk);
            for (long first = 0; first < pages; first += chunk) {
                long n = Math.min(chunk, pages - first);
                int rc = (int) MINCORE.invokeExact(MemorySegment.ofAddress(segment.address() + first * PAGE), n * PAGE, vector);
                if (rc != 0) return -1;
                for (long i = 0; i < n; i++) resident += vector.get(ValueLayout.JAVA_BYTE, i) & 1;
            }
        } catch (Throwable t) {
            return -1;
        }
        return resident * PAGE;
    }

    private static void unmap(long base, long length) {
        try {
            int rc = (int) MUNMAP.invokeExact(MemorySegment.ofAddress(base), length);
            assert rc == 0;
        } catch (Throwable ignored) {
            // the process keeps the mapping: a leak of address space, never of correctness
        }
    }

    private static long roundUp(long bytes) {
        return (bytes + PAGE - 1) & -PAGE;
    }
}
