package org.vireo.difftest;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Steps QEMU and Vireo one instruction at a time from the same state and stops at the first instruction after
 * which their registers differ (modulo flags the architecture leaves undefined for that instruction).
 */
public final class DiffEngine {
    /**
     * @param maxSteps        instructions to compare at most
     * @param context         instructions of history to show with a divergence
     * @param stopAtHlt       end (successfully) when the next instruction is HLT
     * @param stopAddress     end when RIP reaches this address (-1: none)
     * @param compareSystem   also compare fs/gs bases, CR0-CR4, CR8, EFER
     * @param compareVector   also compare XMM0-15 and MXCSR
     * @param strictFlags     compare architecturally undefined flags too
     * @param repLimit        most run(1) calls Vireo may take to finish one REP string instruction
     * @param ignored         registers never compared (e.g. "mxcsr" while a known difference is being fixed)
     */
    public record Config(long maxSteps, int context, boolean stopAtHlt, long stopAddress, boolean compareSystem,
                         boolean compareVector, boolean strictFlags, int repLimit, Set<String> ignored) {
        public static Config defaults() { return new Config(1_000_000, 8, true, -1, true, true, false, 1 << 20, Set.of()); }

        public Config withIgnored(Set<String> names) {
            return new Config(maxSteps, context, stopAtHlt, stopAddress, compareSystem, compareVector, strictFlags, repLimit, Set.copyOf(names));
        }

        public Config withStopAtHlt(boolean b) {
            return new Config(maxSteps, context, b, stopAddress, compareSystem, compareVector, strictFlags, repLimit, ignored);
        }

        public Config withMaxSteps(long n) {
            return new Config(n, context, stopAtHlt, stopAddress, compareSystem, compareVector, strictFlags, repLimit, ignored);
        }

        public Config withStopAddress(long a) {
            return new Config(maxSteps, context, stopAtHlt, a, compareSystem, compareVector, strictFlags, repLimit, ignored);
        }

        public Config withStrictFlags(boolean s) {
            return new Config(maxSteps, context, stopAtHlt, stopAddress, compareSystem, compareVector, s, repLimit, ignored);
        }

        public Config withVector(boolean v) {
            return new Config(maxSteps, context, stopAtHlt, stopAddress, compareSystem, v, strictFlags, repLimit, ignored);
        }

        public Config withSystem(boolean v) {
            return new Config(maxSteps, context, stopAtHlt, stopAddress, v, compareVector, strictFlags, repLimit, ignored);
        }

        public Config withContext(int n) {
            return new Config(maxSteps, n, stopAtHlt, stopAddress, compareSystem, compareVector, strictFlags, repLimit, ignored);
        }
    }

    /** A hook run after Vireo's step and before the comparison (tests use it to plant a divergence). */
    public interface StepHook {
        void afterVireoStep(long step, VireoAdapter vireo);
    }

    /** One executed instruction: where, its bytes, what it was taken for, and the state before it. */
    public record Executed(long step, long linearRip, byte[] bytes, String what, RegisterSet before, String note) {
        String line(Disassembler dis, int bits) {
            String text = dis.disassemble(bytes, linearRip, bits);
            String hex = bytes.length == 0 ? "??" : HexFormat.ofDelimiter(" ").formatHex(bytes);
            return String.format("  #%-7d %016x  %-30s %s%s", step, linearRip, hex, text != null ? text : what,
                    note.isEmpty() ? "" : "   <" + note + ">");
        }
    }

    public record Mismatch(String register, long qemu, long vireo) {
        @Override
        public String toString() {
            String q = RegisterSet.format(register, qemu), v = RegisterSet.format(register, vireo);
            if (register.equals("rflags")) {
                q += " [" + RegisterSet.flagNames(qemu) + "]";
                v += " [" + RegisterSet.flagNames(vireo) + "]";
            }
            return String.format("  %-9s qemu=%s  vireo=%s", register, q, v);
        }
    }

    /** The first difference: the instruction, what differs, and both sides' full state. */
    public record Divergence(String reason, Executed at, int bits, List<Mismatch> mismatches, RegisterSet qemuAfter,
                             RegisterSet vireoAfter, String vireoDescription, List<Executed> context) {
        public String format(Disassembler dis) {
            StringBuilder b = new StringBuilder();
            b.append("DIVERGENCE: ").append(reason).append('\n');
            if (at != null) {
                b.append("instruction:\n").append(at.line(dis, bits)).append("\n  (").append(at.what()).append(")\n");
            }
            if (!mismatches.isEmpty()) {
                b.append("differences:\n");
                for (Mismatch m : mismatches) b.append(m).append('\n');
            }
            if (!context.isEmpty()) {
                b.append("context (last ").append(context.size()).append(" instructions before it):\n");
                for (Executed e : context) b.append(e.line(dis, bits)).append('\n');
            }
            if (at != null) b.append("state before:\n").append(indent(at.before().dump())).append('\n');
            if (qemuAfter != null) b.append("QEMU after:\n").append(indent(qemuAfter.dump())).append('\n');
            if (vireoAfter != null) b.append("Vireo after:\n").append(indent(vireoAfter.dump())).append('\n');
            if (vireoDescription != null) b.append("Vireo CPU state:\n").append(indent(vireoDescription)).append('\n');
            return b.toString();
        }

        private static String indent(String s) { return "  " + s.replace("\n", "\n  "); }
    }

