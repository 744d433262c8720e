package org.vireo.guest;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.TreeMap;
import java.util.function.Predicate;
import java.util.stream.Stream;

/**
 * What a leak shows in this JVM: heap in use after a full GC, live threads and open file descriptors
 * ({@code /proc/self/fd}). The same as integration-tests/.../HostResources (the two test modules share no code).
 */
record HostResources(long heapAfterGc, int threads, int fds) {
    static HostResources sample() {
        for (int i = 0; i < 3; i++) {
            System.gc();
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        long heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
        return new HostResources(heap, ManagementFactory.getThreadMXBean().getThreadCount(), openFds());
    }

    static int openFds() {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return (int) fds.count();
        } catch (IOException e) {
            return -1;   // not Linux: the fd check then compares -1 with -1
        }
    }

    /**
     * Samples until {@code ok} holds or {@code seconds} pass (threads end and descriptors close a moment after the
     * service that owned them goes), returning the last sample.
     */
    static HostResources settled(Predicate<HostResources> ok, long seconds) throws InterruptedException {
        long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        HostResources s = sample();
        while (!ok.test(s) && System.nanoTime() < deadline) {
            Thread.sleep(200);
            s = sample();
        }
        return s;
    }

    /** Live threads by name with their counts, for a failure message. */
    static String threadNames() {
        TreeMap<String, Integer> names = new TreeMap<>();
        for (Thread t : Thread.getAllStackTraces().keySet()) names.merge(t.getName().replaceAll("\\d+", "#"), 1, Integer::sum);
        return names.toString();
    }

    /** What the open file descriptors point to, for a failure message. */
    static String fdTargets() {
        TreeMap<String, Integer> targets = new TreeMap<>();
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            fds.forEach(fd -> {
                try {
                    targets.merge(Files.readSymbolicLink(fd).toString().replaceAll("\\[\\d+]", "[#]"), 1, Integer::sum);
                } catch (IOException gone) {
                    // closed while listing
                }
            });
        } catch (IOException e) {
            return "(no /proc/self/fd)";
        }
        return targets.toString();
    }

    static String mib(long bytes) { return String.format("%.1f MiB", bytes / (1024.0 * 1024.0)); }

    @Override
    public String toString() { return "heap after GC " + mib(heapAfterGc) + ", " + threads + " threads, " + fds + " fds"; }
}
