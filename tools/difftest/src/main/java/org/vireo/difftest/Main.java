package org.vireo.difftest;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** Command line of the differential tester; {@code --help} explains it. Exit status 0 = no divergence, 1 = divergence, 2 = error. */
public final class Main {
    static final String HELP = """
            Usage: tools/difftest/run.sh [options]

            Finds the first instruction where Vireo's x86-64 CPU emulator and QEMU TCG (the reference, driven through
            its gdbstub on 127.0.0.1) disagree, by single-stepping both from the same state and comparing the general
            registers, rip, rflags (minus flags the architecture leaves undefined for that instruction), segment
            selectors, fs/gs bases, control registers, EFER and XMM registers after every instruction.

            What to run (one of):
              --program NAME       a built-in test program (see --list), or "all"; compared from its first 64-bit
                                   instruction, memory (data area, stack page) compared at the end
              --binary FILE        raw 64-bit code, loaded at 0x10000 behind the built-in long-mode prologue
                                   (identity-mapped first GiB, stack at 0x80000, data pattern at 0x20000); runs to HLT
              --raw FILE@ADDR      raw real-mode code loaded at ADDR (hex) and started there with CS=0: lockstep from
                                   the very first instruction
              --break ADDR         no image: QEMU boots normally (firmware, plus --qemu-arg -kernel ... etc.) until RIP
                                   reaches ADDR (hex, e.g. a kernel's 64-bit entry); then its whole RAM (pmemsave)
                                   and state (registers, descriptor caches, GDT/IDT) are copied into Vireo and the
                                   comparison starts there. Port input, CPUID, RDTSC, RDMSR and RDRAND results are
                                   copied from QEMU instead of compared (Vireo has no devices here).
            Options:
              --list               list the built-in programs
              --lockstep-prologue  with --program/--binary: compare from the real-mode prologue on (mode switches too)
              --memory MIB         guest RAM (default 32; 512 with --break)
              --cpu MODEL          QEMU -cpu model (default qemu64)
              --qemu-arg ARG       extra QEMU argument, repeatable (e.g. --qemu-arg -kernel --qemu-arg vmlinuz)
              --qemu PATH          QEMU binary (default qemu-system-x86_64; apt-get install qemu-system-x86)
              --max-steps N        compare at most N instructions (default 1000000)
              --stop-at ADDR       end successfully when RIP reaches ADDR (hex)
              --no-stop-at-hlt     step over HLT instead of ending there
              --strict-flags       compare architecturally undefined flags as well
              --no-vector          do not compare XMM registers and MXCSR
              --no-system          do not compare fs/gs bases, CR0-CR4, CR8, EFER
              --ignore R1,R2       never compare these registers (names as printed, e.g. mxcsr,xmm0_lo)
              --context N          instructions of history printed with a divergence (default 8)
              --timeout SECONDS    how long QEMU may run to --break (default 120)
              --work DIR           where QEMU's command line, log and serial output go (default: a temp dir, kept on failure)
              --help               this text
            """;

    private Main() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    static int run(String[] args, PrintStream out, PrintStream err) {
        try {
            return execute(args, out);
        } catch (UsageException e) {
            err.println("difftest: " + e.getMessage());
            err.println("try --help");
            return 2;
        } catch (IOException | RuntimeException e) {
            err.println("difftest: " + e);
            return 2;
        }
    }

    static final class UsageException extends Exception {
        UsageException(String m) { super(m); }
    }

