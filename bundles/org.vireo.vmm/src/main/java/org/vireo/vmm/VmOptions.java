package org.vireo.vmm;

import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.vireo.virtio.kind.DeviceKind;
import org.vireo.virtio.kind.RunOption;
import org.vireo.virtio.ring.RingLayout;
import org.vireo.x86.boot.LinuxLoader;

/**
 * The options of {@code vireo run}. Kernel and initrd default to the guest kit's (scripts/guest-kit), found through
 * {@code VIREO_GUEST_KIT} or {@code ~/.cache/vireo/guest-kit}.
 */
record VmOptions(Path kernel, Path initrd, String append, long memory, long timeoutSeconds, List<DeviceSpec> devices,
                 Accelerator accel, boolean hotplugSlot, boolean stats, boolean acpi, Transport transport, RingLayout ring,
                 KernelEntry kernelEntry) {
    /** What runs the guest's instructions. */
    enum Accelerator { EMU, KVM }

    /**
     * How a bzImage is entered: PVH, its vmlinux unpacked on the host when the payload's format allows (LZ4, gzip)
     * and the kernel has a PVH note, so the emulated CPU skips the decompressor; or the 64-bit boot protocol always.
     */
    enum KernelEntry {
        PVH(LinuxLoader.Unpack.WHEN_POSSIBLE), BOOT64(LinuxLoader.Unpack.NEVER);

        final LinuxLoader.Unpack unpack;

        KernelEntry(LinuxLoader.Unpack unpack) { this.unpack = unpack; }
    }

    VmOptions(Path kernel, Path initrd, String append, long memory, long timeoutSeconds, List<DeviceSpec> devices,
              Accelerator accel, boolean hotplugSlot, boolean stats, boolean acpi, Transport transport, RingLayout ring) {
        this(kernel, initrd, append, memory, timeoutSeconds, devices, accel, hotplugSlot, stats, acpi, transport, ring, KernelEntry.PVH);
    }

    /** Where the run's virtio devices sit: on PCI bus 0, or as virtio-mmio windows the DSDT lists. */
    enum Transport {
        PCI, MMIO;

        /** The transport's name in device configurations ({@code virtio.transport}). */
        String property() { return name().toLowerCase(Locale.ROOT); }
    }

    VmOptions(Path kernel, Path initrd, String append, long memory, long timeoutSeconds, List<DeviceSpec> devices,
              Accelerator accel, boolean hotplugSlot, boolean stats, boolean acpi, Transport transport) {
        this(kernel, initrd, append, memory, timeoutSeconds, devices, accel, hotplugSlot, stats, acpi, transport, RingLayout.SPLIT);
    }

    VmOptions(Path kernel, Path initrd, String append, long memory, long timeoutSeconds, List<DeviceSpec> devices,
              Accelerator accel, boolean hotplugSlot, boolean stats, boolean acpi) {
        this(kernel, initrd, append, memory, timeoutSeconds, devices, accel, hotplugSlot, stats, acpi, Transport.PCI);
    }

    VmOptions(Path kernel, Path initrd, String append, long memory, long timeoutSeconds, List<DeviceSpec> devices) {
        this(kernel, initrd, append, memory, timeoutSeconds, devices, Accelerator.EMU, false, false);
    }

    VmOptions(Path kernel, Path initrd, String append, long memory, long timeoutSeconds, List<DeviceSpec> devices,
              Accelerator accel) {
        this(kernel, initrd, append, memory, timeoutSeconds, devices, accel, false);
    }

    VmOptions(Path kernel, Path initrd, String append, long memory, long timeoutSeconds, List<DeviceSpec> devices,
              Accelerator accel, boolean hotplugSlot) {
        this(kernel, initrd, append, memory, timeoutSeconds, devices, accel, hotplugSlot, false);
    }

    VmOptions(Path kernel, Path initrd, String append, long memory, long timeoutSeconds, List<DeviceSpec> devices,
              Accelerator accel, boolean hotplugSlot, boolean stats) {
        this(kernel, initrd, append, memory, timeoutSeconds, devices, accel, hotplugSlot, stats, DEFAULT_ACPI);
    }

    /**
     * The command line the kernel gets. On the emulator the TSC runs at exactly 1 GHz, so unless the user chose
     * otherwise the kernel is told so: calibrating it against host-timed devices fails or, under host stalls, goes wrong.
     * It is also told the TSC is reliable (it is the host's monotonic clock): the clocksource watchdog would otherwise
     * compare it with jiffies, which lose ticks whenever the slow emulated kernel takes a timer interrupt more than a
     * tick late, and wrongly switch the guest to the much slower ACPI PM timer.
     * Without ACPI the kernel gets {@code acpi=off} (unless the line sets {@code acpi=}), so it does not look for
     * tables that are not there. With ACPI and a hot-plug slot it gets {@code pci=noacpi} (unless it sets
     * {@code pci=}): PCI is then found and routed as without ACPI. Through the ACPI root bridge Linux would neither
     * drive the slot (native PCIe hot-plug needs _OSC control, which it does not ask for without ECAM) nor find a
     * route for a hot-plugged device's own line (it looks it up as the bridge's pin).
     */
    String kernelCommandLine() {
        String line = append;
        if (!acpi && !hasParameter(line, "acpi")) line = line + " acpi=off";
        if (guestAcpi() && hotplugSlot && !hasParameter(line, "pci")) line = line + " pci=noacpi";
        if (accel == Accelerator.EMU && !line.contains("tsc_early_khz=") && !line.contains("tsc=")) {
            line = line + " tsc_early_khz=1000000 tsc=reliable";
        }
        return line;
    }

    /**
     * Whether the guest will use ACPI: tables are given ({@code --acpi}) and the command line does not say
     * {@code acpi=off}. The machine then leaves the PCI lines' trigger mode to the guest and keeps line 9 for the SCI;
     * otherwise it is the PC without ACPI, as firmware leaves it for a kernel that routes nothing itself.
     */
    boolean guestAcpi() { return acpi && !words(append).contains("acpi=off"); }

    /**
     * Whether the machine gets a local APIC and an IOAPIC (described in the MADT): with ACPI, on the emulator (KVM's
     * vCPU takes its interrupts from the PIC; its in-kernel APIC is not wired yet), and without the hot-plug slot, whose
     * guest routes PCI interrupts without ACPI (pci=noacpi), which in IOAPIC mode finds no route for the root port's
     * INTx line (the port has no MSI).
     */
    boolean guestApic() { return guestAcpi() && accel == Accelerator.EMU && !hotplugSlot; }

    private static List<String> words(String commandLine) { return List.of(commandLine.trim().split("\\s+")); }

    /** Whether a guest gets ACPI tables unless told otherwise (--acpi, --no-acpi). */
    static final boolean DEFAULT_ACPI = true;
    static final String DEFAULT_APPEND = "console=ttyS0";
    static final long DEFAULT_MEMORY = 512L << 20;
    /** A whole distribution (systemd, Python) wants more room than the busybox kit. */
    static final long DEFAULT_ROOTFS_MEMORY = 1L << 30;
    /** The guest kit's Debian system (scripts/guest-kit --debian): the initramfs that mounts the root disk. */
    static final String DEBIAN_INITRAMFS = "debian/initramfs.cpio.gz";

    static final String USAGE = """
            usage: vireo run [--kernel FILE] [--kernel-entry pvh|64bit] [--initrd FILE|none] [--append "ARGS"] [--mem SIZE] [--accel emu|kvm] [--acpi|--no-acpi] [--ring split|packed] [--transport pci|mmio] [--hotplug-slot] [--timeout SECONDS] [--stats]
                             [--rootfs FILE[,ro]]%s
              --kernel FILE   bzImage or ELF vmlinux with a PVH note
                              (default: bzImage of the guest kit, %s)
              --kernel-entry pvh|64bit
                              how a bzImage is entered (default: pvh): "pvh" unpacks its LZ4 or gzip payload on the host
                              and enters the vmlinux through its PVH note, so the emulated CPU does not run the kernel's
                              decompressor (a bzImage in another format, or without the note, boots as with "64bit");
                              "64bit" always uses the 64-bit boot protocol. An ELF vmlinux is always entered through PVH
              --initrd FILE   initramfs (default: the guest kit's initramfs.cpio.gz if present; "none" for no initrd)
              --append ARGS   kernel command line (default: "%s")
              --mem SIZE      guest RAM: bytes, or with a K, M or G suffix (default: 512M; at most 3G)
              --accel emu|kvm what runs the guest: "emu" = Vireo's x86-64 CPU emulator (default; adds
                              "tsc_early_khz=1000000 tsc=reliable" to the command line unless it sets tsc_early_khz or
                              tsc: the emulated TSC is the host's clock at 1 GHz), "kvm" = the host's KVM (/dev/kvm; on
                              PVM hosts only small guests run)
              --acpi, --no-acpi
                              give the guest ACPI tables (default: --acpi): RSDP, XSDT, FADT, FACS, a DSDT with the
                              PCI root and its interrupt routes and, on the emulator, a MADT with a local APIC and an
                              IOAPIC (virtio-pci devices then use MSI-X); PM registers at 0x600 with the SCI on IRQ 9, so
                              a guest "poweroff" ends the run with exit code 0. --no-acpi keeps the PC without tables
                              (8259 PIC only) and adds acpi=off to the command line (unless it sets acpi=)
              --transport pci|mmio
                              where the virtio devices go (default: pci, found by virtio_pci); "mmio" makes each a
                              virtio-mmio window with its own interrupt line, listed in the DSDT as LNRO0005 for
                              virtio_mmio (needs ACPI; no hot-plug slot)
              --ring split|packed
                              the virtqueue layout the virtio devices offer (default: split); "packed"
                              offers VIRTIO_F_RING_PACKED (feature bit 34), which Linux takes
              --hotplug-slot  add a PCIe root port with one hot-plug slot (the kernel's pciehp drives it): a virtio-pci
                              device configured for this machine while the guest runs lands there and the guest sees it
                              (with ACPI the command line gets pci=noacpi, unless it sets pci=: PCI as without ACPI)
              --timeout SECS  give up after this long with exit code 124 (default: no limit)
              --stats         at exit, print what the emulated CPU did to stderr: instructions (user/kernel), MIPS per
                              5 s, block heat and chaining, TLB misses and page walks, INVLPG, code invalidations,
                              faults, interrupts, port and MMIO accesses (emulator only; costs a little speed)
              --rootfs FILE[,ro]
                              boot a whole system from FILE, a raw disk image holding an ext4 root file system (build
                              Debian 12 with scripts/guest-kit --debian, or bring your own): FILE is the first disk
                              (/dev/vda), the initrd defaults to the guest kit's debian/initramfs.cpio.gz (it loads the
                              virtio and ext4 modules and switches to the disk), the command line gets root=/dev/vda rw
                              (ro with ",ro") unless it names a root=, and --mem defaults to 1G (needs the --disk
                              device kind)
            Devices (virtio-pci, INTx; the guest's virtio_pci driver finds them on PCI bus 0 in this order; each comes
            with its device kind's bundle):
            %s
            Console: COM1 on this terminal; Ctrl-A x quits, Ctrl-A Ctrl-A sends Ctrl-A.
            Exit code: 0 when the guest reboots or powers off, 1 on guest or emulator errors, 2 on bad options.""";

    static final class UsageException extends Exception {
        private static final long serialVersionUID = 1L;

        UsageException(String message) { super(message); }
    }

    static String usage() { return usage(DeviceKinds.fromClassPath()); }

    /** The usage text, with the device options of {@code kinds} (each kind's synopsis and help). */
    static String usage(DeviceKinds kinds) {
        StringBuilder synopsis = new StringBuilder();
        int column = 37;
        for (DeviceKinds.Option o : kinds.options()) {
            String s = o.option().synopsis();
            if (column + s.length() > 130) {
                synopsis.append("\n                ");
                column = 16;
            }
            synopsis.append(' ').append(s);
            column += s.length() + 1;
        }
        StringBuilder help = new StringBuilder();
        for (DeviceKinds.Option o : kinds.options()) {
            RunOption r = o.option();
            String heading = "  " + r.heading();
            String indent = " ".repeat(18);
            List<String> lines = r.help().lines().toList();
            if (heading.length() < indent.length()) help.append(heading).append(" ".repeat(indent.length() - heading.length())).append(lines.getFirst());
            else help.append(heading).append('\n').append(indent).append(lines.getFirst());
            for (String line : lines.subList(1, lines.size())) help.append('\n').append(indent).append(line);
            help.append('\n');
        }
        if (kinds.options().isEmpty()) help.append("  (none: no device kind is installed)\n");
        return String.format(USAGE, synopsis, guestKit(), DEFAULT_APPEND, help.toString().stripTrailing());
    }

    static Path guestKit() {
        String dir = System.getenv("VIREO_GUEST_KIT");
        if (dir != null && !dir.isEmpty()) return Path.of(dir);
        String cache = System.getenv("XDG_CACHE_HOME");
        Path base = cache != null && !cache.isEmpty() ? Path.of(cache) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("vireo").resolve("guest-kit");
    }

    static VmOptions parse(String... args) throws UsageException {
        return parse(guestKit(), DeviceKinds.fromClassPath(), args);
    }

    static VmOptions parse(Path kit, String... args) throws UsageException {
        return parse(kit, DeviceKinds.fromClassPath(), args);
    }

    /** Options the machine itself takes with a value; the device options come from the kinds. */
    private static final java.util.Set<String> MACHINE_VALUE_OPTIONS = java.util.Set.of("--kernel", "--initrd", "--append", "--mem",
            "--timeout", "--accel", "--rootfs", "--transport", "--ring", "--kernel-entry");
    private static final java.util.Set<String> MACHINE_FLAGS = java.util.Set.of("--hotplug-slot", "--stats", "--acpi", "--no-acpi");
    /** The device option whose parsing --rootfs borrows: its device becomes the first of that option's. */
    static final String ROOTFS_DISK_OPTION = "--disk";

    /** One device option as given, in command-line order. */
    private record Given(DeviceKinds.Option option, String spelled, String value) {}

    static VmOptions parse(Path kit, DeviceKinds kinds, String... args) throws UsageException {
        Path kernel = null, initrd = null;
        boolean noInitrd = false;
        String append = DEFAULT_APPEND;
        long memory = DEFAULT_MEMORY, timeout = 0;
        String rootfs = null;
        boolean memoryGiven = false, appendGiven = false;
        Accelerator accel = Accelerator.EMU;
        boolean hotplugSlot = false;
        boolean stats = false;
        boolean acpi = DEFAULT_ACPI;
        RingLayout ring = RingLayout.SPLIT;
        Transport transport = Transport.PCI;
        KernelEntry kernelEntry = KernelEntry.PVH;
        List<Given> given = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            String value = null;
            int eq = a.indexOf('=');
            String option = a.startsWith("--") && eq > 0 ? a.substring(0, eq) : a;
            if (option.equals("-h") || option.equals("--help")) throw new UsageException(null);
            DeviceKinds.Option device = MACHINE_VALUE_OPTIONS.contains(option) || MACHINE_FLAGS.contains(option) ? null
                    : kinds.option(option).orElseThrow(() -> new UsageException("unknown option " + a));
            boolean takesValue = device == null ? MACHINE_VALUE_OPTIONS.contains(option) : device.option().value() != null;
            if (device != null && device.option().optional()) {
                if (eq > 0 && a.startsWith("--")) value = a.substring(eq + 1);   // --balloon or --balloon=SPEC
            } else if (takesValue) {
                if (eq > 0 && a.startsWith("--")) value = a.substring(eq + 1);
                else if (i + 1 < args.length) value = args[++i];
                else throw new UsageException(option + " needs a value");
            } else if (eq > 0) {
                throw new UsageException(option + " takes no value");
            }
            if (device != null) {
                given.add(new Given(device, option, value));
                continue;
            }
            switch (option) {
                case "--kernel" -> kernel = path(option, value);
                case "--initrd" -> {
                    noInitrd = value.equals("none");
                    initrd = noInitrd ? null : path(option, value);
                }
                case "--append" -> { append = value; appendGiven = true; }
                case "--accel" -> accel = switch (value) {
                    case "emu" -> Accelerator.EMU;
                    case "kvm" -> Accelerator.KVM;
                    default -> throw new UsageException("--accel wants emu or kvm, not " + value);
                };
                case "--mem" -> { memory = parseSize(value); memoryGiven = true; }
                case "--rootfs" -> {
                    if (rootfs != null) throw new UsageException("--rootfs given twice");
                    rootfs = value;
                }
                case "--hotplug-slot" -> hotplugSlot = true;
                case "--ring" -> {
                    try {
                        ring = RingLayout.of(value);
                    } catch (IllegalArgumentException e) {
                        throw new UsageException("--ring is split or packed, not " + value);
                    }
                }
                case "--kernel-entry" -> kernelEntry = switch (value) {
                    case "pvh" -> KernelEntry.PVH;
                    case "64bit" -> KernelEntry.BOOT64;
                    default -> throw new UsageException("--kernel-entry is pvh or 64bit, not " + value);
                };
                case "--transport" -> transport = switch (value) {
                    case "pci" -> Transport.PCI;
                    case "mmio" -> Transport.MMIO;
                    default -> throw new UsageException("--transport is pci or mmio, not " + value);
                };
                case "--stats" -> stats = true;
                case "--acpi" -> acpi = true;
                case "--no-acpi" -> acpi = false;
                default -> {
                    try {
                        timeout = Long.parseLong(value);
                        if (timeout < 0) throw new NumberFormatException();
                    } catch (NumberFormatException e) {
                        throw new UsageException("--timeout wants whole seconds, not " + value);
                    }
                }
            }
        }
        if (rootfs != null) {
            // The root disk is the first disk (disk0, /dev/vda); the --disk ones follow it.
            DeviceKinds.Option disk = kinds.option(ROOTFS_DISK_OPTION).orElseThrow(() -> new UsageException(
                    "--rootfs needs the virtio-blk device kind (" + ROOTFS_DISK_OPTION + "), and none is installed"));
            given.addFirst(new Given(disk, "--rootfs", rootfs));
        }
        List<DeviceSpec> devices = devices(kinds, given);
        if (kernel == null) {
            kernel = kit.resolve("bzImage");
            if (!Files.isRegularFile(kernel)) {
                throw new UsageException("no --kernel given and no guest kit at " + kit + ": run scripts/guest-kit, or pass --kernel");
            }
        }
        if (rootfs != null) {
            if (initrd == null && !noInitrd) {
                initrd = kit.resolve(DEBIAN_INITRAMFS);
                if (!Files.isRegularFile(initrd)) {
                    throw new UsageException("--rootfs: no initramfs for a root disk at " + initrd
                            + ": run scripts/guest-kit --debian, or pass --initrd");
                }
            }
            boolean rootReadOnly = Boolean.TRUE.equals(devices.getFirst().settings().get("readonly"));
            if (!appendGiven || !hasParameter(append, "root")) {
                append = append + " root=/dev/vda " + (rootReadOnly ? "ro" : "rw");
            }
            if (!memoryGiven) memory = DEFAULT_ROOTFS_MEMORY;
        }
        if (initrd == null && !noInitrd) {
            Path kitInitrd = kit.resolve("initramfs.cpio.gz");
            if (Files.isRegularFile(kitInitrd)) initrd = kitInitrd;
        }
        if (!Files.isRegularFile(kernel)) throw new UsageException("no kernel at " + kernel);
        if (initrd != null && !Files.isRegularFile(initrd)) throw new UsageException("no initrd at " + initrd);
        if (memory > X86Machine.MAX_MEMORY) throw new UsageException("--mem " + (memory >> 20) + "M is more than the 3G this machine has room for below its PCI hole");
        if (memory < 16L << 20) throw new UsageException("--mem must be at least 16M for Linux");
        VmOptions options = new VmOptions(kernel, initrd, append, memory, timeout, List.copyOf(devices), accel, hotplugSlot, stats,
                acpi, transport, ring, kernelEntry);
        if (transport == Transport.MMIO && !options.guestAcpi()) {
            throw new UsageException("--transport mmio needs ACPI: Linux finds virtio-mmio devices only in the DSDT (LNRO0005)");
        }
        if (transport == Transport.MMIO && hotplugSlot) {
            throw new UsageException("--transport mmio and --hotplug-slot do not mix: the slot takes PCI devices");
        }
        return options;
    }

    /**
     * The devices of the given options, in bus order: by each option's order, then as given. Each kind parses its own
     * options; names are the kind's stem and a number counted per kind (disk0, disk1, net0...).
     */
    private static List<DeviceSpec> devices(DeviceKinds kinds, List<Given> given) throws UsageException {
        List<DeviceSpec> devices = new ArrayList<>();
        java.util.Map<DeviceKind, Integer> counts = new java.util.HashMap<>();
        for (DeviceKinds.Option option : kinds.options()) {
            List<java.util.Map<String, Object>> earlier = new ArrayList<>();
            int occurrence = 0;
            for (Given g : given) {
                if (!g.option().equals(option)) continue;
                DeviceKind kind = option.kind();
                String name = kind.defaultName() + counts.getOrDefault(kind, 0);
                java.util.Map<String, Object> settings;
                try {
                    settings = kind.parseRunOption(new RunOption.Occurrence(option.option(), g.spelled(), g.value(), name, earlier, occurrence++));
                } catch (IllegalArgumentException e) {
                    throw new UsageException(e.getMessage());
                }
                if (settings == null) continue;
                earlier.add(settings);
                counts.merge(kind, 1, Integer::sum);
                devices.add(new DeviceSpec(kind, name, settings));
            }
        }
        return devices;
    }

    private static Path path(String option, String value) throws UsageException {
        if (value.isEmpty()) throw new UsageException(option + " needs a file name");
        try {
            return Path.of(value);
        } catch (InvalidPathException e) {
            throw new UsageException(option + ": bad file name " + value + " (" + e.getReason() + ")");
        }
    }

    /** True when the kernel command line sets {@code name=} (as a whole word). */
    static boolean hasParameter(String commandLine, String name) {
        for (String word : commandLine.trim().split("\\s+")) if (word.startsWith(name + "=")) return true;
        return false;
    }

    static long parseSize(String s) throws UsageException {
        String t = s.trim().toUpperCase(Locale.ROOT);
        if (t.endsWith("B")) t = t.substring(0, t.length() - 1);
        long unit = 1;
        if (t.endsWith("K")) unit = 1L << 10;
        else if (t.endsWith("M")) unit = 1L << 20;
        else if (t.endsWith("G")) unit = 1L << 30;
        if (unit != 1) t = t.substring(0, t.length() - 1);
        try {
            long n = Long.parseLong(t);
            if (n <= 0 || n > Long.MAX_VALUE / unit) throw new NumberFormatException();
            long bytes = n * unit;
            if ((bytes & 0xfff) != 0) throw new UsageException("--mem " + s + " is not a multiple of 4K");
            return bytes;
        } catch (NumberFormatException e) {
            throw new UsageException("--mem wants a size such as 512M or 1G, not " + s);
        }
    }
}
