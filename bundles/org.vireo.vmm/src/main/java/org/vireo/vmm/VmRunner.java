package org.vireo.vmm;

import org.vireo.bus.pci.PcieRootPort;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import org.vireo.x86.boot.BootException;
import org.vireo.x86.boot.BootPlan;
import org.vireo.x86.boot.LinuxLoader;
import org.vireo.x86.platform.Uart16550;

/**
 * {@code vireo run}: builds an {@link X86Machine}, loads Linux, puts COM1 on the terminal and runs the vCPU on its
 * own thread until the guest reboots (i8042 reset, port 0x92, or the triple fault Linux falls back to), powers off,
 * panics, the user quits with Ctrl-A x, or the timeout passes. The virtio devices of the options are plugged onto the
 * machine's PCI bus before the vCPU starts, through a {@link MachineWiring}: {@link OsgiWiring} inside the framework,
 * {@link DirectWiring} otherwise. Also runnable without OSGi through {@link #main}.
 */
public final class VmRunner {
    public static final int EXIT_OK = 0, EXIT_ERROR = 1, EXIT_USAGE = 2, EXIT_TIMEOUT = 124, EXIT_STOPPED = 130;

    /** How a run ended; the first reason recorded wins. */
    record Outcome(int exitCode, String message) {}

    private final PrintStream console;
    private final PrintStream log;
    private final InputStream keyboard;
    private final Function<X86Machine, Vcpu> cpuFactory;
    private final AtomicReference<Outcome> outcome = new AtomicReference<>();
    private volatile MachineWiring wiring;
    private volatile java.util.function.Supplier<DeviceKinds> kinds = DeviceKinds::fromClassPath;
    private volatile Vcpu vcpu;
    /** The running machine's ACPI PM registers, while a guest with ACPI runs (for the power button). */
    private volatile org.vireo.x86.platform.AcpiPm powerButton;
    private volatile boolean restarting;
    private volatile boolean poweringOff;
    private volatile boolean acpi;
    private volatile Thread powerOffGrace;
    /** How long after "reboot: Power down" a guest with ACPI has to reach S5 before the run ends anyway. */
    static final long POWER_OFF_GRACE_MILLIS = 5000;
    private volatile String machineName = RunCommandComponent.MACHINE_NAME;
    private volatile boolean hostTerminal = true;

    /** The guest console on this process's standard streams, with the CPU emulator. */
    public VmRunner() {
        this(System.out, System.err, System.in, EmulatedVcpu::new);
    }

    /** The guest console and the runner's messages to the given streams, no keyboard, the CPU emulator (e.g. tests). */
    public VmRunner(PrintStream console, PrintStream log) {
        this(console, log, null, EmulatedVcpu::new);
    }

    VmRunner(PrintStream console, PrintStream log, InputStream keyboard, Function<X86Machine, Vcpu> cpuFactory) {
        this.console = console;
        this.log = log;
        this.keyboard = keyboard;
        this.cpuFactory = cpuFactory;
    }

    public static void main(String[] args) {
        System.exit(new VmRunner().run(args));
    }

    /** Parses {@code args}, runs the VM, and returns the process exit code. */
    public int run(String... args) {
        VmOptions options;
        DeviceKinds known = kinds.get();
        try {
            options = VmOptions.parse(VmOptions.guestKit(), known, args);
        } catch (VmOptions.UsageException e) {
            if (e.getMessage() == null) {
                console.println(VmOptions.usage(known));
                return EXIT_OK;
            }
            log.println("vireo: " + e.getMessage());
            log.println(VmOptions.usage(known));
            return EXIT_USAGE;
        }
        return run(options);
    }

    /** Asks a running VM to stop (e.g. the framework is shutting down); the run returns {@link #EXIT_STOPPED}. */
    public void stop() { finish(EXIT_STOPPED, "stopped from outside"); }

    /**
     * Presses the ACPI power button of the running guest (PWRBTN_STS and an SCI): a guest that handles it (systemd's
     * logind, acpid) powers off, which ends the run with exit code 0. False when no guest with ACPI is running.
     */
    public boolean pressPowerButton() {
        org.vireo.x86.platform.AcpiPm pm = powerButton;
        if (pm == null) return false;
        pm.pressPowerButton();
        return true;
    }

