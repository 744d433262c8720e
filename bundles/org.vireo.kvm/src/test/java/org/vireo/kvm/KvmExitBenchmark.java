package org.vireo.kvm;

import static org.vireo.kvm.Asm.R.AX;
import static org.vireo.kvm.Asm.R.DX;

import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.vireo.bus.IoHandler;

/**
 * A JMH-free micro benchmark (run by hand, never by the build): port-I/O exits per second (a guest looping on
 * {@code out}), MMIO exits per second, and ioeventfd notifications per second (a guest looping on {@code out} to an
 * ioeventfd port while a host thread drains the eventfd). Each measurement runs the guest for a fixed wall time and
 * stops it with requestStop(). Usage: {@code java --enable-native-access=ALL-UNNAMED -cp ... org.vireo.kvm.KvmExitBenchmark [seconds]}
 */
public final class KvmExitBenchmark {
    private KvmExitBenchmark() {}

    public static void main(String[] args) throws Exception {
        KvmStatus status = KvmStatus.probe();
        System.out.println(status);
        if (!status.available()) return;
        double seconds = args.length > 0 ? Double.parseDouble(args[0]) : 3;
        for (int round = 1; round <= 3; round++) {
            System.out.printf("round %d: pio %,.0f exits/s | mmio %,.0f exits/s | ioeventfd %s%n", round,
                    pioExits(seconds), mmioExits(seconds), ioeventfd(seconds));
        }
    }

    private static final class Counter implements IoHandler {
        final AtomicLong writes = new AtomicLong();

        @Override public long read(long offset, int size) { return 0; }

        @Override public void write(long offset, int size, long value) { writes.incrementAndGet(); }
    }

    /** Runs {@code v} for {@code seconds} of wall time, then stops it; returns the elapsed nanoseconds. */
    private static long timed(KvmVcpu v, double seconds) throws Exception {
        long start = System.nanoTime();
        CompletableFuture<StopReason> run = CompletableFuture.supplyAsync(v::run);
        Thread.sleep((long) (seconds * 1000)); // the measuring window itself, not synchronisation
        v.requestStop();
        StopReason r = run.get(30, TimeUnit.SECONDS);
        if (r != StopReason.STOPPED) throw new IllegalStateException("guest ended early: " + r + " " + v.lastError().orElse(""));
        return System.nanoTime() - start;
    }

    static double pioExits(double seconds) throws Exception {
        try (TestGuest guest = new TestGuest(512 * 1024)) {
            Counter c = new Counter();
            guest.pio.register(0x3F8, 1, "counter", c);
            KvmVcpu v = guest.realMode(Asm.real()
                    .mov(DX, 0x3F8, 16).mov(AX, 'x', 8)          // mov dx, 0x3f8; mov al, 'x'
                    .label("loop").outDx(8).jmp("loop")          // loop: out dx, al; jmp loop
                    .bytes());
            long nanos = timed(v, seconds);
            return c.writes.get() * 1e9 / nanos;
        }
    }

    static double mmioExits(double seconds) throws Exception {
        try (TestGuest guest = new TestGuest(512 * 1024)) {
            Counter c = new Counter();
            guest.mmio.register(0x90000, 0x1000, "counter", c);
            KvmVcpu v = guest.realMode(Asm.real()
                    .mov(AX, 0x9000, 16).movSreg(Asm.Sreg.DS, AX) // ds = 0x9000
                    .label("loop").storeImm(32, 0x50, 1).jmp("loop") // loop: mov dword [0x50], 1; jmp loop
                    .bytes());
            long nanos = timed(v, seconds);
            return c.writes.get() * 1e9 / nanos;
        }
    }

    static String ioeventfd(double seconds) throws Exception {
        try (TestGuest guest = new TestGuest(512 * 1024)) {
            Counter c = new Counter();
            guest.pio.register(0x600, 2, "notify", c);
            IoEventFd efd = guest.vm.ioeventfd(IoSpace.PIO, 0x600, 2, OptionalLong.empty());
            AtomicLong signalled = new AtomicLong();
            AtomicLong wakeups = new AtomicLong();
            Thread consumer = new Thread(() -> {
                while (!efd.isClosed()) {
                    long n = efd.await(-1, TimeUnit.SECONDS);
                    if (n > 0) {
                        signalled.addAndGet(n);
                        wakeups.incrementAndGet();
                    }
                }
            }, "ioeventfd-consumer");
            consumer.start();
            KvmVcpu v = guest.realMode(Asm.real()
                    .mov(DX, 0x600, 16).mov(AX, 0, 16)           // mov dx, 0x600; mov ax, 0
                    .label("loop").outDx(16).jmp("loop")         // loop: out dx, ax; jmp loop
                    .bytes());
            long nanos = timed(v, seconds);
            signalled.addAndGet(efd.poll());
            efd.close();
            consumer.join(10_000);
            if (c.writes.get() != 0) throw new IllegalStateException("notify writes exited to user space: " + c.writes.get());
            return String.format("%,.0f notifications/s (%,.0f consumer wake-ups/s, %d user-space exits)",
                    signalled.get() * 1e9 / nanos, wakeups.get() * 1e9 / nanos, v.exitCount());
        }
    }
}
