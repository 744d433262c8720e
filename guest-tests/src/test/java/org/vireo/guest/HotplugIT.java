package org.vireo.guest;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.Test;
import org.vireo.bus.pci.PcieRootPort;
import org.vireo.virtio.core.PluggedDevice;
import org.vireo.virtio.pci.VirtioPci;
import org.vireo.virtio.rng.FileSource;
import org.vireo.virtio.rng.RngDevice;
import org.vireo.vmm.HotplugRunner;
import org.vireo.vmm.X86Machine;

/**
 * PCIe native hot-plug with the Debian kernel's pciehp (acpi=off, INTx through the PIC): a virtio-rng plugged while
 * the guest runs lands in the machine's hot-plug slot, the guest finds it without being told (presence and link-up
 * events), binds virtio_rng and reads /dev/hwrng; unplugging it presses the slot's attention button, the guest lets
 * go of the device and powers the slot off, and the device is gone from the guest's buses.
 * <p>
 * Churn (issue 18): the cycle repeats {@code -Dvireo.hotplug.cycles=N} times (default {@value #DEFAULT_CYCLES}, which
 * keeps CI short: Linux's pciehp waits 5 s after the attention button before it powers the slot off and ignores the
 * slot for 1 s after that, so a cycle takes about 8.5 s on a 2-core machine; the 100 cycles take about
 * 15 minutes, {@code -Dvireo.hotplug.cycles=100}; docs/reliability.md has a recorded run). After the first cycle (the
 * warm-up), heap after GC, live threads and open file descriptors of this JVM, which is the VMM, must stay flat: heap
 * within {@value #HEAP_BOUND_MIB} MiB of the warm-up sample, threads and descriptors within {@value #COUNT_BOUND}.
 */
public class HotplugIT {
    private static final long STEP_SECONDS = 180;
    static final int DEFAULT_CYCLES = 3;
    static final int HEAP_BOUND_MIB = 8;
    static final int COUNT_BOUND = 2;
    private static final int CYCLES = Math.max(1, Integer.getInteger("vireo.hotplug.cycles", DEFAULT_CYCLES));

    // Double quotes cannot appear inside vireo.cmd="...": the guest's /init reads them as the value's delimiters.
    private static final String COMMAND = String.join("; ",
            "echo hp-before: $(ls /sys/bus/pci/devices | tr '\\n' ' ')",
            "c=1",
            "while [ $c -le " + CYCLES + " ]; do echo hp-waiting-$c: 1",
            "while ! ls /sys/bus/virtio/drivers/virtio_rng 2>/dev/null | grep -q virtio; do usleep 200000; done",
            "echo hp-added-$c: $(cat /sys/bus/pci/devices/0000:01:00.0/vendor /sys/bus/pci/devices/0000:01:00.0/device | tr '\\n' ' ')",
            "echo hp-hwrng-$c: $(dd if=/dev/hwrng bs=32 count=1 2>/dev/null | wc -c)",
            "while ls /sys/bus/virtio/drivers/virtio_rng 2>/dev/null | grep -q virtio; do usleep 200000; done",
            "while [ -e /sys/bus/pci/devices/0000:01:00.0 ]; do usleep 200000; done",
            "echo hp-removed-$c: $(ls /sys/bus/pci/devices | tr '\\n' ' ')",
            // pciehp ignores presence and link changes for 1 s after it powers the slot off (remove_board): a card
            // inserted sooner goes unseen, as on hardware. The device leaves sysfs just before that power-off.
            "sleep 2",
            "c=$((c+1)); done");

    /** The guest output so far, with a monitor to wait for a marker on. */
    private static final class Output extends OutputStream {
        private final StringBuilder text = new StringBuilder();
        private final java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();

        @Override
        public synchronized void write(int b) {
            bytes.write(b);
            notifyAll();
        }

        @Override
        public synchronized void write(byte[] b, int off, int len) {
            bytes.write(b, off, len);
            notifyAll();
        }

        synchronized String text() { return bytes.toString(StandardCharsets.UTF_8); }

        /** The complete lines so far (the serial port delivers a line a character at a time). */
        private String completeLines() {
            String t = text();
            return t.substring(0, t.lastIndexOf('\n') + 1);
        }

