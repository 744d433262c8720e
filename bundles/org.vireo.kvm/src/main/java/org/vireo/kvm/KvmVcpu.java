package org.vireo.kvm;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import org.vireo.bus.IoBus;
import org.vireo.kvm.internal.KvmAbi;
import org.vireo.kvm.internal.LibC;

/**
 * One KVM vCPU: its kvm_run area, registers, CPUID, and the run loop that turns port and MMIO exits into
 * {@link IoBus} accesses.
 *
 * <p><b>Stopping.</b> {@link #requestStop()} may be called from any thread. It sets kvm_run's {@code immediate_exit}
 * (so a KVM_RUN about to start returns at once) and, if a thread is inside {@link #run()}, sends it a "kick" signal.
 * The kick signal (a real-time signal) is kept blocked in the vCPU thread at all times except inside KVM_RUN, where
 * KVM_SET_SIGNAL_MASK unblocks it: it then only ever interrupts KVM_RUN (with EINTR), is never delivered to a
 * handler, and is drained before run() returns. So a guest spinning without exits is stopped too. A thread that has
 * run a vCPU keeps that one signal blocked afterwards (harmless; the JVM does not use it); run() refuses virtual
 * threads, whose carrier could change between exits. If the host refuses KVM_SET_SIGNAL_MASK, stopping falls back to
 * {@code immediate_exit} alone and takes effect at the guest's next exit.
 *
 * <p><b>Interrupts.</b> With the in-kernel irqchip, devices raise lines on the VM and HLT is handled in the kernel
 * (run() does not return {@link StopReason#HALTED}; stop such a guest with requestStop()). Without it,
 * {@link #queueInterrupt(int)} injects an external interrupt vector when the guest opens an interrupt window.
 *
 * <p>Only one thread runs a vCPU at a time; register access while it runs waits for run() to return.
 */
public final class KvmVcpu implements AutoCloseable {
    private static final long REGS_SIZE = KvmAbi.REGS.byteSize();
    private static final long SREGS_SIZE = KvmAbi.SREGS.byteSize();

    private final KvmVm vm;
    private final int id;
    private final int fd;
    private final IoBus pio;
    private final IoBus mmio;
    private final MemorySegment run;
    private final ReentrantLock runLock = new ReentrantLock();
    private final Object kickLock = new Object();
    private final AtomicBoolean stopRequested = new AtomicBoolean();
    private final AtomicBoolean closed = new AtomicBoolean();
    /** The external vector waiting for injection (user-space irqchip only), or -1. */
    private final AtomicInteger pendingVector = new AtomicInteger(-1);
    private final Arena arena = Arena.ofShared();
    private final MemorySegment scratch;
    private final int kickSignal;
    private final MemorySegment kickSet;

    /** pthread_t of the thread inside run(), or 0; guarded by kickLock. */
    private long runner;
    /** The signal mask last given to KVM_SET_SIGNAL_MASK (kernel sigset), or -1 before the first; run thread only. */
    private long kvmMask = -1;
    private volatile boolean kickUnsupported;
    private volatile String lastError;
    private volatile long exits;

    KvmVcpu(KvmVm vm, int id, int fd, IoBus pio, IoBus mmio) {
        this.vm = vm;
        this.id = id;
        this.fd = fd;
        this.pio = pio;
        this.mmio = mmio;
        this.run = LibC.mmapShared(fd, vm.kvm().vcpuMmapSize(), "mmap kvm_run of vCPU " + id);
        this.scratch = arena.allocate(Math.max(SREGS_SIZE, REGS_SIZE), 8);
        this.kickSignal = LibC.sigrtmin() + KICK_SIGNAL_OFFSET;
        this.kickSet = LibC.sigset(arena, kickSignal);
    }

    /** The kick signal is SIGRTMIN plus this: a real-time signal the JVM does not use. */
    public static final int KICK_SIGNAL_OFFSET = 6;

    public int id() { return id; }

    public KvmVm vm() { return vm; }

    /** Exits to user space handled so far (I/O, MMIO, interrupt windows, ...). */
    public long exitCount() { return exits; }

    /** Why the last run() returned {@link StopReason#ERROR}; empty after any other outcome. */
    public Optional<String> lastError() { return Optional.ofNullable(lastError); }

    // ---- registers ------------------------------------------------------------------------------------------------

