package org.vireo.x86.cpu;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Runs one user-mode instruction sequence on the host CPU (x86-64 only) through FFM: the sequence is wrapped in a
 * prologue that loads all general registers (but RSP) and RFLAGS from an array and an epilogue that stores them
 * back, placed in an mmap'ed executable page and called. The reference for differential tests of the emulator.
 */
@SuppressWarnings("restricted")   // native calls are the point of this test helper
final class NativeRunner implements AutoCloseable {
    // rdi = long[26]: rax rcx rdx rbx (rsp unused) rbp rsi rdi r8..r15, [16] = rflags, [17] unused, [18..25] = xmm0..3
    static final int LONGS = 26;
    private static final String PROLOGUE = "5355415441554156415757488b8780000000509d488b07488b4f08488b5710488b5f18488b6f28"
            + "488b77304c8b47404c8b4f484c8b57504c8b5f584c8b67604c8b6f684c8b77704c8b7f78"
            + "f30f6f8790000000f30f6f8fa0000000f30f6f97b0000000f30f6f9fc0000000" + "488b7f38";
    private static final String EPILOGUE = "9c57488b7c2410" + "f30f7f8790000000f30f7f8fa0000000f30f7f97b0000000f30f7f9fc0000000"
            + "48890748894f084889571048895f1848896f28488977304c8947404c894f48"
            + "4c8957504c895f584c8967604c896f684c8977704c897f7858488947385848898780000000fc5f415f415e415d415c5d5bc3";
    private static final int PAGE = 4096;
    private static final int PROT_READ = 1, PROT_WRITE = 2, PROT_EXEC = 4, MAP_PRIVATE = 2, MAP_ANONYMOUS = 0x20;

    private final Arena arena = Arena.ofConfined();
    private final MemorySegment page;
    private final MethodHandle mprotect;
    private final MethodHandle munmap;
    private final MethodHandle call;
    private final MemorySegment regs;
    private final byte[] prologue = TestMachine.hex(PROLOGUE), epilogue = TestMachine.hex(EPILOGUE);

    static boolean available() {
        String arch = System.getProperty("os.arch");
        return ("amd64".equals(arch) || "x86_64".equals(arch)) && System.getProperty("os.name").toLowerCase().contains("linux");
    }

    NativeRunner() throws Throwable {
        Linker linker = Linker.nativeLinker();
        var libc = linker.defaultLookup();
        MethodHandle mmap = linker.downcallHandle(libc.find("mmap").orElseThrow(), FunctionDescriptor.of(ValueLayout.ADDRESS,
                ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG));
        mprotect = linker.downcallHandle(libc.find("mprotect").orElseThrow(), FunctionDescriptor.of(ValueLayout.JAVA_INT,
                ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
        munmap = linker.downcallHandle(libc.find("munmap").orElseThrow(), FunctionDescriptor.of(ValueLayout.JAVA_INT,
                ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
        MemorySegment p = (MemorySegment) mmap.invokeExact(MemorySegment.NULL, (long) PAGE, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0L);
        if (p.address() == -1L) throw new IllegalStateException("mmap failed");
        page = p.reinterpret(PAGE);
        call = linker.downcallHandle(page, FunctionDescriptor.ofVoid(ValueLayout.ADDRESS));
        regs = arena.allocate(LONGS * 8, 16);
    }

    /** Executes {@code code} with registers {@code in} (see LONGS: GPRs, RFLAGS, XMM0-3); returns them after. */
    long[] run(byte[] code, long[] in) throws Throwable {
        int rc = (int) mprotect.invokeExact(page, (long) PAGE, PROT_READ | PROT_WRITE);
        if (rc != 0) throw new IllegalStateException("mprotect rw failed");
        MemorySegment.copy(prologue, 0, page, ValueLayout.JAVA_BYTE, 0, prologue.length);
        MemorySegment.copy(code, 0, page, ValueLayout.JAVA_BYTE, prologue.length, code.length);
        MemorySegment.copy(epilogue, 0, page, ValueLayout.JAVA_BYTE, prologue.length + code.length, epilogue.length);
        rc = (int) mprotect.invokeExact(page, (long) PAGE, PROT_READ | PROT_EXEC);
        if (rc != 0) throw new IllegalStateException("mprotect rx failed");
        for (int k = 0; k < LONGS; k++) regs.setAtIndex(ValueLayout.JAVA_LONG, k, k < in.length ? in[k] : 0);
        call.invokeExact(regs);
        long[] out = new long[LONGS];
        for (int k = 0; k < LONGS; k++) out[k] = regs.getAtIndex(ValueLayout.JAVA_LONG, k);
        return out;
    }

    @Override
    public void close() {
        try {
            int rc = (int) munmap.invokeExact(page, (long) PAGE);
            if (rc != 0) throw new IllegalStateException("munmap failed");
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        } finally {
            arena.close();
        }
    }
}