    int run(VmOptions options) {
        long started = System.nanoTime();
        GuestConsole serial = new GuestConsole(console, this::consoleEvent);
        acpi = options.guestAcpi();
        powerOffGrace = null;
        memoryReport = null;
        try (X86Machine machine = new X86Machine(machineName, options.memory(), serial,
                () -> finish(EXIT_OK, "the guest reset the machine (reboot)"),
                () -> finish(EXIT_OK, "the guest powered off (ACPI S5)"), acpi, options.guestApic())) {
            if (options.hotplugSlot()) machine.addHotplugSlot();   // before the kernel scans PCI
            BootPlan plan;
            try {
                plan = LinuxLoader.load(machine.memory(), options.kernel(), options.initrd(), options.kernelCommandLine(),
                        acpi ? X86Machine.ACPI_TABLES : 0, options.kernelEntry().unpack);
            } catch (BootException e) {
                log.println("vireo: cannot boot " + options.kernel() + ": " + e.getMessage());
                return EXIT_ERROR;
            }
            log.printf("vireo: %d MiB, %s%n", options.memory() >> 20, plan.description());
            Vcpu cpu;
            try {
                cpu = options.accel() == VmOptions.Accelerator.KVM ? new KvmBackedVcpu(machine) : cpuFactory.apply(machine);
            } catch (RuntimeException e) {
                log.println("vireo: " + e.getMessage());
                return EXIT_ERROR;
            }
            vcpu = cpu;
            cpu.load(plan);
            if (options.stats()) {
                if (cpu instanceof EmulatedVcpu e) e.enableStats();
                else log.println("vireo: --stats reports on the CPU emulator only");
            }
            MachineWiring w = wiring != null ? wiring : new DirectWiring();
            MachineWiring.Wired wired;
            try {
                wired = w.wire(machine, options.devices(), options.transport().property(), options.ring(), console);
            } catch (MachineWiring.WiringException e) {
                log.println("vireo: " + e.getMessage());
                return EXIT_ERROR;
            }
            String where = options.transport() == VmOptions.Transport.MMIO ? " (virtio-mmio)" : "";
            for (DeviceSpec d : options.devices()) log.printf("vireo: %s%s%n", d.describe(), where);
            if (acpi) {
                // After the devices: the DSDT routes the INTx pins of the functions plugged now.
                org.vireo.x86.acpi.AcpiTables.Image tables = machine.writeAcpiTables();
                log.printf("vireo: ACPI tables at 0x%x (%d bytes: RSDP, XSDT, FADT, FACS, DSDT%s), PM registers at 0x%x, SCI on IRQ %d%n",
                        tables.base(), tables.bytes().length, tables.madt() != 0 ? ", MADT: local APIC, IOAPIC" : "",
                        org.vireo.x86.platform.AcpiPm.BASE, org.vireo.x86.platform.AcpiPm.SCI_IRQ);
            }
            try (HostTerminal terminal = hostTerminal ? HostTerminal.rawIfInteractive() : HostTerminal.untouched()) {
                Thread input = startKeyboard(machine.platform().com1(), terminal.raw());
                machine.platform().startTimer();
                if (acpi) powerButton = machine.platform().acpiPm();
                Thread thread = new Thread(() -> {
                    try {
                        wired.vcpuStarting();
                    } catch (RuntimeException e) {   // only a notice: the guest runs anyway
                        log.println("vireo: telling that the vCPU starts failed: " + e);
                    }
                    runCpu(cpu);
                }, "vireo-vcpu0");
                Thread sampler = options.stats() ? startSampler(cpu) : null;
                thread.start();
                join(thread, options.timeoutSeconds());
                if (options.stats()) memoryReport = memoryReport(machine.memory().residentBytes(), options.memory());
                powerButton = null;
                if (sampler != null) sampler.interrupt();
                Thread grace = powerOffGrace;
                if (grace != null) grace.interrupt();
                machine.hotplugSlot().ifPresent(PcieRootPort::guestStopped);   // unplugs below need not wait for the guest
                if (input != null) input.interrupt();
            } finally {
                try {
                    wired.close(); // the devices leave before the machine (and its memory) goes
                } catch (Exception e) {
                    log.println("vireo: unplugging the devices failed: " + e);
                }
                cpu.close();
            }
        } catch (Exception e) {
            finish(EXIT_ERROR, "the machine failed: " + e);
        }
        Outcome o = outcome.get();
        if (o == null) o = new Outcome(EXIT_ERROR, "the vCPU stopped for no reason");
        double seconds = (System.nanoTime() - started) / 1e9;
        Vcpu cpu = vcpu;
        long retired = cpu == null ? -1 : cpu.instructionsRetired();
        String speed = retired < 0 ? "" : String.format(" (%,d guest instructions, %.0f MIPS over the run)", retired, retired / seconds / 1e6);
        log.printf("%nvireo: %s after %.1f s%s; exit code %d%n", o.message(), seconds, speed, o.exitCode());
        if (options.stats() && cpu instanceof EmulatedVcpu e) printStats(e);
        if (memoryReport != null) log.println(memoryReport);
        return o.exitCode();
    }