    public Registers registers() {
        runLock.lock();
        try {
            ensureOpen();
            LibC.ioctl(fd, KvmAbi.KVM_GET_REGS, scratch, "KVM_GET_REGS");
            long[] v = new long[Registers.Name.values().length];
            for (int i = 0; i < v.length; i++) v[i] = scratch.get(JAVA_LONG, i * 8L);
            return Registers.fromArray(v);
        } finally {
            runLock.unlock();
        }
    }

    public void setRegisters(Registers registers) {
        runLock.lock();
        try {
            ensureOpen();
            long[] v = registers.toArray();
            for (int i = 0; i < v.length; i++) scratch.set(JAVA_LONG, i * 8L, v[i]);
            LibC.ioctl(fd, KvmAbi.KVM_SET_REGS, scratch, "KVM_SET_REGS");
        } finally {
            runLock.unlock();
        }
    }

    public SpecialRegisters specialRegisters() {
        runLock.lock();
        try {
            ensureOpen();
            LibC.ioctl(fd, KvmAbi.KVM_GET_SREGS, scratch, "KVM_GET_SREGS");
            return SregsCodec.read(scratch);
        } finally {
            runLock.unlock();
        }
    }

    public void setSpecialRegisters(SpecialRegisters sregs) {
        runLock.lock();
        try {
            ensureOpen();
            SregsCodec.write(scratch, sregs);
            LibC.ioctl(fd, KvmAbi.KVM_SET_SREGS, scratch, "KVM_SET_SREGS");
        } finally {
            runLock.unlock();
        }
    }

    /** KVM_SET_CPUID2 with {@code entries}. */
    public void setCpuid(List<CpuidEntry> entries) {
        runLock.lock();
        try (Arena a = Arena.ofConfined()) {
            ensureOpen();
            long entrySize = KvmAbi.CPUID_ENTRY2.byteSize();
            MemorySegment buf = a.allocate(KvmAbi.CPUID2.byteSize() + entries.size() * entrySize, 8);
            buf.set(JAVA_INT, 0, entries.size());
            for (int i = 0; i < entries.size(); i++) {
                CpuidCodec.write(buf.asSlice(KvmAbi.CPUID2.byteSize() + i * entrySize, entrySize), entries.get(i));
            }
            LibC.ioctl(fd, KvmAbi.KVM_SET_CPUID2, buf, "KVM_SET_CPUID2 (" + entries.size() + " entries)");
        } finally {
            runLock.unlock();
        }
    }

    /** Gives the guest every CPUID leaf the host supports (KVM_GET_SUPPORTED_CPUID then KVM_SET_CPUID2). */
    public void setSupportedCpuid() { setCpuid(vm.kvm().supportedCpuid()); }

    // ---- interrupts (user-space irqchip) --------------------------------------------------------------------------

    /**
     * Queues external interrupt {@code vector} for injection when the guest can take it (IF set, no interrupt
     * shadow): the user-space-irqchip path (KVM_INTERRUPT). One vector is pending at a time; a newer one replaces it.
     */
    public void queueInterrupt(int vector) {
        if (vector < 0 || vector > 255) throw new IllegalArgumentException("vector out of range: " + vector);
        if (vm.hasIrqchip()) throw new IllegalStateException("with the in-kernel irqchip, raise a line on the VM instead");
        pendingVector.set(vector);
        kick();
    }

    /** The vector still waiting for injection, or -1. */
    public int pendingInterrupt() { return pendingVector.get(); }

    // ---- run loop -------------------------------------------------------------------------------------------------

    /**
     * Runs the guest until it halts, shuts down, is stopped, or cannot go on. Port and MMIO accesses are served on
     * the calling thread by the buses given at creation. After {@link StopReason#HALTED} the guest's rip is past the
     * HLT: call run() again once there is an interrupt to deliver.
     */
    public StopReason run() {
        // The kick signal is per OS thread: a virtual thread could change carriers between exits.
        if (Thread.currentThread().isVirtual()) throw new IllegalStateException("run a vCPU on a platform thread, not a virtual thread");
        runLock.lock();
        try {
            ensureOpen();
            lastError = null;
            prepareKick();
            try {
                return loop();
            } finally {
                finishKick();
            }
        } finally {
            runLock.unlock();
        }
    }