    /**
     * @param steps       instructions compared
     * @param divergence  null when none was found
     * @param end         why the run ended
     * @param resynced    instructions whose results were copied from QEMU, by description, with counts
     * @param undefinedFlagsAdopted instructions after which only undefined flags differed (QEMU's were copied over)
     */
    public record Result(long steps, Divergence divergence, String end, Map<String, Integer> resynced, long undefinedFlagsAdopted) {
        public boolean diverged() { return divergence != null; }
    }

    private static final List<String> RESYNC = new ArrayList<>(RegisterSet.GPRS);

    static {
        RESYNC.add("rflags");
    }

    /** Iterations of a REP instruction single-stepped in QEMU before switching to a breakpoint after it. */
    private static final int REP_STEPS = 64;

    private final Config config;
    private long adoptedFlags;

    /** Instructions in the last run after which Vireo's undefined flags differed from QEMU's (and were replaced). */
    public long adoptedFlags() { return adoptedFlags; }
    private final StepHook hook;

    public DiffEngine(Config config) { this(config, null); }

    public DiffEngine(Config config, StepHook hook) {
        this.config = config;
        this.hook = hook;
    }

    /** Compares the two (already synchronised) CPUs step by step. */
    public Result run(QemuTarget qemu, VireoAdapter vireo) {
        ArrayDeque<Executed> history = new ArrayDeque<>();
        Map<String, Integer> resynced = new TreeMap<>();
        adoptedFlags = 0;
        RegisterSet before = qemu.registers();
        List<Mismatch> initial = compare(before, vireo.registers(), 0);
        if (!initial.isEmpty()) {
            return new Result(0, new Divergence("the CPUs differ before the first step (state transfer is incomplete)",
                    null, vireo.codeBits(), initial, before, vireo.registers(), vireo.describe(), List.of()),
                    "diverged", resynced, adoptedFlags);
        }
        for (long step = 0; step < config.maxSteps(); step++) {
            long rip = before.rip();
            if (rip == config.stopAddress()) return new Result(step, null, "reached stop address", resynced, adoptedFlags);
            int bits = vireo.codeBits();
            long linear = vireo.linearRip();
            byte[] code = qemu.readVirtual(linear, 16);
            InsnInfo info = InsnInfo.classify(code, bits, before);
            byte[] shown = code;
            if (info.halt() && config.stopAtHlt()) return new Result(step, null, "reached hlt", resynced, adoptedFlags);

            RegisterSet qAfter;
            try {
                qemu.step();
                qAfter = qemu.registers();
                // QEMU 7.2 now and then answers 's' without having executed anything (seen in Linux boot); a
                // state identical in every register means no instruction ran, so step again.
                for (int n = 0; !info.repString() && sameRegisters(before, qAfter) && n < 3; n++) {
                    qemu.step();
                    qAfter = qemu.registers();
                    resynced.merge("(QEMU step made no progress: retried)", 1, Integer::sum);
                }
                for (int n = 0; info.repString() && qAfter.rip() == rip && n < REP_STEPS; n++) {
                    qemu.step();
                    qAfter = qemu.registers();
                }
                if (info.repString() && qAfter.rip() == rip && info.length() > 0) {
                    // A long REP: QEMU steps it one iteration per 's'; run to the next instruction instead.
                    qemu.runTo(rip + info.length(), Duration.ofSeconds(60));
                    qAfter = qemu.registers();
                }
            } catch (RuntimeException e) {
                // QEMU ran with -no-reboot, so a triple fault ends it: agreement if Vireo shuts down as well.
                Executed ex = new Executed(step, linear, shown, info.description(), before, "");
                String vireoStop;
                try {
                    vireoStop = vireo.step().stop();
                } catch (RuntimeException ve) {
                    vireoStop = "threw " + ve;
                }
                if (!qemu.alive() && vireoStop.equals("SHUTDOWN")) {
                    return new Result(step + 1, null, "both shut down (triple fault) at 0x" + Long.toHexString(linear), resynced, adoptedFlags);
                }
                return new Result(step, new Divergence("QEMU failed on this instruction (" + e.getMessage()
                        + "); Vireo's step ended with " + vireoStop, ex, bits, List.of(), null, vireo.registers(),
                        vireo.describe(), List.copyOf(history)), "diverged", resynced, adoptedFlags);
            }
            long delta = qAfter.rip() - rip;
            if (!info.repString() && delta > 0 && delta <= 15 && delta < code.length) shown = Arrays.copyOf(code, (int) delta);
            RegisterSet vAfter;
            String stop;
            try {
                VireoAdapter.Step s = vireo.step();
                stop = s.stop();
                vAfter = vireo.registers();
                for (int n = 0; info.repString() && vAfter.rip() == rip && n < config.repLimit() && stop.equals("BUDGET"); n++) {
                    stop = vireo.step().stop();
                    vAfter = vireo.registers();
                }
            } catch (RuntimeException e) {
                Executed ex = new Executed(step, linear, shown, info.description(), before, "");
                return new Result(step, new Divergence("Vireo threw " + e, ex, bits, List.of(), qAfter, vireo.registers(),
                        vireo.describe(), List.copyOf(history)), "diverged", resynced, adoptedFlags);
            }
            if (hook != null) {
                hook.afterVireoStep(step, vireo);
                vAfter = vireo.registers();
            }
            String note = "";
            if (info.hostDependent() || info.undefinedResult()) {
                vireo.loadRegisters(qAfter, RESYNC);
                vAfter = vireo.registers();
                note = "registers copied from QEMU";
                resynced.merge(info.description(), 1, Integer::sum);
            }
            Executed ex = new Executed(step, linear, shown, info.description(), before, note);
            long mask = config.strictFlags() ? 0 : info.undefinedFlags();
            List<Mismatch> diff = compare(qAfter, vAfter, mask);
            if (!stop.equals("BUDGET")) {
                diff = new ArrayList<>(diff);
                diff.add(0, new Mismatch("stop:" + stop, 0, 1));
            }
            if (!diff.isEmpty()) {
                String reason = "after instruction " + step + (mask != 0 ? " (undefined flags ignored: "
                        + RegisterSet.flagNames(mask) + ")" : "");
                if (!stop.equals("BUDGET")) reason += "; Vireo stopped with " + stop;
                return new Result(step + 1, new Divergence(reason, ex, bits, diff, qAfter, vAfter, vireo.describe(),
                        List.copyOf(history)), "diverged", resynced, adoptedFlags);
            }
            if (mask != 0 && ((qAfter.rflags() ^ vAfter.rflags()) & mask) != 0) {
                // Undefined flags may differ, but must not leak into the next comparison: adopt QEMU's.
                vireo.loadRegisters(qAfter, List.of("rflags"));
                adoptedFlags++;
            }
            history.addLast(ex);
            while (history.size() > config.context()) history.removeFirst();
            before = qAfter;
        }
        return new Result(config.maxSteps(), null, "step limit", resynced, adoptedFlags);
    }

