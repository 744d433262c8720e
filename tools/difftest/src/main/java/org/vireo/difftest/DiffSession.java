package org.vireo.difftest;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * One differential run: starts QEMU, builds a Vireo CPU with the same RAM size, brings both to the same state, lets
 * {@link DiffEngine} step them, then compares chosen memory. Two ways to the common start:
 * <ul>
 *   <li>an image (test program or raw binary) loaded into both, QEMU's CPU pointed at a real-mode entry (CS = 0);
 *       comparison starts there ({@code syncAt} = -1) or at a later address QEMU first runs to;</li>
 *   <li>no image: QEMU boots whatever its arguments say (firmware, -kernel) up to {@code syncAt}.</li>
 * </ul>
 * At a sync point all of QEMU's RAM (pmemsave) and state (gdbstub registers, monitor descriptor caches) are copied
 * into Vireo.
 */
public final class DiffSession {
    /**
     * @param image        loaded into both at the start; null to let QEMU boot normally
     * @param realModeIp   with an image: the real-mode IP (CS = 0) where both start
     * @param syncAt       run QEMU alone to this address and copy its RAM and state into Vireo; -1: compare from the start
     * @param runTimeout   how long QEMU may take to reach {@code syncAt}
     * @param memory       ranges ({start, length}) compared once the run ends without a register divergence
     */
    public record Plan(String name, QemuTarget.Options qemu, GuestImage image, long realModeIp, long syncAt,
                       Duration runTimeout, List<long[]> memory, DiffEngine.Config engine, DiffEngine.StepHook hook) {
        /** A built-in program, compared from its first body instruction (the prologue runs in QEMU only). */
        public static Plan program(TestPrograms.Program p, QemuTarget.Options qemu) {
            return forBody(p.name(), p.body(), qemu, TestPrograms.BODY);
        }

        /** 64-bit code behind the built-in prologue; {@code syncAt} = -1 compares the prologue too. */
        public static Plan forBody(String name, byte[] body, QemuTarget.Options qemu, long syncAt) {
            return new Plan(name, qemu, TestPrograms.image(body), TestPrograms.PROLOGUE, syncAt, Duration.ofSeconds(60),
                    TestPrograms.memoryToCompare(), DiffEngine.Config.defaults(), null);
        }

        public Plan withEngine(DiffEngine.Config c) {
            return new Plan(name, qemu, image, realModeIp, syncAt, runTimeout, memory, c, hook);
        }

        public Plan withHook(DiffEngine.StepHook h) {
            return new Plan(name, qemu, image, realModeIp, syncAt, runTimeout, memory, engine, h);
        }
    }

    /** The outcome; {@link #text()} is the human-readable report. */
    public record Report(String name, DiffEngine.Result result, List<String> memoryDifferences, String text, long millis) {
        public boolean passed() { return !result.diverged() && memoryDifferences.isEmpty(); }
    }

    private DiffSession() {
    }

    public static Report run(Plan plan) throws IOException {
        long t0 = System.nanoTime();
        try (QemuTarget qemu = QemuTarget.launch(plan.qemu());
             VireoAdapter vireo = new VireoAdapter(plan.qemu().memoryBytes())) {
            if (plan.image() != null) {
                for (GuestImage.Chunk c : plan.image().chunks()) {
                    qemu.writePhysical(c.address(), c.data());
                    vireo.write(c.address(), c.data());
                }
                qemu.setRegister("cs", 0);       // real mode: base 0
                qemu.setRegister("rip", plan.realModeIp());
            }
            if (plan.syncAt() >= 0) {
                qemu.runTo(plan.syncAt(), plan.runTimeout());
                Path ram = qemu.saveRam(plan.qemu().memoryBytes());
                vireo.loadRam(ram);
                Files.delete(ram);     // as big as guest RAM; no longer needed
            }
            vireo.load(qemu.machineState());
            DiffEngine.Result r = new DiffEngine(plan.engine(), plan.hook()).run(qemu, vireo);
            List<String> mem = r.diverged() || plan.memory().isEmpty() ? List.of()
                    : DiffEngine.compareMemory(qemu, vireo, plan.memory());
            long ms = (System.nanoTime() - t0) / 1_000_000;
            return new Report(plan.name(), r, mem, format(plan, r, mem, ms), ms);
        }
    }

    static String format(Plan plan, DiffEngine.Result r, List<String> mem, long ms) {
        StringBuilder b = new StringBuilder();
        b.append(String.format("%s: %d instructions compared in %d ms, ended: %s%n", plan.name(), r.steps(), ms, r.end()));
        if (r.undefinedFlagsAdopted() > 0) {
            b.append("  undefined flags differed (QEMU's copied over) after ").append(r.undefinedFlagsAdopted()).append(" instructions\n");
        }
        if (!r.resynced().isEmpty()) b.append("  handled specially (registers copied from QEMU after / retries): ").append(r.resynced()).append('\n');
        if (r.diverged()) b.append(r.divergence().format(Disassembler.system()));
        if (!mem.isEmpty()) {
            b.append("MEMORY DIFFERS at the end (first ").append(mem.size()).append(" bytes):\n");
            for (String m : mem) b.append(m).append('\n');
        }
        if (!r.diverged() && mem.isEmpty()) b.append("  no divergence\n");
        return b.toString();
    }
}