    private StopReason loop() {
        while (true) {
            if (stopRequested.getAndSet(false)) {
                run.set(JAVA_BYTE, KvmAbi.RUN_IMMEDIATE_EXIT, (byte) 0);
                return StopReason.STOPPED;
            }
            prepareInjection();
            int r = LibC.ioctlErrno(fd, KvmAbi.KVM_RUN, 0);
            if (r < 0) {
                int errno = -r;
                // EINTR: a kick, immediate_exit, or some other signal; EAGAIN: KVM asks to retry.
                if (errno == LibC.EINTR || errno == LibC.EAGAIN) continue;
                return error(new KvmException("KVM_RUN", errno).getMessage());
            }
            exits++;
            int reason = run.get(JAVA_INT, KvmAbi.RUN_EXIT_REASON);
            switch (reason) {
                case KvmAbi.EXIT_IO -> {
                    String problem = handleIo();
                    if (problem != null) return error(problem);
                }
                case KvmAbi.EXIT_MMIO -> {
                    String problem = handleMmio();
                    if (problem != null) return error(problem);
                }
                case KvmAbi.EXIT_HLT -> {
                    // A queued interrupt wakes the halted CPU: go back in and inject it.
                    if (pendingVector.get() >= 0 && run.get(JAVA_BYTE, KvmAbi.RUN_IF_FLAG) != 0) continue;
                    return StopReason.HALTED;
                }
                case KvmAbi.EXIT_IRQ_WINDOW_OPEN, KvmAbi.EXIT_INTR -> { }
                case KvmAbi.EXIT_SHUTDOWN -> { return StopReason.SHUTDOWN; }
                case KvmAbi.EXIT_SYSTEM_EVENT -> {
                    int type = run.get(JAVA_INT, KvmAbi.SYSTEM_EVENT_TYPE);
                    if (type == KvmAbi.SYSTEM_EVENT_SHUTDOWN || type == KvmAbi.SYSTEM_EVENT_RESET) return StopReason.SHUTDOWN;
                    return error("KVM_EXIT_SYSTEM_EVENT type " + type + (type == KvmAbi.SYSTEM_EVENT_CRASH ? " (guest crash)" : ""));
                }
                case KvmAbi.EXIT_FAIL_ENTRY -> {
                    return error(String.format("KVM_EXIT_FAIL_ENTRY: the host's KVM refused to enter the guest on vCPU %d "
                            + "(hardware entry failure reason 0x%x, cpu %d)%s", id, run.get(JAVA_LONG, KvmAbi.FAIL_ENTRY_REASON),
                            run.get(JAVA_INT, KvmAbi.FAIL_ENTRY_CPU), hostNote()));
                }
                case KvmAbi.EXIT_INTERNAL_ERROR -> { return error(describeInternalError()); }
                default -> {
                    return error("unhandled " + KvmAbi.exitName(reason) + describeUnknown(reason) + " on vCPU " + id + " at " + ripText());
                }
            }
        }
    }

    private StopReason error(String message) {
        lastError = message;
        return StopReason.ERROR;
    }

    private void prepareInjection() {
        if (vm.hasIrqchip()) return;
        int vector = pendingVector.get();
        if (vector < 0) {
            run.set(JAVA_BYTE, KvmAbi.RUN_REQUEST_INTERRUPT_WINDOW, (byte) 0);
            return;
        }
        // ready_for_interrupt_injection and if_flag describe the state at the last exit.
        boolean ready = run.get(JAVA_BYTE, KvmAbi.RUN_READY_FOR_INTERRUPT) != 0 && run.get(JAVA_BYTE, KvmAbi.RUN_IF_FLAG) != 0;
        if (ready && pendingVector.compareAndSet(vector, -1)) {
            // A kick still pending would make the next KVM_RUN return EINTR with the event injected but not delivered;
            // hardware KVM puts it back, but PVM was seen to lose it and then never leave HLT. Stops are not lost by
            // this: requestStop() sets immediate_exit before kicking. A vector queued meanwhile is caught below.
            if (!kickUnsupported) while (LibC.consumePendingSignal(kickSet)) { }
            try (Arena a = Arena.ofConfined()) {
                MemorySegment s = a.allocate(KvmAbi.INTERRUPT);
                s.set(JAVA_INT, 0, vector);
                LibC.ioctl(fd, KvmAbi.KVM_INTERRUPT, s, "KVM_INTERRUPT vector " + vector);
            }
            run.set(JAVA_BYTE, KvmAbi.RUN_REQUEST_INTERRUPT_WINDOW, (byte) (pendingVector.get() >= 0 ? 1 : 0));
        } else {
            run.set(JAVA_BYTE, KvmAbi.RUN_REQUEST_INTERRUPT_WINDOW, (byte) 1);
        }
    }