    private String memoryReport;

    /**
     * --stats: what the run cost the host in memory, taken before the guest RAM is released: the guest pages the
     * host holds (touched by the guest and not given back), the process's RSS now and at its peak, and the
     * difference, which is the VMM's own cost (JVM, heap, compiled code, device buffers).
     */
    private static String memoryReport(long guestResident, long guestBytes) {
        long rss = procStatusKib("VmRSS:"), peak = procStatusKib("VmHWM:");
        String guest = guestResident < 0 ? "unknown" : String.format("%d MiB", guestResident >> 20);
        if (rss < 0) return String.format("vireo: memory: guest RAM in host memory %s of %d MiB", guest, guestBytes >> 20);
        String own = guestResident < 0 ? "" : String.format("; Vireo's own %d MiB", (rss * 1024 - guestResident) >> 20);
        return String.format("vireo: memory: guest RAM in host memory %s of %d MiB; process RSS %d MiB (peak %d MiB)%s",
                guest, guestBytes >> 20, rss >> 10, peak >> 10, own);
    }

    /** A "Name:   N kB" line of /proc/self/status in KiB, or -1 off Linux. */
    private static long procStatusKib(String name) {
        try {
            for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/status"))) {
                if (line.startsWith(name)) return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        } catch (java.io.IOException | RuntimeException e) {
            // not Linux: the report leaves the process figures out
        }
        return -1;
    }

    /** --stats: guest instructions retired at the end of each 5-second interval of the run. */
    private final java.util.List<Long> samples = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
    private static final int SAMPLE_SECONDS = 5;

    private Thread startSampler(Vcpu cpu) {
        samples.clear();
        Thread t = new Thread(() -> {
            long next = System.nanoTime();
            try {
                while (true) {
                    next += SAMPLE_SECONDS * 1_000_000_000L;
                    long wait = next - System.nanoTime();
                    if (wait > 0) Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                    samples.add(cpu.instructionsRetired());   // a racy read of a counter: good enough for a timeline
                }
            } catch (InterruptedException e) {
                // the run is over
            }
        }, "vireo-stats");
        t.setDaemon(true);
        t.start();
        return t;
    }

    private void printStats(EmulatedVcpu cpu) {
        StringBuilder timeline = new StringBuilder();
        long previous = 0;
        synchronized (samples) {
            for (long n : samples) {
                timeline.append(String.format(" %.0f", (n - previous) / (SAMPLE_SECONDS * 1e6)));
                previous = n;
            }
        }
        log.println("vireo: --stats");
        log.println("MIPS per " + SAMPLE_SECONDS + " s:" + (timeline.isEmpty() ? " (run shorter than " + SAMPLE_SECONDS + " s)" : timeline));
        log.println(cpu.statsReport());
    }

