package org.vireo.difftest;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * QEMU (TCG, machine "pc") as the reference CPU: a child process stopped at reset ({@code -S}) with its gdbstub on a
 * loopback port, driven through {@link GdbClient}. Single steps run with QEMU's default stepping flags (no IRQs, no
 * timers), so the reference is deterministic.
 */
public final class QemuTarget implements AutoCloseable {
    /** How to launch QEMU. {@code extraArgs} go last (e.g. -kernel, -append, -initrd for the breakpoint mode). */
    public record Options(String executable, long memoryBytes, String cpuModel, List<String> extraArgs,
                          Duration replyTimeout, Path workDir) {
        public static Options defaults(Path workDir) {
            return new Options("qemu-system-x86_64", 32L << 20, "qemu64", List.of(), Duration.ofSeconds(30), workDir);
        }

        public Options withMemory(long bytes) {
            return new Options(executable, bytes, cpuModel, extraArgs, replyTimeout, workDir);
        }

        public Options withExtraArgs(List<String> args) {
            return new Options(executable, memoryBytes, cpuModel, List.copyOf(args), replyTimeout, workDir);
        }

        public Options withCpu(String model) {
            return new Options(executable, memoryBytes, model, extraArgs, replyTimeout, workDir);
        }
    }

    private final Options options;
    private final Process process;
    private final GdbClient gdb;
    private final TargetDescription description;
    private final Path log;
    private Boolean physicalMode;

    private QemuTarget(Options options, Process process, GdbClient gdb, Path log) {
        this.options = options;
        this.process = process;
        this.gdb = gdb;
        this.log = log;
        gdb.handshake();
        // Reading target.xml also tells QEMU the client knows the layout: only then does it accept 'p'/'P'.
        String xml = gdb.readXfer("features", "target.xml");
        this.description = TargetDescription.parse(xml, href -> gdb.readXfer("features", href));
        if (description.register("rip") == null || description.register("eflags") == null) {
            throw new IllegalStateException("QEMU's target description has no rip/eflags: not an x86-64 target");
        }
        gdb.haltReason();
    }

