package org.vireo.vmm;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.vireo.vmm.api.VmConsoleSession;
import org.vireo.vmm.api.VmState;
import org.vireo.x86.boot.BootPlan;

/** The VM state machine over the real VmRunner, with a scripted vCPU in place of the emulator. */
public class ManagedVmTest {
    private static final long GUARD_MS = 30_000;

    @Rule
    public TemporaryFolder folder = new TemporaryFolder();

    private Path kit;
    private final List<VmState> changes = new CopyOnWriteArrayList<>();

    @Before
    public void kit() throws Exception {
        kit = folder.newFolder("kit").toPath();
        Files.write(kit.resolve("bzImage"), TestImages.bzImage(new byte[16]));
    }

    /** Runs {@code guest} on the machine, then returns {@code exit}, or (null) waits for stop. */
    private record ScriptedVcpu(X86Machine machine, Consumer<X86Machine> guest, Exit exit, CountDownLatch stopped) implements Vcpu {
        ScriptedVcpu(X86Machine machine, Consumer<X86Machine> guest, Exit exit) { this(machine, guest, exit, new CountDownLatch(1)); }

        @Override public void load(BootPlan plan) { }

        @Override
        public Exit run() {
            guest.accept(machine);
            if (exit != null) return exit;
            try {
                if (!stopped.await(GUARD_MS, TimeUnit.MILLISECONDS)) throw new IllegalStateException("never stopped");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return Exit.STOPPED;
        }

        @Override public void stop() { stopped.countDown(); }

        @Override public String describe() { return "scripted"; }
    }

    private ManagedVm vm(Consumer<X86Machine> guest, Vcpu.Exit exit) throws Exception {
        VmSpec spec = VmSpec.from(Map.of("machine.name", "t1", "memory.mib", 32, "initrd", "none"));
        return new ManagedVm(spec, kit, (options, console, keyboard) -> {
            VmRunner runner = new VmRunner(console, console, keyboard, m -> new ScriptedVcpu(m, guest, exit));
            runner.setMachineName(spec.name());
            runner.setHostTerminal(false);
            return new ManagedVm.Run() {
                @Override public int run() { return runner.run(options); }

                @Override public void stop() { runner.stop(); }

                @Override public boolean pressPowerButton() { return runner.pressPowerButton(); }
            };
        }, changes::add);
    }

    private static void print(X86Machine m, String s) {
        for (byte b : s.getBytes(StandardCharsets.US_ASCII)) m.pio().write(0x3f8, 1, b);
    }

    private static String text(byte[] b) { return new String(b, StandardCharsets.US_ASCII); }

    @Test
    public void aRebootEndsStoppedWithTheOutputBuffered() throws Exception {
        ManagedVm vm = vm(m -> {
            print(m, "hello VM\n");
            m.pio().write(0x64, 1, 0xfe);
        }, null);
        assertEquals(VmState.NEW, vm.state());
        vm.start();
        assertTrue("the run never ended", vm.awaitNotRunning(GUARD_MS));
        assertEquals(text(vm.consoleOutput()), VmState.STOPPED, vm.state());
        assertTrue(text(vm.consoleOutput()).contains("hello VM"));
        assertEquals(List.of(VmState.RUNNING, VmState.STOPPED), changes);
        assertTrue(vm.describe(), vm.describe().contains("STOPPED"));
    }

    @Test
    public void aGuestErrorEndsFailedAndTheVmCanStartAgain() throws Exception {
        ManagedVm vm = vm(m -> print(m, "oops\n"), Vcpu.Exit.TRIPLE_FAULT);
        vm.start();
        assertTrue(vm.awaitNotRunning(GUARD_MS));
        assertEquals(VmState.FAILED, vm.state());
        vm.start();
        assertTrue(vm.awaitNotRunning(GUARD_MS));
        assertEquals(List.of(VmState.RUNNING, VmState.FAILED, VmState.RUNNING, VmState.FAILED), changes);
    }

    @Test
    public void stopEndsARunningGuestAndStartTwiceIsRefused() throws Exception {
        CountDownLatch running = new CountDownLatch(1);
        ManagedVm vm = vm(m -> running.countDown(), null);
        vm.start();
        assertTrue(running.await(GUARD_MS, TimeUnit.MILLISECONDS));
        assertEquals(VmState.RUNNING, vm.state());
        try {
            vm.start();
            fail("started twice");
        } catch (IllegalStateException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("already running"));
        }
        vm.stop();
        assertEquals(VmState.STOPPED, vm.state());
    }

