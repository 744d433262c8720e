package org.vireo.guest;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * virtio-balloon with the kit kernel's own virtio_balloon driver, through the packaged launcher ({@code vireo run
 * --balloon=control=SOCK}); the test plays the host's part through the balloon's control socket.
 * <ol>
 * <li>{@link #inflateShrinksTheGuestAndTheHostThenDeflate}: without free page reporting (so only the balloon gives
 *     memory back), the guest fills 100 MiB of tmpfs and frees it; the host asks for a 128 MiB balloon: the guest's
 *     MemTotal drops by that much, the driver reports the balloon's size in config {@code actual}, the device has
 *     given 128 MiB back to the host and the guest RAM the launcher process holds (mincore over the mapping, as the
 *     control socket reports it; the whole VmRSS is printed too, blurred by the JVM's own growth) drops; the guest's
 *     statistics arrive; then the host
 *     deflates to 0 and MemTotal comes back.</li>
 * <li>{@link #freePagesTheGuestReportsGoBackToTheHost}: with free page reporting, memory the guest frees is reported
 *     (in 2 MiB blocks, a couple of seconds later) and given back to the host without any balloon target.</li>
 * </ol>
 */
public class BalloonIT {
    private static final int MEM_MIB = 256;
    private static final int FILL_MIB = 100, BALLOON_MIB = 128;

    @Rule
    public TemporaryFolder folder = new TemporaryFolder();

    /** The guest's part: markers on the serial console, and waits (bounded) for MemTotal to change. */
    private static final String INFLATE_SCRIPT = "mt() { awk '/MemTotal/ {print $2}' /proc/meminfo; };"
            + " m0=$(mt); echo bal-memtotal0: $m0;"
            + " dd if=/dev/zero of=/tmp/fill bs=1M count=" + FILL_MIB + " 2>/dev/null; rm /tmp/fill; echo bal-filled: 1;"
            + " i=0; while [ $(mt) -gt $((m0 - " + (BALLOON_MIB - 8) + " * 1024)) ] && [ $i -lt 600 ]; do sleep 1; i=$((i+1)); done;"
            + " echo bal-inflated: $(mt);"
            + " i=0; while [ $(mt) -lt $((m0 - 4096)) ] && [ $i -lt 600 ]; do sleep 1; i=$((i+1)); done;"
            + " echo bal-deflated: $(mt)";

    private static final String REPORT_SCRIPT = "dd if=/dev/zero of=/tmp/fill bs=1M count=" + FILL_MIB + " 2>/dev/null; echo bal-filled: 1;"
            + " rm /tmp/fill; echo bal-freed: 1; i=0; while [ ! -e /tmp/stop ] && [ $i -lt 120 ]; do sleep 1; i=$((i+1)); done";

    @Test
    public void inflateShrinksTheGuestAndTheHostThenDeflate() throws Exception {
        GuestKit.assumePresent();
        Path home = LauncherProcess.home();
        Path socket = folder.getRoot().toPath().resolve("balloon.sock");
        Path deploy = folder.newFolder("deploy").toPath();
        Path log = GuestKit.logFile("BalloonIT-inflate");
        StringBuilder report = new StringBuilder();
        try (LauncherProcess vm = LauncherProcess.start(home, deploy, log, "run", "--timeout", Integer.toString(GuestKit.RUN_SECONDS),
                "--mem", MEM_MIB + "M", "--balloon=control=" + socket + ",no-reporting",
                "--append", "console=ttyS0 vireo.cmd=\"" + INFLATE_SCRIPT + "\"")) {
            assertNotNull("the guest filled and freed its memory" + GuestKit.tail(vm.output(), 60),
                    vm.await(l -> l.startsWith("bal-filled:"), GuestKit.RUN_SECONDS));
            long memTotal0 = Long.parseLong(GuestKit.field(vm.output(), "bal-memtotal0"));
            long pid = vm.process().pid();
            long rssBefore = rssKib(pid);
            try (Control control = new Control(socket)) {
                long guestBefore = Long.parseLong(value(control.ask("stats"), "guest-resident-bytes")) >> 10;
                assertEquals("ok " + BALLOON_MIB * 256 + " pages", control.ask("target " + BALLOON_MIB + "M"));
                String inflated = vm.await(l -> l.startsWith("bal-inflated:"), GuestKit.RUN_SECONDS);
                assertNotNull("the guest saw its memory shrink" + GuestKit.tail(vm.output(), 60), inflated);
                long memTotal1 = Long.parseLong(GuestKit.field(vm.output(), "bal-inflated"));
                String status = awaitActual(control, BALLOON_MIB * 256);
                long rssInflated = rssKib(pid), guestInflated = Long.parseLong(value(status, "guest-resident-bytes")) >> 10;
                long discarded = Long.parseLong(value(status, "discarded-bytes"));
                report.append(String.format("BalloonIT: MemTotal %d -> %d KiB; launcher RSS %d -> %d MiB, of it guest RAM %d -> %d MiB;"
                        + " %d MiB given back; %s%n", memTotal0, memTotal1, rssBefore >> 10, rssInflated >> 10, guestBefore >> 10,
                        guestInflated >> 10, discarded >> 20, status));
                assertTrue("MemTotal fell by the balloon: " + memTotal0 + " -> " + memTotal1,
                        memTotal0 - memTotal1 >= (BALLOON_MIB - 8) * 1024L && memTotal0 - memTotal1 <= (BALLOON_MIB + 8) * 1024L);
                assertTrue(status, Long.parseLong(value(status, "inflated")) >= BALLOON_MIB * 256L);
                assertEquals("every inflated page went back to the host", BALLOON_MIB << 20, discarded);
                assertEquals("no free page reporting offered", "0", value(status, "reported-bytes"));
                assertTrue("the guest RAM the launcher holds (mincore) fell: " + guestBefore + " -> " + guestInflated + " KiB",
                        guestInflated <= guestBefore - 32 * 1024);

                // The buffer the device holds has the statistics of the driver's start; each "stats" hands it back
                // for a refill, so fresh ones (the shrunk total) arrive after a round trip or two.
                long shrunk = (memTotal0 - BALLOON_MIB * 1024L) * 1024;
                String stats = awaitStats(control, st -> Math.abs(Long.parseLong(value(st, "total-memory")) - shrunk) <= 4L << 20);
                report.append("BalloonIT: guest statistics: ").append(stats).append('\n');
                long total = Long.parseLong(value(stats, "total-memory"));
                assertTrue("the guest's total memory statistic (" + total + ") is its shrunk MemTotal (" + shrunk + ")",
                        Math.abs(total - shrunk) <= 4L << 20);

                assertEquals("ok 0 pages", control.ask("target 0"));
                assertNotNull("the guest got its memory back" + GuestKit.tail(vm.output(), 60),
                        vm.await(l -> l.startsWith("bal-deflated:"), GuestKit.RUN_SECONDS));
                long memTotal2 = Long.parseLong(GuestKit.field(vm.output(), "bal-deflated"));
                String deflated = awaitActual(control, 0);
                report.append(String.format("BalloonIT: deflated: MemTotal %d KiB; %s%n", memTotal2, deflated));
                assertTrue("MemTotal back: " + memTotal2 + " vs " + memTotal0, Math.abs(memTotal2 - memTotal0) <= 1024);
                assertTrue(deflated, Long.parseLong(value(deflated, "deflated")) >= BALLOON_MIB * 256L);
            }
            assertTrue("vireo run ended" + GuestKit.tail(vm.output(), 40), vm.waitFor(GuestKit.RUN_SECONDS));
            assertEquals("exit code (0: the guest rebooted)" + GuestKit.tail(vm.output(), 40), 0, vm.process().exitValue());
            assertTrue(vm.output().contains("balloon0: virtio-balloon, target 0 MiB, no free page reporting, control socket " + socket));
        } finally {
            System.out.print(report);
            Files.writeString(log, report.toString(), java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
        }
    }

    @Test
    public void freePagesTheGuestReportsGoBackToTheHost() throws Exception {
        GuestKit.assumePresent();
        Path home = LauncherProcess.home();
        Path socket = folder.getRoot().toPath().resolve("balloon.sock");
        Path deploy = folder.newFolder("deploy").toPath();
        Path log = GuestKit.logFile("BalloonIT-report");
        String report = "";
        try (LauncherProcess vm = LauncherProcess.start(home, deploy, log, "run", "--timeout", Integer.toString(GuestKit.RUN_SECONDS),
                "--mem", MEM_MIB + "M", "--balloon=control=" + socket, "--append", "console=ttyS0 vireo.cmd=\"" + REPORT_SCRIPT + "\"")) {
            assertNotNull("the guest filled its memory" + GuestKit.tail(vm.output(), 60), vm.await(l -> l.startsWith("bal-filled:"), GuestKit.RUN_SECONDS));
            long pid = vm.process().pid();
            long rssFull = rssKib(pid);
            try (Control control = new Control(socket)) {
                String full = control.ask("stats");
                long guestFull = Long.parseLong(value(full, "guest-resident-bytes")) >> 10;
                // The driver reported the free memory it had at boot already: what counts is what comes after the fill.
                long reportedBefore = Long.parseLong(value(full, "reported-bytes"));
                assertNotNull(vm.await(l -> l.startsWith("bal-freed:"), GuestKit.RUN_SECONDS));
                // Linux reports free 2 MiB blocks about 2 s after they are freed; the emulated guest may take longer.
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
                String status = control.ask("stats");
                while (Long.parseLong(value(status, "reported-bytes")) - reportedBefore < (FILL_MIB - 20L) << 20 && System.nanoTime() < deadline) {
                    Thread.sleep(500);
                    status = control.ask("stats");
                }
                long rssAfter = rssKib(pid), guestAfter = Long.parseLong(value(status, "guest-resident-bytes")) >> 10;
                report = String.format("BalloonIT: free page reporting: launcher RSS %d -> %d MiB, of it guest RAM %d -> %d MiB;"
                        + " %d MiB reported at boot, then %d MiB; %s%n", rssFull >> 10, rssAfter >> 10, guestFull >> 10, guestAfter >> 10,
                        reportedBefore >> 20, (Long.parseLong(value(status, "reported-bytes")) - reportedBefore) >> 20, status);
                long reported = Long.parseLong(value(status, "reported-bytes"));
                assertTrue("the freed memory was reported (" + reportedBefore + " bytes before): " + status,
                        reported - reportedBefore >= (FILL_MIB - 20L) << 20);
                assertEquals("and given back", reported, Long.parseLong(value(status, "discarded-bytes")));
                assertTrue("the guest RAM the launcher holds (mincore) fell: " + guestFull + " -> " + guestAfter + " KiB",
                        guestAfter <= guestFull - (FILL_MIB - 30) * 1024L);
                assertEquals("no balloon", "0", value(status, "actual"));
            }
        } finally {
            System.out.print(report);
            Files.writeString(log, report, java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
        }
    }

    /** Polls the device until the driver reports {@code pages} in config actual (bounded); the last status. */
    private static String awaitActual(Control control, int pages) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        String status = control.ask("stats");
        while (!value(status, "actual").equals(Integer.toString(pages)) && System.nanoTime() < deadline) {
            Thread.sleep(250);
            status = control.ask("stats");
        }
        assertEquals("the driver's actual" + " (" + status + ")", Integer.toString(pages), value(status, "actual"));
        return status;
    }

    /** Asks for statistics until the guest has sent some that {@code fresh} accepts (bounded); the last status. */
    private static String awaitStats(Control control, java.util.function.Predicate<String> fresh) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        String status = control.ask("stats");
        while (!(status.contains("total-memory=") && fresh.test(status)) && System.nanoTime() < deadline) {
            Thread.sleep(250);
            status = control.ask("stats");
        }
        assertTrue("the guest sent statistics: " + status, status.contains("total-memory="));
        return status;
    }

    private static String value(String status, String key) {
        for (String word : status.split(" ")) if (word.startsWith(key + "=")) return word.substring(key.length() + 1);
        throw new AssertionError("no " + key + " in " + status);
    }

    /** The resident set of process {@code pid} in KiB (/proc/PID/status VmRSS). */
    private static long rssKib(long pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
            if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("[^0-9]", ""));
        }
        throw new AssertionError("no VmRSS for " + pid);
    }

    /** The balloon's control socket, one command and one answer line at a time; waits (bounded) for it to appear. */
    private static final class Control implements AutoCloseable {
        private final SocketChannel channel;
        private final BufferedReader in;

        Control(Path socket) throws Exception {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!Files.exists(socket) && System.nanoTime() < deadline) Thread.sleep(100);
            channel = SocketChannel.open(UnixDomainSocketAddress.of(socket));
            in = new BufferedReader(Channels.newReader(channel, StandardCharsets.US_ASCII));
        }

        String ask(String command) throws IOException {
            channel.write(ByteBuffer.wrap((command + "\n").getBytes(StandardCharsets.US_ASCII)));
            String line = in.readLine();
            if (line == null) throw new IOException("the balloon's control socket closed");
            return line;
        }

        @Override
        public void close() throws IOException { channel.close(); }
    }
}
