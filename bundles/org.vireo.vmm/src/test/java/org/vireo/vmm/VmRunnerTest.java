package org.vireo.vmm;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.vireo.x86.boot.BootPlan;

/** The runner's life cycle with a scripted stand-in for the CPU, which plays the guest through the port bus. */
public class VmRunnerTest {
    @Rule
    public TemporaryFolder folder = new TemporaryFolder();

    private final ByteArrayOutputStream console = new ByteArrayOutputStream();
    private final ByteArrayOutputStream log = new ByteArrayOutputStream();

    /** Runs {@code guest} against the machine, then waits to be stopped, or returns {@code exit}. */
    private static final class ScriptedVcpu implements Vcpu {
        final X86Machine machine;
        final Consumer<X86Machine> guest;
        final Exit exit;
        final CountDownLatch stopped = new CountDownLatch(1);
        BootPlan plan;

        ScriptedVcpu(X86Machine machine, Consumer<X86Machine> guest, Exit exit) {
            this.machine = machine;
            this.guest = guest;
            this.exit = exit;
        }

        @Override public void load(BootPlan plan) { this.plan = plan; }

        @Override
        public Exit run() {
            guest.accept(machine);
            if (exit != null) return exit;
            try {
                if (!stopped.await(30, TimeUnit.SECONDS)) throw new IllegalStateException("never stopped");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return Exit.STOPPED;
        }

        @Override public void stop() { stopped.countDown(); }

        @Override public String describe() { return "scripted"; }
    }

    private int run(Consumer<X86Machine> guest, Vcpu.Exit exit, String... extra) throws Exception {
        Path kernel = TestImages.write(folder.getRoot().toPath(), "bzImage", TestImages.bzImage(new byte[16]));
        String[] args = new String[4 + extra.length];
        args[0] = "--kernel"; args[1] = kernel.toString(); args[2] = "--initrd"; args[3] = "none";
        System.arraycopy(extra, 0, args, 4, extra.length);
        VmRunner runner = new VmRunner(new PrintStream(console, true), new PrintStream(log, true), null,
                m -> new ScriptedVcpu(m, guest, exit));
        return runner.run(args);
    }

    private static void print(X86Machine m, String s) {
        for (byte b : s.getBytes(StandardCharsets.US_ASCII)) m.pio().write(0x3f8, 1, b);
    }

    private String console() { return console.toString(StandardCharsets.US_ASCII); }

    private String log() { return log.toString(StandardCharsets.US_ASCII); }

    @Test
    public void keyboardControllerResetEndsTheRunWithZero() throws Exception {
        int code = run(m -> {
            print(m, "hello from the guest\n");
            m.pio().write(0x64, 1, 0xfe);
        }, null);
        assertEquals(log(), 0, code);
        assertTrue(console().contains("hello from the guest"));
        assertTrue(log(), log().contains("reset the machine"));
        assertTrue(log(), log().contains("bzImage"));
    }

    @Test
    public void port92ResetEndsTheRunWithZero() throws Exception {
        assertEquals(log(), 0, run(m -> m.pio().write(0x92, 1, 0x01), null));
    }

    @Test
    public void tripleFaultAfterRestartingIsAReboot() throws Exception {
        assertEquals(log(), 0, run(m -> print(m, "[   12.3] reboot: Restarting system\r\n"), Vcpu.Exit.TRIPLE_FAULT));
        assertTrue(log(), log().contains("rebooted"));
    }

    @Test
    public void tripleFaultOutOfTheBlueIsAnError() throws Exception {
        assertEquals(1, run(m -> print(m, "booting\n"), Vcpu.Exit.TRIPLE_FAULT));
        assertTrue(log(), log().contains("triple-faulted") && log().contains("scripted"));
    }

    @Test
    public void haltAfterPowerDownIsAPowerOff() throws Exception {
        assertEquals(log(), 0, run(m -> print(m, "reboot: Power down\n"), null));
        assertEquals(1, run(m -> { }, Vcpu.Exit.HALTED));
    }

    @Test
    public void kernelPanicIsAnError() throws Exception {
        assertEquals(1, run(m -> print(m, "---[ end Kernel panic - not syncing: VFS: Unable to mount root fs ]---\n"), null));
        assertTrue(log(), log().contains("panicked"));
    }

    @Test
    public void emulatorFailuresAreReported() throws Exception {
        assertEquals(1, run(m -> { throw new UnsupportedOperationException("opcode 0f 0b"); }, null));
        assertTrue(log(), log().contains("opcode 0f 0b"));
    }

    @Test
    public void timeoutEndsTheRun() throws Exception {
        assertEquals(124, run(m -> { }, null, "--timeout", "1"));
        assertTrue(log(), log().contains("timed out"));
    }