    private static boolean sameRegisters(RegisterSet a, RegisterSet b) {
        for (String n : a.names()) if (!b.has(n) || a.get(n) != b.get(n)) return false;
        return true;
    }

    /** Registers both sides have (within the configured groups) whose values differ; {@code flagMask} bits of rflags ignored. */
    List<Mismatch> compare(RegisterSet q, RegisterSet v, long flagMask) {
        List<Mismatch> out = new ArrayList<>();
        for (String n : RegisterSet.ALL) {
            if (!q.has(n) || !v.has(n)) continue;
            if (!config.compareSystem() && RegisterSet.SYSTEM.contains(n)) continue;
            if (!config.compareVector() && RegisterSet.VECTOR.contains(n)) continue;
            if (config.ignored().contains(n)) continue;
            long a = q.get(n), b = v.get(n);
            if (n.equals("rflags")) {
                a &= ~flagMask;
                b &= ~flagMask;
            }
            if (a != b) out.add(new Mismatch(n, q.get(n), v.get(n)));
        }
        return out;
    }

    /** Differences in guest memory between the two sides over {@code ranges} ({start, length} pairs), up to 16. */
    public static List<String> compareMemory(QemuTarget qemu, VireoAdapter vireo, List<long[]> ranges) {
        List<String> out = new ArrayList<>();
        Map<Long, String> first = new LinkedHashMap<>();
        for (long[] r : ranges) {
            byte[] q = qemu.readPhysical(r[0], (int) r[1]);
            byte[] v = vireo.read(r[0], (int) r[1]);
            for (int i = 0; i < q.length && first.size() < 16; i++) {
                if (q[i] != v[i]) first.put(r[0] + i, String.format("  [%08x] qemu=%02x vireo=%02x", r[0] + i, q[i] & 0xff, v[i] & 0xff));
            }
        }
        out.addAll(first.values());
        return out;
    }
}