    /** KVM_EXIT_IO: one access, or {@code count} of them for string I/O (INS/OUTS, with REP), through the data area. */
    private String handleIo() {
        int direction = run.get(JAVA_BYTE, KvmAbi.IO_DIRECTION);
        int size = run.get(JAVA_BYTE, KvmAbi.IO_SIZE);
        int port = run.get(JAVA_SHORT, KvmAbi.IO_PORT) & 0xFFFF;
        long count = run.get(JAVA_INT, KvmAbi.IO_COUNT) & 0xFFFF_FFFFL;
        long offset = run.get(JAVA_LONG, KvmAbi.IO_DATA_OFFSET);
        if ((size != 1 && size != 2 && size != 4) || count == 0 || offset < 0 || offset > run.byteSize()
                || count * size > run.byteSize() - offset) {
            return String.format("KVM_EXIT_IO with a bad shape: port 0x%x size %d count %d data offset 0x%x", port, size, count, offset);
        }
        for (long i = 0; i < count; i++) {
            long at = offset + i * size;
            if (direction == KvmAbi.EXIT_IO_OUT) pio.write(port, size, load(at, size));
            else store(at, size, pio.read(port, size));
        }
        return null;
    }

    private String handleMmio() {
        long address = run.get(JAVA_LONG, KvmAbi.MMIO_PHYS_ADDR);
        int len = run.get(JAVA_INT, KvmAbi.MMIO_LEN);
        boolean write = run.get(JAVA_BYTE, KvmAbi.MMIO_IS_WRITE) != 0;
        if (len < 1 || len > 8) return String.format("KVM_EXIT_MMIO with a bad length %d at 0x%x", len, address);
        if (write) {
            mmio.write(address, len, load(KvmAbi.MMIO_DATA, len));
        } else {
            store(KvmAbi.MMIO_DATA, len, mmio.read(address, len));
        }
        return null;
    }

    /** Little-endian value of {@code size} bytes at {@code offset} in kvm_run (x86 is little-endian; so is the host). */
    private long load(long offset, int size) {
        long v = 0;
        for (int i = size - 1; i >= 0; i--) v = (v << 8) | (run.get(JAVA_BYTE, offset + i) & 0xFF);
        return v;
    }

    private void store(long offset, int size, long value) {
        for (int i = 0; i < size; i++) run.set(JAVA_BYTE, offset + i, (byte) (value >>> (8 * i)));
    }

    private String describeInternalError() {
        int suberror = run.get(JAVA_INT, KvmAbi.INTERNAL_SUBERROR);
        int ndata = run.get(JAVA_INT, KvmAbi.INTERNAL_NDATA);
        int firstData = 0;
        StringBuilder sb = new StringBuilder("KVM_EXIT_INTERNAL_ERROR on vCPU ").append(id).append(" at ").append(ripText()).append(": ");
        switch (suberror) {
            case KvmAbi.INTERNAL_ERROR_EMULATION -> {
                sb.append("KVM could not emulate an instruction");
                long flags = run.get(JAVA_LONG, KvmAbi.EMULATION_FLAGS);
                int n = run.get(JAVA_BYTE, KvmAbi.EMULATION_INSN_SIZE) & 0xFF;
                if ((flags & KvmAbi.INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES) != 0 && n > 0 && n <= 15) {
                    byte[] insn = new byte[n];
                    MemorySegment.copy(run, JAVA_BYTE, KvmAbi.EMULATION_INSN_BYTES, insn, 0, n);
                    sb.append(" (bytes ").append(HexFormat.ofDelimiter(" ").formatHex(insn)).append(')');
                    firstData = 3; // flags and the 16 instruction bytes overlay data[0..2]
                }
                sb.append(". The host's KVM cannot run this guest");
            }
            case KvmAbi.INTERNAL_ERROR_SIMUL_EX -> sb.append("exception while delivering an exception (simultaneous exceptions)");
            case KvmAbi.INTERNAL_ERROR_DELIVERY_EV -> sb.append("could not deliver an event (exception or interrupt) to the guest");
            case KvmAbi.INTERNAL_ERROR_UNEXPECTED_EXIT_REASON -> sb.append("the hardware exited for a reason KVM does not handle");
            default -> sb.append("suberror ").append(suberror);
        }
        if (ndata > firstData) {
            sb.append("; data");
            for (int i = firstData; i < Math.min(ndata, 16); i++) {
                sb.append(String.format(" 0x%x", run.get(JAVA_LONG, KvmAbi.INTERNAL_DATA + i * 8L)));
            }
        }
        return sb.append(hostNote()).toString();
    }