    @Test
    public void unbootableKernelIsAnError() throws Exception {
        Path junk = TestImages.write(folder.getRoot().toPath(), "junk", new byte[4096]);
        VmRunner runner = new VmRunner(new PrintStream(console, true), new PrintStream(log, true), null,
                m -> { throw new AssertionError("no CPU for a kernel that does not load"); });
        assertEquals(1, runner.run("--kernel", junk.toString(), "--initrd", "none"));
        assertTrue(log(), log().contains("neither a bzImage nor an ELF"));
    }

    @Test
    public void badOptionsGiveUsage() {
        VmRunner runner = new VmRunner(new PrintStream(console, true), new PrintStream(log, true), null, m -> null);
        assertEquals(2, runner.run("--frobnicate"));
        assertTrue(log(), log().contains("usage: vireo run"));
        assertEquals(0, runner.run("--help"));
        assertTrue(console().contains("Ctrl-A x"));
    }

    @Test
    public void ctrlAXQuitsEvenWhenTheGuestIgnoresItsSerialPort() throws Exception {
        Path kernel = TestImages.write(folder.getRoot().toPath(), "bzImage", TestImages.bzImage(new byte[16]));
        byte[] keys = ("typing into a guest that never reads".repeat(4) + "\u0001x").getBytes(StandardCharsets.US_ASCII);
        VmRunner runner = new VmRunner(new PrintStream(console, true), new PrintStream(log, true), new java.io.ByteArrayInputStream(keys),
                m -> new ScriptedVcpu(m, machine -> { }, null));
        assertEquals(log(), 0, runner.run("--kernel", kernel.toString(), "--initrd", "none"));
        assertTrue(log(), log().contains("Ctrl-A x"));
    }

    @Test
    public void keyboardReachesTheGuestSerialPort() throws Exception {
        Path kernel = TestImages.write(folder.getRoot().toPath(), "bzImage", TestImages.bzImage(new byte[16]));
        VmRunner runner = new VmRunner(new PrintStream(console, true), new PrintStream(log, true),
                new java.io.ByteArrayInputStream(new byte[] {'l', 's', '\r', 1, 1}), m -> new ScriptedVcpu(m, machine -> {
                    StringBuilder got = new StringBuilder();
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                    while (got.length() < 4 && System.nanoTime() < deadline) {
                        if ((machine.pio().read(0x3fd, 1) & 1) != 0) got.append((char) machine.pio().read(0x3f8, 1));
                        else Thread.onSpinWait();
                    }
                    print(machine, got.toString().replace('\r', '/').replace('\u0001', 'A'));
                    machine.pio().write(0x64, 1, 0xfe);
                }, null));
        assertEquals(log(), 0, runner.run("--kernel", kernel.toString(), "--initrd", "none"));
        assertEquals("ls/A", console());
    }

    /** Type-1 PCI configuration read of bus 0, function 0. */
    private static int pciConfig(X86Machine m, int slot, int offset) {
        m.pio().write(0xcf8, 4, 0x8000_0000L | slot << 11 | offset);
        return (int) m.pio().read(0xcfc, 4);
    }

    @Test
    public void devicesAreOnThePciBusBeforeTheGuestRuns() throws Exception {
        Path image = TestImages.write(folder.getRoot().toPath(), "disk.img", new byte[64 * 1024]);
        Path hvc = folder.getRoot().toPath().resolve("hvc0.txt");
        int code = run(m -> {
            StringBuilder seen = new StringBuilder();
            for (int slot = 1; slot <= 4; slot++) {
                int id = pciConfig(m, slot, 0);
                seen.append(String.format("%d:%04x:%04x:irq%d ", slot, id & 0xffff, id >>> 16, pciConfig(m, slot, 0x3c) & 0xff));
            }
            print(m, seen + "\n");
            m.pio().write(0x64, 1, 0xfe);
        }, null, "--console-device", "virtio,file=" + hvc, "--disk", image.toString(), "--rng");
        assertEquals(log(), 0, code);
        // disk0 first whatever the option order, then rng and console; slot 4 is empty. INTx lines from the PIC, but
        // not 9: with ACPI (the default) that is the SCI.
        assertEquals("1:1af4:1042:irq5 2:1af4:1044:irq10 3:1af4:1043:irq11 4:ffff:ffff:irq255 \n", console());
        assertTrue(log(), log().contains("disk0: virtio-blk on " + image));
        assertTrue(log(), log().contains("console0: virtio-console (hvc0) to " + hvc));
        assertTrue("the console file is created when the device is", java.nio.file.Files.exists(hvc));
    }

    @Test
    public void withAcpiTheTablesAreInTheBiosAreaAndS5EndsTheRunWithZero() throws Exception {
        Path image = TestImages.write(folder.getRoot().toPath(), "disk.img", new byte[64 * 1024]);
        int code = run(m -> {
            byte[] signature = new byte[8];
            m.memory().read(X86Machine.ACPI_TABLES, signature, 0, 8);
            java.util.List<String> routes = new java.util.ArrayList<>();
            for (var r : m.pciRoutes()) routes.add(r.slot() + ":" + r.pin() + ":" + r.gsi());
            print(m, new String(signature, StandardCharsets.US_ASCII) + " " + routes + "\n");
            print(m, "reboot: Power down\n");
            m.pio().write(org.vireo.x86.platform.AcpiPm.PM1_CNT, 2, 5 << 10 | 1 << 13);     // SLP_TYP S5 | SLP_EN
        }, null, "--disk", image.toString(), "--rng");
        assertEquals(log(), 0, code);
        assertEquals("RSD PTR  [1:1:5, 2:1:10]\nreboot: Power down\n", console());
        assertTrue(log(), log().contains("the guest powered off (ACPI S5)"));
        assertTrue(log(), log().contains("ACPI tables at 0xe0000"));
    }