        /** Waits (bounded, as a failure guard) until a complete line starts with {@code marker}; false on timeout. */
        synchronized boolean await(String marker, long seconds) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
            while (completeLines().lines().noneMatch(l -> l.strip().startsWith(marker))) {
                long left = deadline - System.nanoTime();
                if (left <= 0) return false;
                wait(Math.max(1, left / 1_000_000));
            }
            return true;
        }
    }

    @Test
    public void aDevicePluggedIntoTheRunningGuestAppearsAndLeavesCleanly() throws Exception {
        GuestKit.assumePresent();
        Output output = new Output();
        PrintStream sink = new PrintStream(output, true, StandardCharsets.UTF_8);
        HotplugRunner runner = new HotplugRunner(sink, sink);
        AtomicInteger exitCode = new AtomicInteger(-1);
        long runSeconds = GuestKit.RUN_SECONDS + 30L * CYCLES;
        Thread vm = new Thread(() -> exitCode.set(runner.run("--timeout", Long.toString(runSeconds),
                "--append", "console=ttyS0 acpi=off vireo.cmd=\"" + COMMAND + "\"")), "hotplug-it");
        vm.start();
        List<String> trend = new ArrayList<>();
        HostResources baseline = null;
        HostResources end = null;
        long cyclesStarted = 0;
        long cyclesDone = 0;
        RngDevice rng = null;
        PluggedDevice plugged = null;
        CompletableFuture<Void> unplugged = null;
        try {
            X86Machine machine = runner.machine().get(STEP_SECONDS, TimeUnit.SECONDS);
            PcieRootPort port = machine.hotplugSlot().orElseThrow();
            for (int c = 1; c <= CYCLES; c++) {
                String at = " (cycle " + c + " of " + CYCLES + ")";
                assertTrue("the guest is waiting for the device" + at + GuestKit.tail(output.text(), 40), output.await("hp-waiting-" + c + ":", STEP_SECONDS));
                if (c == 1) cyclesStarted = System.nanoTime();
                assertTrue("the guest's pciehp enabled hot-plug interrupts" + at + GuestKit.tail(output.text(), 60), port.accepting());
                rng = new RngDevice(new FileSource(Path.of("/dev/urandom")), "rng-hot");
                plugged = VirtioPci.plug(machine, rng, "rng-hot");
                assertTrue("the device landed in the slot" + at, port.occupied());
                assertTrue("the guest bound virtio_rng to the new device" + at + GuestKit.tail(output.text(), 60), output.await("hp-added-" + c + ":", STEP_SECONDS));
                assertEquals("0x1af4 0x1044", GuestKit.field(output.text(), "hp-added-" + c));
                assertTrue("the guest read /dev/hwrng" + at + GuestKit.tail(output.text(), 40), output.await("hp-hwrng-" + c + ":", STEP_SECONDS));
                assertEquals("32", GuestKit.field(output.text(), "hp-hwrng-" + c));

                PluggedDevice device = plugged;
                plugged = null;
                unplugged = CompletableFuture.runAsync(device::close);
                unplugged.get(STEP_SECONDS, TimeUnit.SECONDS);
                unplugged = null;
                rng.close();
                rng = null;
                assertFalse("the slot is empty" + at, port.occupied());
                assertFalse("the guest powered the slot off (no surprise removal)" + at, port.poweredOn());
                assertTrue("the device left the guest" + at + GuestKit.tail(output.text(), 60), output.await("hp-removed-" + c + ":", STEP_SECONDS));
                String before = GuestKit.field(output.text(), "hp-before");
                assertNotNull(before);
                assertEquals("the guest's PCI devices are those from before" + at, before, GuestKit.field(output.text(), "hp-removed-" + c));

                // The VMM's resources while the guest runs, after the device left: the warm-up sample, then every
                // tenth cycle, and the last (given a moment to settle: threads end a little after the unplug).
                if (c == 1) {
                    baseline = HostResources.sample();
                    trend.add("after cycle 1 (warm-up): " + baseline);
                } else if (c == CYCLES) {
                    HostResources base = baseline;
                    end = HostResources.settled(r -> within(base, r), 5);
                    trend.add("after cycle " + c + ": " + end);
                } else if (c % 10 == 0) {
                    trend.add("after cycle " + c + ": " + HostResources.sample());
                }
            }
            cyclesDone = System.nanoTime();
        } finally {
            if (plugged != null) plugged.close();
            if (unplugged != null) unplugged.join();
            if (rng != null) rng.close();
            vm.join(TimeUnit.SECONDS.toMillis(runSeconds + 30));
            if (vm.isAlive()) {
                runner.stop();
                vm.join(TimeUnit.SECONDS.toMillis(10));
            }
            Files.writeString(GuestKit.logFile("HotplugIT"), output.text());
        }
        String out = output.text();
        if (exitCode.get() == -1) fail("the VM did not end" + GuestKit.tail(out, 40));
        assertEquals("exit code (0: the guest rebooted)" + GuestKit.tail(out, 40), 0, exitCode.get());
        assertTrue("/init finished" + GuestKit.tail(out, 40), out.contains("vireo-init: exit status 0"));

        String report = String.format("HotplugIT: %d cycles in %.0f s%n  ", CYCLES, (cyclesDone - cyclesStarted) / 1e9) + String.join("\n  ", trend);
        Files.writeString(GuestKit.logFile("HotplugIT"), report + "\n", java.nio.file.StandardOpenOption.APPEND);
        if (end != null) {
            assertTrue("heap after GC grew by " + HostResources.mib(end.heapAfterGc() - baseline.heapAfterGc()) + " (bound "
                    + HEAP_BOUND_MIB + " MiB)\n" + report, end.heapAfterGc() - baseline.heapAfterGc() < (long) HEAP_BOUND_MIB << 20);
            assertTrue("threads " + baseline.threads() + " -> " + end.threads() + "\n" + report, end.threads() <= baseline.threads() + COUNT_BOUND);
            assertTrue("open fds " + baseline.fds() + " -> " + end.fds() + "\n" + report, end.fds() <= baseline.fds() + COUNT_BOUND);
        }
    }

    private static boolean within(HostResources base, HostResources now) {
        return now.heapAfterGc() - base.heapAfterGc() < (long) HEAP_BOUND_MIB << 20
                && now.threads() <= base.threads() + COUNT_BOUND && now.fds() <= base.fds() + COUNT_BOUND;
    }
}