    @Test
    public void anAttachedConsoleGetsTheBufferThenNewOutputAndSendsKeys() throws Exception {
        LinkedBlockingQueue<Integer> received = new LinkedBlockingQueue<>();
        CountDownLatch attached = new CountDownLatch(1);
        CountDownLatch printedFirst = new CountDownLatch(1);
        ManagedVm vm = vm(m -> {
            print(m, "before\n");
            printedFirst.countDown();
            try {
                if (!attached.await(GUARD_MS, TimeUnit.MILLISECONDS)) return;
            } catch (InterruptedException e) {
                return;
            }
            print(m, "after\n");
            // the guest reads the key from COM1's receive buffer
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(GUARD_MS); // failure guard only
            while ((m.pio().read(0x3fd, 1) & 1) == 0 && System.nanoTime() < deadline) Thread.onSpinWait();
            received.add((int) m.pio().read(0x3f8, 1));
            m.pio().write(0x64, 1, 0xfe);
        }, null);
        vm.start();
        assertTrue(printedFirst.await(GUARD_MS, TimeUnit.MILLISECONDS));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        VmConsoleSession session = vm.attachConsole(out);
        assertTrue(text(out.toByteArray()).contains("before\n"));
        session.send(new byte[] {'k'}, 0, 1);
        attached.countDown();
        assertTrue(vm.awaitNotRunning(GUARD_MS));
        session.close();
        String seen = text(out.toByteArray());
        assertTrue(seen, seen.indexOf("before") < seen.indexOf("after"));
        assertEquals(seen, 1, seen.split("before", -1).length - 1);
        assertEquals(Integer.valueOf('k'), received.poll(GUARD_MS, TimeUnit.MILLISECONDS));
    }

    @Test
    public void theBufferKeepsTheNewestBytes() {
        ConsoleBuffer b = new ConsoleBuffer(4);
        for (byte c : "abcdef".getBytes(StandardCharsets.US_ASCII)) b.write(c);
        assertArrayEquals("cdef".getBytes(StandardCharsets.US_ASCII), b.snapshot());
        ConsoleBuffer small = new ConsoleBuffer(8);
        small.write('x');
        assertArrayEquals(new byte[] {'x'}, small.snapshot());
    }

    /** A guest that waits (bounded) for the ACPI power button's status bit, then powers off through S5. */
    private static void powerOffOnTheButton(X86Machine m) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(GUARD_MS);
        while ((m.pio().read(org.vireo.x86.platform.AcpiPm.PM1_EVT, 2) & 1 << 8) == 0) {
            if (System.nanoTime() > deadline) throw new IllegalStateException("no power button");
            Thread.onSpinWait();
        }
        m.pio().write(org.vireo.x86.platform.AcpiPm.PM1_CNT, 2, org.vireo.x86.platform.AcpiPm.S5_SLP_TYP << 10 | 1 << 13);
    }

    @Test
    public void shutdownPressesThePowerButtonAndAGuestThatPowersOffEndsStopped() throws Exception {
        CountDownLatch running = new CountDownLatch(1);
        ManagedVm vm = vm(m -> {
            running.countDown();
            powerOffOnTheButton(m);
        }, null);
        vm.start();
        assertTrue(running.await(GUARD_MS, TimeUnit.MILLISECONDS));
        assertTrue("the guest powered off by itself", vm.shutdown(GUARD_MS));
        assertEquals(VmState.STOPPED, vm.state());
        assertTrue(vm.describe(), vm.describe().contains("exit code 0"));
        assertFalse("nothing to shut down any more", vm.shutdown(0));
    }

    @Test
    public void shutdownStopsAGuestThatIgnoresThePowerButtonAfterTheGracePeriod() throws Exception {
        CountDownLatch running = new CountDownLatch(1);
        ManagedVm vm = vm(m -> running.countDown(), null);
        vm.start();
        assertTrue(running.await(GUARD_MS, TimeUnit.MILLISECONDS));
        assertFalse(vm.shutdown(100));
        assertEquals(VmState.STOPPED, vm.state());
        assertTrue(vm.describe(), vm.describe().contains("exit code " + VmRunner.EXIT_STOPPED));
    }
}