    private String describeUnknown(int reason) {
        return reason == KvmAbi.EXIT_UNKNOWN ? String.format(" (hardware exit reason 0x%x)", run.get(JAVA_LONG, KvmAbi.HW_EXIT_REASON)) : "";
    }

    private String hostNote() {
        return vm.kvm().isPvm() ? " [" + KvmStatus.PVM_REASON + "; run this guest on the CPU emulator]" : "";
    }

    /** rip for messages; read directly (the run lock is already held). */
    private String ripText() {
        int r = LibC.ioctlErrno(fd, KvmAbi.KVM_GET_REGS, scratch);
        return r < 0 ? "rip ?" : String.format("rip 0x%x", scratch.get(JAVA_LONG, 16 * 8L));
    }

    // ---- stop and kick --------------------------------------------------------------------------------------------

    /**
     * Makes the current run() return {@link StopReason#STOPPED} soon, or the next one at once if none is running.
     * Safe from any thread, including from an I/O handler on the vCPU thread itself.
     */
    public void requestStop() {
        synchronized (kickLock) {
            if (closed.get()) return; // kvm_run is unmapped
            // immediate_exit first, then the flag: whoever sees the flag also sees immediate_exit set and clears both.
            run.set(JAVA_BYTE, KvmAbi.RUN_IMMEDIATE_EXIT, (byte) 1);
            VarHandle.fullFence();
            stopRequested.set(true);
            kick();
        }
    }

    /** Interrupts a KVM_RUN in progress so the loop looks at stop requests and pending interrupts. */
    private void kick() {
        // The vCPU thread itself (an I/O handler) is outside KVM_RUN: the loop sees the request before re-entering.
        if (runLock.isHeldByCurrentThread()) return;
        synchronized (kickLock) {
            if (runner != 0 && !kickUnsupported) LibC.pthreadKill(runner, kickSignal);
        }
    }

    /** Blocks the kick signal in this thread and has KVM unblock it only inside KVM_RUN. */
    private void prepareKick() {
        if (!kickUnsupported) {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment old = a.allocate(LibC.SIGSET_BYTES, 8);
                LibC.blockSignals(kickSet, old);
                // The kernel's sigset is the first 64 bits of glibc's; inside KVM_RUN: what the thread had, minus the kick.
                long mask = old.get(JAVA_LONG, 0) & ~(1L << (kickSignal - 1));
                if (mask != kvmMask) {
                    MemorySegment m = a.allocate(KvmAbi.SIGNAL_MASK.byteSize() + KvmAbi.KERNEL_SIGSET_BYTES, 8);
                    m.set(JAVA_INT, 0, KvmAbi.KERNEL_SIGSET_BYTES);
                    m.set(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, 4, mask); // sigset[] follows the u32 len
                    int r = LibC.ioctlErrno(fd, KvmAbi.KVM_SET_SIGNAL_MASK, m);
                    if (r < 0) {
                        kickUnsupported = true;
                        System.getLogger(KvmVcpu.class.getName()).log(System.Logger.Level.WARNING,
                                () -> new KvmException("KVM_SET_SIGNAL_MASK", -r).getMessage()
                                        + ": stop requests take effect at the guest's next exit only");
                    } else {
                        kvmMask = mask;
                    }
                }
            }
        }
        synchronized (kickLock) {
            runner = LibC.pthreadSelf();
        }
    }

    private void finishKick() {
        synchronized (kickLock) {
            runner = 0;
        }
        // Every kick was sent while runner was set, so all are pending by now: take them off the thread.
        while (LibC.consumePendingSignal(kickSet)) { }
    }

    private void ensureOpen() {
        if (closed.get()) throw new IllegalStateException("vCPU " + id + " is closed");
    }

    /** Stops a running guest, waits for run() to return, and releases the vCPU. */
    @Override
    public void close() {
        if (closed.get()) return;
        requestStop();
        runLock.lock();
        try {
            synchronized (kickLock) {
                if (!closed.compareAndSet(false, true)) return;
                LibC.munmap(run);
            }
            LibC.close(fd);
            arena.close();
        } finally {
            runLock.unlock();
        }
        vm.removed(this);
    }

    @Override
    public String toString() { return "KvmVcpu[" + id + "]"; }
}