    private static void deleteTree(Path dir) throws IOException {
        try (var paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }

    private static long hex(String s) throws UsageException {
        try {
            return Long.parseUnsignedLong(s.startsWith("0x") || s.startsWith("0X") ? s.substring(2) : s, 16);
        } catch (NumberFormatException e) {
            throw new UsageException("not a hex address: " + s);
        }
    }

    private static int execute(String[] args, PrintStream out) throws UsageException, IOException {
        String program = null, binary = null, raw = null, cpu = "qemu64", qemuExe = "qemu-system-x86_64";
        long breakAt = -1, memoryMiB = -1, timeout = 120;
        boolean lockstepPrologue = false;
        Path work = null;
        List<String> qemuArgs = new ArrayList<>();
        DiffEngine.Config cfg = DiffEngine.Config.defaults();
        boolean stopAtHlt = true;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--help") || a.equals("-h")) {
                out.print(HELP);
                return 0;
            }
            if (a.equals("--list")) {
                for (TestPrograms.Program p : TestPrograms.all()) out.printf("%-8s %s%n", p.name(), p.description());
                return 0;
            }
            String v = switch (a) {
                case "--program", "--binary", "--raw", "--break", "--memory", "--cpu", "--qemu-arg", "--qemu",
                     "--max-steps", "--stop-at", "--context", "--timeout", "--work", "--ignore" -> {
                    if (i + 1 >= args.length) throw new UsageException(a + " needs a value");
                    yield args[++i];
                }
                default -> null;
            };
            switch (a) {
                case "--program" -> program = v;
                case "--binary" -> binary = v;
                case "--raw" -> raw = v;
                case "--break" -> breakAt = hex(v);
                case "--memory" -> memoryMiB = Long.parseLong(v);
                case "--cpu" -> cpu = v;
                case "--qemu-arg" -> qemuArgs.add(v);
                case "--qemu" -> qemuExe = v;
                case "--max-steps" -> cfg = cfg.withMaxSteps(Long.parseLong(v));
                case "--stop-at" -> cfg = cfg.withStopAddress(hex(v));
                case "--context" -> cfg = cfg.withContext(Integer.parseInt(v));
                case "--ignore" -> {
                    Set<String> names = new HashSet<>(cfg.ignored());
                    for (String n : v.split(",")) {
                        if (!RegisterSet.ALL.contains(n.trim())) throw new UsageException("no register " + n + " (names: " + RegisterSet.ALL + ")");
                        names.add(n.trim());
                    }
                    cfg = cfg.withIgnored(names);
                }
                case "--timeout" -> timeout = Long.parseLong(v);
                case "--work" -> work = Path.of(v);
                case "--lockstep-prologue" -> lockstepPrologue = true;
                case "--no-stop-at-hlt" -> stopAtHlt = false;
                case "--strict-flags" -> cfg = cfg.withStrictFlags(true);
                case "--no-vector" -> cfg = cfg.withVector(false);
                case "--no-system" -> cfg = cfg.withSystem(false);
                default -> throw new UsageException("unknown option " + a);
            }
        }
        if (!stopAtHlt) cfg = cfg.withStopAtHlt(false);
        int modes = (program != null ? 1 : 0) + (binary != null ? 1 : 0) + (raw != null ? 1 : 0) + (breakAt >= 0 && raw == null ? 1 : 0);
        if (modes != 1) throw new UsageException("give exactly one of --program, --binary, --raw, --break");
        if (!QemuTarget.available(qemuExe)) {
            throw new UsageException(qemuExe + " not found: apt-get install qemu-system-x86 (or pass --qemu PATH)");
        }
        boolean ownWork = work == null;
        if (ownWork) work = Files.createTempDirectory("difftest");
        long mem = (memoryMiB > 0 ? memoryMiB : breakAt >= 0 && raw == null ? 512 : 32) << 20;
        QemuTarget.Options q = new QemuTarget.Options(qemuExe, mem, cpu, qemuArgs, Duration.ofSeconds(30), work);

        List<DiffSession.Plan> plans = new ArrayList<>();
        if (program != null) {
            List<TestPrograms.Program> ps = program.equals("all") ? TestPrograms.all() : List.of(TestPrograms.byName(program));
            for (TestPrograms.Program p : ps) {
                plans.add(DiffSession.Plan.forBody(p.name(), p.body(), q.withMemory(mem), lockstepPrologue ? -1 : TestPrograms.BODY));
            }
        } else if (binary != null) {
            byte[] code = Files.readAllBytes(Path.of(binary));
            plans.add(DiffSession.Plan.forBody(binary, code, q, lockstepPrologue ? -1 : TestPrograms.BODY));
        } else if (raw != null) {
            int at = raw.lastIndexOf('@');
            if (at < 0) throw new UsageException("--raw wants FILE@ADDR");
            long addr = hex(raw.substring(at + 1));
            if (addr > 0xffff) throw new UsageException("--raw address must be below 0x10000 (real mode, CS=0)");
            GuestImage img = new GuestImage().add(addr, Files.readAllBytes(Path.of(raw.substring(0, at))), "raw binary");
            plans.add(new DiffSession.Plan(raw, q, img, addr, breakAt, Duration.ofSeconds(timeout), List.of(), cfg, null));
        } else {
            plans.add(new DiffSession.Plan("boot to 0x" + Long.toHexString(breakAt), q, null, 0, breakAt,
                    Duration.ofSeconds(timeout), List.of(), cfg, null));
        }
        boolean allPassed = true;
        for (DiffSession.Plan p : plans) {
            DiffEngine.StepHook progress = (step, vireo) -> {
                if (step > 0 && step % 100_000 == 0) System.err.printf("  ... %d instructions compared%n", step);
            };
            DiffSession.Report r = DiffSession.run(p.withEngine(cfg).withHook(progress));
            out.print(r.text());
            out.flush();
            allPassed &= r.passed();
        }
        if (ownWork && allPassed) deleteTree(work);
        else out.println("QEMU command line, log and serial output: " + work);
        return allPassed ? 0 : 1;
    }
}
