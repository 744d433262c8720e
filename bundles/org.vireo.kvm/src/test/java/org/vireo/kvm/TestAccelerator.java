package org.vireo.kvm;

import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.vireo.bus.IoBus;
import org.vireo.memory.GuestMemory;

/**
 * A freestanding test guest on one accelerator, KVM or the CPU emulator, behind the few operations the guest tests
 * need: RAM at guest-physical 0 with port and MMIO buses, real / protected / long-mode entry laid out by
 * {@link GuestLayout}, run until HLT or a stop, registers, and external interrupts by vector.
 *
 * <p>Both sides share one HLT rule, KVM's without an in-kernel irqchip: HLT ends {@link #run()} with
 * {@link Exit#HALTED} when no interrupt is waiting, whatever RFLAGS.IF says. One vector waits at a time.
 */
abstract sealed class TestAccelerator implements AutoCloseable permits KvmTestAccelerator, EmulatorTestAccelerator {
    static final long CODE = GuestLayout.CODE;
    static final long STACK_TOP = GuestLayout.STACK_TOP;
    /** How long a guest may run in a test before it counts as hung. */
    static final long RUN_LIMIT_SECONDS = 30;

    enum Kind {
        KVM {
            @Override TestAccelerator open(long ramBytes) { return new KvmTestAccelerator(TestGuest.assumeKvm(), ramBytes); }
        },
        EMULATOR {
            @Override TestAccelerator open(long ramBytes) { return new EmulatorTestAccelerator(ramBytes); }
        };

        /** A guest with {@code ramBytes} of RAM on this accelerator; on KVM skips the calling test when there is none. */
        abstract TestAccelerator open(long ramBytes);
    }

    /** The JUnit {@code Parameterized} parameters of a test that runs on both accelerators. */
    static List<Kind> both() { return List.of(Kind.values()); }

    enum Exit {
        /** HLT with no interrupt waiting. */
        HALTED,
        /** {@link #requestStop()}. */
        STOPPED,
        /** Triple fault (on the emulator also an internal error, which it logs). */
        SHUTDOWN,
        /** The accelerator could not run the guest further ({@link #describe()} says why). */
        ERROR
    }

    private final ExecutorService runner = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "test-vcpu");
        t.setDaemon(true);
        return t;
    });

    abstract Kind kind();

    abstract GuestMemory memory();

    abstract IoBus pio();

    abstract IoBus mmio();

    /** Sets the CPU's state for {@code mode}: rip {@link #CODE}, rsp {@link #STACK_TOP}, GDTR/CRs/EFER as laid out. */
    abstract void enter(Asm.Mode mode);

    /** Points IDTR at {@code [base, base + limit]} (after {@code enter}). */
    abstract void setIdt(long base, int limit);

    /** Runs the guest on the calling thread (a platform thread) until it halts, shuts down, stops or fails. */
    abstract Exit run();

    /** Thread-safe: makes {@link #run()} return {@link Exit#STOPPED} soon, even from a guest that never exits. */
    abstract void requestStop();

    /** Thread-safe: an external interrupt with {@code vector}, taken when the guest's IF allows. */
    abstract void interrupt(int vector);

    abstract long rip();

    abstract long gpr(Asm.R register);

    abstract long efer();

    /** Why the last run ended badly, and the registers: for assertion messages. */
    abstract String describe();

    abstract void closeCpu();

    void load(long address, byte[] bytes) { memory().write(address, bytes, 0, bytes.length); }

    /** Real mode, all segments at 0, {@code code} at {@link #CODE}. */
    final void realMode(byte[] code) {
        load(CODE, code);
        enter(Asm.Mode.REAL16);
    }

    /** Flat 32-bit protected mode without paging: code selector 0x08, data 0x10. */
    final void protectedMode32(byte[] code) {
        load(CODE, code);
        GuestLayout.writeGdt(memory());
        enter(Asm.Mode.PROT32);
    }

    /** 64-bit long mode, identity-paged 4 GiB, code selector 0x18. Needs at least 0x16000 bytes of RAM. */
    final void longMode(byte[] code) {
        load(CODE, code);
        GuestLayout.writeGdt(memory());
        GuestLayout.writeIdentityPaging(memory());
        enter(Asm.Mode.LONG64);
    }

    /** Starts {@link #run()} on this guest's vCPU thread. */
    final Future<Exit> start() { return runner.submit(this::run); }

    /** Runs the guest on its vCPU thread; a guest still running after the limit (a bug) is stopped and the test fails. */
    final Exit runToEnd() { return await(start()); }

    /** Runs the guest on its vCPU thread and fails, with the registers, unless it ends in HLT. */
    final void runToHlt() { expectHalt(runToEnd()); }

    /** Fails, with the registers, unless a run ended in HLT. */
    final void expectHalt(Exit exit) {
        if (exit != Exit.HALTED) throw new AssertionError(kind() + ": expected the guest to halt, but the run ended " + exit + "; " + describe());
    }

    /** The result of a {@link #start()}ed run; on a hang stops the guest and fails rather than block the build. */
    final Exit await(Future<Exit> result) {
        try {
            return result.get(RUN_LIMIT_SECONDS, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            requestStop();
            throw new AssertionError(kind() + ": the guest was still running after " + RUN_LIMIT_SECONDS + " s; " + describe());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            requestStop();
            throw new AssertionError("interrupted", e);
        } catch (ExecutionException e) {
            throw new AssertionError(kind() + ": run() threw", e.getCause());
        }
    }

    /** Stops a guest that is still running (after a failed test) before its memory goes away. */
    @Override
    public final void close() {
        runner.shutdown();
        try {
            if (!runner.awaitTermination(1, TimeUnit.SECONDS)) {
                requestStop();
                runner.awaitTermination(RUN_LIMIT_SECONDS, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        closeCpu();
    }

    @Override
    public String toString() { return kind().toString(); }
}