    /** Whether a QEMU binary of this name can be run (the JUnit tests skip without one). */
    public static boolean available(String executable) {
        try {
            Process p = new ProcessBuilder(executable, "--version").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Starts QEMU stopped at reset and connects to its gdbstub (a few tries if the chosen port was taken meanwhile). */
    public static QemuTarget launch(Options o) throws IOException {
        Files.createDirectories(o.workDir());
        IOException last = null;
        for (int attempt = 0; attempt < 3; attempt++) {
            int port = freeLoopbackPort();
            Path log = o.workDir().resolve("qemu.log");
            List<String> cmd = new ArrayList<>(List.of(o.executable(), "-M", "pc", "-accel", "tcg", "-nographic", "-S",
                    "-gdb", "tcp:127.0.0.1:" + port, "-m", Math.max(1, o.memoryBytes() >> 20) + "M",
                    "-cpu", o.cpuModel(), "-no-reboot", "-monitor", "none",
                    "-serial", "file:" + o.workDir().resolve("serial.log")));
            cmd.addAll(o.extraArgs());
            Files.writeString(o.workDir().resolve("qemu.cmdline"), String.join(" ", cmd) + "\n");
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile())
                    .redirectInput(ProcessBuilder.Redirect.PIPE).start();
            try {
                GdbClient c = GdbClient.connect("127.0.0.1", port, Duration.ofSeconds(20), o.replyTimeout(), p::isAlive);
                return new QemuTarget(o, p, c, log);
            } catch (IOException | RuntimeException e) {
                p.destroyForcibly();
                String out = Files.exists(log) ? Files.readString(log) : "";
                last = new IOException("QEMU did not come up (" + e.getMessage() + ")" + (out.isBlank() ? "" : ": " + out.strip()), e);
                if (!out.contains("in use")) break;
            }
        }
        throw last;
    }

    private static int freeLoopbackPort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    public TargetDescription description() { return description; }

    public GdbClient gdb() { return gdb; }

    /** QEMU's console output so far (errors, "qemu: terminating ..."). */
    public String log() {
        try {
            return Files.exists(log) ? Files.readString(log) : "";
        } catch (IOException e) {
            return "(log unreadable: " + e.getMessage() + ")";
        }
    }

    public boolean alive() { return process.isAlive(); }

    // ------------------------------------------------------------------ registers

    /** The registers QEMU shows through 'g', under canonical names. */
    public RegisterSet registers() {
        Map<String, byte[]> raw = description.split(gdb.readRegisters());
        RegisterSet s = new RegisterSet();
        for (var e : raw.entrySet()) {
            String n = e.getKey();
            byte[] v = e.getValue();
            if (n.equals("eflags")) s.put("rflags", TargetDescription.le64(v, 0));
            else if (n.matches("xmm\\d+") && v.length == 16) {
                s.put(n + "_lo", TargetDescription.le64(v, 0));
                s.put(n + "_hi", TargetDescription.le64(v, 8));
            } else if (RegisterSet.ALL.contains(n)) s.put(n, TargetDescription.le64(v, 0));
        }
        return s;
    }

    /** Writes one register by canonical name ('P'). Segment writes make QEMU reload the descriptor cache. */
    public void setRegister(String name, long value) {
        String gdbName = name.equals("rflags") ? "eflags" : name;
        TargetDescription.Register r = description.register(gdbName);
        if (r == null) throw new IllegalArgumentException("QEMU has no register " + name);
        gdb.writeRegister(r.regnum(), TargetDescription.toLe(value, r.bytes()));
    }

    private static final Pattern SEG = Pattern.compile("^(ES |CS |SS |DS |FS |GS |LDT|TR )=([0-9a-f]{4}) ([0-9a-f]{8,16}) ([0-9a-f]{8}) ([0-9a-f]{8})", Pattern.MULTILINE);
    private static final Pattern TABLE = Pattern.compile("^(GDT|IDT)=\\s+([0-9a-f]{8,16}) ([0-9a-f]{8})", Pattern.MULTILINE);
    private static final Pattern CONTROL = Pattern.compile("\\b(CR0|CR2|CR3|CR4|EFER)=([0-9a-f]+)");

    /** The full state: 'g' registers plus descriptor caches and tables from the monitor's "info registers". */
    public MachineState machineState() {
        RegisterSet regs = registers();
        return parseInfoRegisters(gdb.monitor("info registers"), regs);
    }

    /** Parses QEMU's "info registers" text (32- or 64-bit layout) for what 'g' lacks; fills in missing control registers. */
    static MachineState parseInfoRegisters(String text, RegisterSet regs) {
        Map<String, MachineState.SegmentCache> segs = new HashMap<>();
        Matcher m = SEG.matcher(text);
        while (m.find()) {
            String name = m.group(1).trim().toLowerCase(Locale.ROOT);
            long flags = Long.parseLong(m.group(5), 16);
            // QEMU keeps the descriptor's high dword: type/S/DPL/P in bits 8..15, AVL/L/DB/G in bits 20..23.
            int attr = (int) ((flags >> 8) & 0xf0ff);
            segs.put(name, new MachineState.SegmentCache(Integer.parseInt(m.group(2), 16),
                    Long.parseUnsignedLong(m.group(3), 16), (int) Long.parseLong(m.group(4), 16), attr));
        }
        MachineState.Table gdt = null, idt = null;
        m = TABLE.matcher(text);
        while (m.find()) {
            var t = new MachineState.Table(Long.parseUnsignedLong(m.group(2), 16), (int) Long.parseLong(m.group(3), 16));
            if (m.group(1).equals("GDT")) gdt = t;
            else idt = t;
        }
        m = CONTROL.matcher(text);
        while (m.find()) {
            String n = m.group(1).toLowerCase(Locale.ROOT);
            if (!regs.has(n)) regs.put(n, Long.parseUnsignedLong(m.group(2), 16));
        }
        for (String s : List.of("es", "cs", "ss", "ds", "fs", "gs", "ldt", "tr")) {
            if (!segs.containsKey(s)) throw new IllegalStateException("no " + s + " in QEMU's info registers:\n" + text);
        }
        if (gdt == null || idt == null) throw new IllegalStateException("no GDT/IDT in QEMU's info registers:\n" + text);
        if (!regs.has("fs_base")) regs.put("fs_base", segs.get("fs").base());
        if (!regs.has("gs_base")) regs.put("gs_base", segs.get("gs").base());
        return new MachineState(regs, Map.copyOf(segs), gdt, idt);
    }

    // ------------------------------------------------------------------ memory

    private void memoryMode(boolean physical) {
        if (physicalMode == null || physicalMode != physical) {
            gdb.physicalMemoryMode(physical);
            physicalMode = physical;
        }
    }

    public void writePhysical(long address, byte[] data) {
        memoryMode(true);
        gdb.writeMemory(address, data);
    }

    public byte[] readPhysical(long address, int length) {
        memoryMode(true);
        return gdb.readMemory(address, length);
    }

    /** Reads through the guest's current paging; returns what could be read (possibly fewer bytes at an unmapped page). */
    public byte[] readVirtual(long address, int length) {
        memoryMode(false);
        try {
            return gdb.readMemory(address, length);
        } catch (GdbClient.GdbException e) {
            int toPageEnd = (int) (4096 - (address & 0xfff));
            if (toPageEnd >= length) return new byte[0];
            try {
                return gdb.readMemory(address, toPageEnd);
            } catch (GdbClient.GdbException e2) {
                return new byte[0];
            }
        }
    }

    /** Saves guest RAM {@code [0, bytes)} to a file with the monitor's pmemsave (far faster than 'm' packets). */
    public Path saveRam(long bytes) throws IOException {
        Path f = options.workDir().resolve("ram.bin").toAbsolutePath();
        Files.deleteIfExists(f);
        String out = gdb.monitor("pmemsave 0 " + bytes + " \"" + f + "\"");
        if (!Files.exists(f) || Files.size(f) != bytes) {
            throw new IOException("pmemsave did not write " + bytes + " bytes to " + f + ": " + out.strip());
        }
        return f;
    }

    // ------------------------------------------------------------------ execution

    /** One instruction (or, for a REP string instruction, one iteration: QEMU restarts it in place). */
    public void step() {
        GdbClient.StopReply r = gdb.step();
        if (r.exited()) throw new IllegalStateException("QEMU ended during a step (" + r.raw() + "): " + log().strip());
    }

    /** Continues to a breakpoint at {@code address} (virtual), then removes it. */
    public void runTo(long address, Duration timeout) {
        gdb.setBreakpoint(address);
        try {
            GdbClient.StopReply r = gdb.continueUntilStop(timeout);
            if (r.exited()) throw new IllegalStateException("QEMU ended before reaching 0x" + Long.toHexString(address) + ": " + log().strip());
        } finally {
            if (process.isAlive()) gdb.clearBreakpoint(address);
        }
        long rip = registers().rip();
        if (rip != address) throw new IllegalStateException("QEMU stopped at 0x" + Long.toHexString(rip) + ", not at the breakpoint 0x" + Long.toHexString(address));
    }

    @Override
    public void close() {
        gdb.close();
        process.destroy();
        try {
            if (!process.waitFor(5, TimeUnit.SECONDS)) process.destroyForcibly().waitFor();
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
