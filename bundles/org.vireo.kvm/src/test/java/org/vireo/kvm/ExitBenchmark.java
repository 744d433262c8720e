package org.vireo.kvm;

import static org.vireo.kvm.Asm.R.AX;
import static org.vireo.kvm.Asm.R.CX;
import static org.vireo.kvm.Asm.R.DX;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.ToDoubleFunction;
import org.vireo.bus.IoHandler;
import org.vireo.kvm.TestAccelerator.Exit;
import org.vireo.kvm.TestAccelerator.Kind;
import org.vireo.virtio.core.PluggedDevice;
import org.vireo.virtio.mmio.VirtioMmio;
import org.vireo.virtio.rng.RngDevice;

/**
 * A JMH-free micro benchmark (run by hand, never by the build), KVM against the CPU emulator in one run: port-I/O
 * exits per second (a guest looping on {@code out}), MMIO exits per second (a guest looping on a store), and virtqueue
 * notifications per second (a 32-bit guest driver looping on post buffer / notify / see it used, against virtio-rng
 * on virtio-mmio); on KVM also ioeventfd notifications per second. Each measurement runs the guest for a fixed wall
 * time and stops it; the table shows the median of the rounds. Usage:
 * {@code java --enable-native-access=ALL-UNNAMED -cp ... org.vireo.kvm.ExitBenchmark [seconds [rounds]]}
 */
public final class ExitBenchmark {
    private ExitBenchmark() {}

    private static final long MMIO_WINDOW = 0xD000_0000L;
    private static final int DESC = 0x20000, AVAIL = 0x21000, USED = 0x22000, BUFFER = 0x23000;
    private static final int BUFFER_LEN = 16;

    public static void main(String[] args) throws Exception {
        double seconds = args.length > 0 ? Double.parseDouble(args[0]) : 2;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        KvmStatus status = KvmStatus.probe();
        System.out.println(status);
        System.out.println("load average before: " + loadAverage());
        List<Kind> kinds = status.available() ? List.of(Kind.KVM, Kind.EMULATOR) : List.of(Kind.EMULATOR);

        Map<String, ToDoubleFunction<TestAccelerator>> metrics = new LinkedHashMap<>();
        metrics.put("port I/O exits/s (out loop)", g -> pioExits(g, seconds));
        metrics.put("MMIO exits/s (store loop)", g -> mmioExits(g, seconds));
        metrics.put("virtqueue notifications/s (rng, 16 B)", g -> notifications(g, seconds));
        Map<String, Map<Kind, List<Double>>> results = new LinkedHashMap<>();
        for (int round = 1; round <= rounds; round++) {
            for (var metric : metrics.entrySet()) {
                for (Kind kind : kinds) {
                    double value;
                    try (TestAccelerator guest = kind.open(2 << 20)) {
                        value = metric.getValue().applyAsDouble(guest);
                    }
                    results.computeIfAbsent(metric.getKey(), k -> new EnumMap<>(Kind.class))
                            .computeIfAbsent(kind, k -> new ArrayList<>()).add(value);
                    System.out.printf("round %d %-8s %-40s %,14.0f%n", round, kind, metric.getKey(), value);
                }
            }
            if (status.available()) System.out.printf("round %d KVM      ioeventfd: %s%n", round, ioeventfd(seconds));
        }

        System.out.printf("%n| %-40s | %14s | %14s | %9s |%n", "median of " + rounds + " x " + seconds + " s", "KVM", "emulator", "emu / KVM");
        System.out.printf("|%s|%s|%s|%s|%n", "-".repeat(42), "-".repeat(16), "-".repeat(16), "-".repeat(11));
        for (var row : results.entrySet()) {
            double emu = median(row.getValue().get(Kind.EMULATOR));
            List<Double> kvmValues = row.getValue().get(Kind.KVM);
            String kvm = kvmValues == null ? "n/a" : String.format("%,.0f", median(kvmValues));
            String ratio = kvmValues == null ? "n/a" : String.format("%.1fx", emu / median(kvmValues));
            System.out.printf("| %-40s | %14s | %,14.0f | %9s |%n", row.getKey(), kvm, emu, ratio);
        }
        System.out.println("load average after: " + loadAverage() + " (" + Runtime.getRuntime().availableProcessors() + " CPUs)");
    }