    @Test
    public void aGuestThatSaysPowerDownButNeverReachesS5EndsAfterTheGrace() throws Exception {
        long started = System.nanoTime();
        int code = run(m -> print(m, "reboot: Power down\n"), null);
        assertEquals(log(), 0, code);
        assertTrue(log(), log().contains("the guest powered off after"));
        assertTrue("waited for S5", System.nanoTime() - started >= VmRunner.POWER_OFF_GRACE_MILLIS * 1_000_000 - 50_000_000);
    }

    @Test
    public void aCommandLineWithAcpiOffGetsThePcWithoutAcpi() throws Exception {
        int code = run(m -> {
            print(m, m.memory().readLong(X86Machine.ACPI_TABLES) + " " + m.acpi() + "\n");
            m.pio().write(0x64, 1, 0xfe);
        }, null, "--append", "console=ttyS0 acpi=off");
        assertEquals(log(), 0, code);
        assertEquals("0 false\n", console());
    }

    @Test
    public void withoutAcpiNoTablesAndLine9IsForPci() throws Exception {
        Path image = TestImages.write(folder.getRoot().toPath(), "disk.img", new byte[64 * 1024]);
        int code = run(m -> {
            print(m, m.memory().readLong(X86Machine.ACPI_TABLES) + " irq" + (pciConfig(m, 2, 0x3c) & 0xff) + "\n");
            print(m, "reboot: Power down\n");
        }, null, "--no-acpi", "--disk", image.toString(), "--rng");
        assertEquals(log(), 0, code);
        assertEquals("0 irq9\nreboot: Power down\n", console());
        assertTrue(log(), log().contains("the guest powered off"));
        assertTrue(log(), !log().contains("ACPI"));
    }

    @Test
    public void aDeviceThatCannotBeSetUpEndsTheRunBeforeTheGuest() throws Exception {
        Path kernel = TestImages.write(folder.getRoot().toPath(), "bzImage", TestImages.bzImage(new byte[16]));
        VmRunner runner = new VmRunner(new PrintStream(console, true), new PrintStream(log, true), null,
                m -> new ScriptedVcpu(m, machine -> { throw new AssertionError("the guest must not run"); }, null));
        java.util.List<X86Machine> closedWith = new java.util.ArrayList<>();
        runner.setWiring((machine, devices, transport, ring, terminal) -> {
            closedWith.add(machine);
            throw new MachineWiring.WiringException("disk0: the image went away");
        });
        assertEquals(1, runner.run("--kernel", kernel.toString(), "--initrd", "none"));
        assertTrue(log(), log().contains("vireo: disk0: the image went away"));
        assertEquals(1, closedWith.size());
    }

    /** The wiring hears of the vCPU's start on the vCPU's own thread, after the devices and before the guest's first step. */
    @Test
    public void theWiringIsToldJustBeforeTheGuestRuns() throws Exception {
        Path kernel = TestImages.write(folder.getRoot().toPath(), "bzImage", TestImages.bzImage(new byte[16]));
        java.util.List<String> events = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        VmRunner runner = new VmRunner(new PrintStream(console, true), new PrintStream(log, true), null,
                m -> new ScriptedVcpu(m, machine -> events.add("guest on " + Thread.currentThread().getName()), Vcpu.Exit.TRIPLE_FAULT));
        runner.setWiring((machine, devices, transport, ring, terminal) -> {
            events.add("wired");
            return new MachineWiring.Wired() {
                @Override public void vcpuStarting() { events.add("starting on " + Thread.currentThread().getName()); }

                @Override public void close() { events.add("closed"); }
            };
        });
        runner.run("--kernel", kernel.toString(), "--initrd", "none");
        assertEquals(java.util.List.of("wired", "starting on vireo-vcpu0", "guest on vireo-vcpu0", "closed"), events);
    }

    @Test
    public void stopFromOutsideEndsTheRun() throws Exception {
        VmRunner[] runner = new VmRunner[1];
        Path kernel = TestImages.write(folder.getRoot().toPath(), "bzImage", TestImages.bzImage(new byte[16]));
        runner[0] = new VmRunner(new PrintStream(console, true), new PrintStream(log, true), null,
                m -> new ScriptedVcpu(m, machine -> runner[0].stop(), null));
        assertEquals(130, runner[0].run("--kernel", kernel.toString(), "--initrd", "none"));
    }
}
