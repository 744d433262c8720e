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
 */
public class HotplugIT {
    private static final long STEP_SECONDS = 180;

    // Double quotes cannot appear inside vireo.cmd="...": the guest's /init reads them as the value's delimiters.
    private static final String COMMAND = String.join("; ",
            "echo hp-before: $(ls /sys/bus/pci/devices | tr '\\n' ' ')",
            "echo hp-waiting: 1",
            "while ! ls /sys/bus/virtio/drivers/virtio_rng 2>/dev/null | grep -q virtio; do sleep 1; done",
            "echo hp-added: $(cat /sys/bus/pci/devices/0000:01:00.0/vendor /sys/bus/pci/devices/0000:01:00.0/device | tr '\\n' ' ')",
            "echo hp-hwrng: $(dd if=/dev/hwrng bs=32 count=1 2>/dev/null | wc -c)",
            "while ls /sys/bus/virtio/drivers/virtio_rng 2>/dev/null | grep -q virtio; do sleep 1; done",
            "while [ -e /sys/bus/pci/devices/0000:01:00.0 ]; do sleep 1; done",
            "echo hp-removed: $(ls /sys/bus/pci/devices | tr '\\n' ' ')");

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
        Thread vm = new Thread(() -> exitCode.set(runner.run("--timeout", Integer.toString(GuestKit.RUN_SECONDS),
                "--append", "console=ttyS0 acpi=off vireo.cmd=\"" + COMMAND + "\"")), "hotplug-it");
        vm.start();
        RngDevice rng = new RngDevice(new FileSource(Path.of("/dev/urandom")), "rng-hot");
        PluggedDevice plugged = null;
        CompletableFuture<Void> unplugged = null;
        try {
            X86Machine machine = runner.machine().get(STEP_SECONDS, TimeUnit.SECONDS);
            PcieRootPort port = machine.hotplugSlot().orElseThrow();
            assertTrue("the guest is waiting for the device" + GuestKit.tail(output.text(), 40), output.await("hp-waiting:", STEP_SECONDS));
            assertTrue("the guest's pciehp enabled hot-plug interrupts" + GuestKit.tail(output.text(), 60), port.accepting());
            plugged = VirtioPci.plug(machine, rng, "rng-hot");
            assertTrue("the device landed in the slot", port.occupied());
            assertTrue("the guest bound virtio_rng to the new device" + GuestKit.tail(output.text(), 60), output.await("hp-added:", STEP_SECONDS));
            assertEquals("0x1af4 0x1044", GuestKit.field(output.text(), "hp-added"));
            assertTrue("the guest read /dev/hwrng" + GuestKit.tail(output.text(), 40), output.await("hp-hwrng:", STEP_SECONDS));
            assertEquals("32", GuestKit.field(output.text(), "hp-hwrng"));

            PluggedDevice device = plugged;
            plugged = null;
            unplugged = CompletableFuture.runAsync(device::close);
            unplugged.get(STEP_SECONDS, TimeUnit.SECONDS);
            assertFalse("the slot is empty", port.occupied());
            assertFalse("the guest powered the slot off (no surprise removal)", port.poweredOn());
            assertTrue("the device left the guest" + GuestKit.tail(output.text(), 60), output.await("hp-removed:", STEP_SECONDS));
            String before = GuestKit.field(output.text(), "hp-before");
            assertNotNull(before);
            assertEquals("the guest's PCI devices are those from before", before, GuestKit.field(output.text(), "hp-removed"));
        } finally {
            if (plugged != null) plugged.close();
            if (unplugged != null) unplugged.join();
            rng.close();
            vm.join(TimeUnit.SECONDS.toMillis(GuestKit.RUN_SECONDS + 30));
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
    }
}