    private static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).trim();
        } catch (IOException e) {
            return "unknown (" + e.getMessage() + ")";
        }
    }

    private static double median(List<Double> values) {
        List<Double> sorted = values.stream().sorted().toList();
        int n = sorted.size();
        return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }

    private static final class Counter implements IoHandler {
        final AtomicLong writes = new AtomicLong();

        @Override public long read(long offset, int size) { return 0; }

        @Override public void write(long offset, int size, long value) { writes.incrementAndGet(); }
    }

    /** Runs the guest for {@code seconds} of wall time, then stops it; returns the elapsed nanoseconds. */
    private static long timed(TestAccelerator guest, double seconds) {
        long start = System.nanoTime();
        Future<Exit> run = guest.start();
        try {
            Thread.sleep((long) (seconds * 1000)); // the measuring window itself, not synchronisation
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        guest.requestStop();
        Exit r = guest.await(run);
        if (r != Exit.STOPPED) throw new IllegalStateException(guest.kind() + ": the guest ended early: " + r + " " + guest.describe());
        return System.nanoTime() - start;
    }

    static double pioExits(TestAccelerator guest, double seconds) {
        Counter c = new Counter();
        guest.pio().register(0x3F8, 1, "counter", c);
        guest.realMode(Asm.real()
                .mov(DX, 0x3F8, 16).mov(AX, 'x', 8)          // mov dx, 0x3f8; mov al, 'x'
                .label("loop").outDx(8).jmp("loop")          // loop: out dx, al; jmp loop
                .bytes());
        long nanos = timed(guest, seconds);
        return c.writes.get() * 1e9 / nanos;
    }

    static double mmioExits(TestAccelerator guest, double seconds) {
        Counter c = new Counter();
        guest.mmio().register(MMIO_WINDOW, 0x1000, "counter", c);
        guest.protectedMode32(Asm.prot32()
                .label("loop").storeImm(32, MMIO_WINDOW + 0x50, 1).jmp("loop") // loop: mov dword [0xd0000050], 1; jmp loop
                .bytes());
        long nanos = timed(guest, seconds);
        return c.writes.get() * 1e9 / nanos;
    }

    /**
     * A 32-bit driver for virtio-rng: brings the device up with one queue of 8, points every driver-ring slot at one
     * 16-byte writable descriptor, asks for no interrupts, then loops: avail.idx = ++cx; notify; wait until used.idx
     * == cx. Counts completed requests (bytes served / 16).
     */
    static double notifications(TestAccelerator guest, double seconds) {
        GuestMachine machine = new GuestMachine(guest, MMIO_WINDOW, 0x10000);
        RngDevice rng = new RngDevice(new CountingSource(), "rng0");
        try (PluggedDevice plugged = VirtioMmio.plug(machine, rng, "rng0")) {
            if (!guest.mmio().claimed(MMIO_WINDOW)) throw new IllegalStateException("the device is not at " + plugged.info());
            long w = MMIO_WINDOW;
            Asm a = Asm.prot32()
                    .storeImm(32, w + VirtioMmio.STATUS, 1)
                    .storeImm(32, w + VirtioMmio.STATUS, 1 | 2)
                    .storeImm(32, w + VirtioMmio.DRIVER_FEATURES_SEL, 1)
                    .storeImm(32, w + VirtioMmio.DRIVER_FEATURES, 1)          // VIRTIO_F_VERSION_1
                    .storeImm(32, w + VirtioMmio.STATUS, 1 | 2 | 8)
                    .storeImm(32, w + VirtioMmio.QUEUE_SEL, 0)
                    .storeImm(32, w + VirtioMmio.QUEUE_NUM, 8)
                    .storeImm(32, w + VirtioMmio.QUEUE_DESC_LOW, DESC).storeImm(32, w + VirtioMmio.QUEUE_DESC_HIGH, 0)
                    .storeImm(32, w + VirtioMmio.QUEUE_DRIVER_LOW, AVAIL).storeImm(32, w + VirtioMmio.QUEUE_DRIVER_HIGH, 0)
                    .storeImm(32, w + VirtioMmio.QUEUE_DEVICE_LOW, USED).storeImm(32, w + VirtioMmio.QUEUE_DEVICE_HIGH, 0)
                    .storeImm(32, w + VirtioMmio.QUEUE_READY, 1)
                    .storeImm(32, w + VirtioMmio.STATUS, 1 | 2 | 8 | 4)
                    .storeImm(32, DESC, BUFFER).storeImm(32, DESC + 4, 0)      // desc[0] = BUFFER, 16 bytes, WRITE
                    .storeImm(32, DESC + 8, BUFFER_LEN).storeImm(16, DESC + 12, 2).storeImm(16, DESC + 14, 0)
                    .storeImm(16, AVAIL, 1);                                   // avail.flags = NO_INTERRUPT
            for (int slot = 0; slot < 8; slot++) a.storeImm(16, AVAIL + 4 + 2 * slot, 0);
            a.zero(CX, 32)
                    .label("loop").inc(CX, 16)                                 // inc cx
                    .storeReg(CX, 16, AVAIL + 2)                               // mov [avail.idx], cx
                    .storeImm(32, w + VirtioMmio.QUEUE_NOTIFY, 0)              // notify queue 0
                    .label("wait").loadAbs(16, USED + 2)                       // mov ax, [used.idx]
                    .cmp(AX, CX, 16).jne("wait")                               // until the device used it
                    .jmp("loop");
            guest.protectedMode32(a.bytes());
            long nanos = timed(guest, seconds);
            return rng.bytes() / BUFFER_LEN * 1e9 / nanos;
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
            long start = System.nanoTime();
            CompletableFuture<StopReason> run = new CompletableFuture<>();
            Thread.ofPlatform().daemon().name("ioeventfd-vcpu").start(() -> run.complete(v.run()));
            Thread.sleep((long) (seconds * 1000)); // the measuring window
            v.requestStop();
            StopReason r = run.get(30, TimeUnit.SECONDS);
            long nanos = System.nanoTime() - start;
            if (r != StopReason.STOPPED) throw new IllegalStateException("guest ended early: " + r + " " + v.lastError().orElse(""));
            signalled.addAndGet(efd.poll());
            efd.close();
            consumer.join(10_000);
            if (c.writes.get() != 0) throw new IllegalStateException("notify writes exited to user space: " + c.writes.get());
            return String.format("%,.0f notifications/s (%,.0f consumer wake-ups/s, %d user-space exits)",
                    signalled.get() * 1e9 / nanos, wakeups.get() * 1e9 / nanos, v.exitCount());
        }
    }
}