    private void join(Thread thread, long timeoutSeconds) {
        try {
            if (timeoutSeconds > 0) {
                thread.join(timeoutSeconds * 1000);
                if (thread.isAlive()) finish(EXIT_TIMEOUT, "timed out after " + timeoutSeconds + " s");
            }
            thread.join();
        } catch (InterruptedException e) {
            finish(EXIT_STOPPED, "interrupted");
            Thread.currentThread().interrupt();
            try {
                thread.join(5000);
            } catch (InterruptedException again) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void runCpu(Vcpu cpu) {
        try {
            switch (cpu.run()) {
                case STOPPED -> finish(EXIT_ERROR, "the vCPU stopped");     // only if nobody said why
                case TRIPLE_FAULT -> {
                    if (restarting) finish(EXIT_OK, "the guest rebooted (triple fault after \"Restarting system\")");
                    else finish(EXIT_ERROR, "the guest triple-faulted\n" + cpu.describe());
                }
                case HALTED -> {
                    if (poweringOff) finish(EXIT_OK, "the guest powered off");
                    else finish(EXIT_ERROR, "the vCPU halted with interrupts disabled (the guest hung)\n" + cpu.describe());
                }
            }
        } catch (Throwable e) {       // the top of the vCPU thread: anything, even an Error, ends the run with a reason
            finish(EXIT_ERROR, "the CPU emulator failed: " + e + describeSafely(cpu));
            e.printStackTrace(log);
        }
    }

    private static String describeSafely(Vcpu cpu) {
        try {
            return "\n" + cpu.describe();
        } catch (RuntimeException e) {
            return "";
        }
    }

    private void consoleEvent(GuestConsole.Event event) {
        switch (event) {
            case RESTARTING -> restarting = true;
            case POWER_OFF -> {
                poweringOff = true;
                if (!acpi) {
                    finish(EXIT_OK, "the guest powered off");
                    return;
                }
                // With ACPI the guest's next step is S5 in PM1a control, which ends the run; a guest that halts
                // instead ends it when its vCPU halts, and one that does neither (KVM halts in the kernel) after a while.
                if (powerOffGrace != null) return;
                powerOffGrace = Thread.ofVirtual().name("vireo-poweroff-grace").start(() -> {
                    try {
                        Thread.sleep(POWER_OFF_GRACE_MILLIS);
                    } catch (InterruptedException e) {
                        return;                 // the run ended first
                    }
                    finish(EXIT_OK, "the guest powered off");
                });
            }
            case PANIC_END -> finish(EXIT_ERROR, "the guest kernel panicked");
        }
    }

    /** The name the machine has (its Machine service's {@code machine.name}); "vm" unless set. */
    void setMachineName(String name) { this.machineName = name; }

    /** Whether the run may put this process's terminal into raw mode (not for a VM whose console is elsewhere). */
    void setHostTerminal(boolean use) { this.hostTerminal = use; }

    /** Where the device kinds come from: the class path unless set (the framework's component sets the services). */
    void setDeviceKinds(java.util.function.Supplier<DeviceKinds> kinds) { this.kinds = kinds; }

    /** Replaces the plain-Java device wiring (the framework's component sets {@link OsgiWiring}). */
    void setWiring(MachineWiring wiring) { this.wiring = wiring; }

    /** Records why the run ends (first caller wins) and stops the vCPU. */
    private void finish(int exitCode, String message) {
        outcome.compareAndSet(null, new Outcome(exitCode, message));
        Vcpu cpu = vcpu;
        if (cpu != null) cpu.stop();
    }

    /**
     * Copies the keyboard into COM1 through the Ctrl-A escapes; null when there is no keyboard. Two threads, so the
     * escapes work even while the guest is not reading its serial port: one reads keys and handles escapes, the other
     * waits for room in the UART.
     */
    private Thread startKeyboard(Uart16550 com1, boolean rawTerminal) {
        if (keyboard == null) return null;
        ConsoleEscape escape = new ConsoleEscape(new ConsoleEscape.Actions() {
            @Override public void quit() { finish(EXIT_OK, "quit from the console (Ctrl-A x)"); }
            @Override public void help() { log.print(ConsoleEscape.HELP); }
        });
        LinkedBlockingQueue<Integer> keys = new LinkedBlockingQueue<>();
        Thread feeder = new Thread(() -> {
            try {
                while (true) com1.put(keys.take());
            } catch (InterruptedException e) {
                // the run is over
            }
        }, "vireo-console-feed");
        Thread reader = new Thread(() -> {
            try {
                int b;
                while ((b = keyboard.read()) >= 0 && !Thread.currentThread().isInterrupted()) {
                    for (byte out : escape.feed(b)) keys.add(out & 0xff);
                }
            } catch (IOException e) {
                // end of input
            }
        }, "vireo-console-input") {
            @Override
            public void interrupt() {
                feeder.interrupt();
                super.interrupt();
            }
        };
        feeder.setDaemon(true);
        reader.setDaemon(true);
        feeder.start();
        reader.start();
        if (rawTerminal) log.println("vireo: console on this terminal; Ctrl-A x quits");
        return reader;
    }
}
