package org.vireo.vmm;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * The options of {@code vireo run}. Kernel and initrd default to the guest kit's (scripts/guest-kit), found through
 * {@code VIREO_GUEST_KIT} or {@code ~/.cache/vireo/guest-kit}.
 */
record VmOptions(Path kernel, Path initrd, String append, long memory, long timeoutSeconds) {
    static final String DEFAULT_APPEND = "console=ttyS0 acpi=off";
    static final long DEFAULT_MEMORY = 512L << 20;

    static final String USAGE = """
            usage: vireo run [--kernel FILE] [--initrd FILE|none] [--append "ARGS"] [--mem SIZE] [--timeout SECONDS]
              --kernel FILE   bzImage (64-bit boot protocol) or ELF vmlinux with a PVH note
                              (default: bzImage of the guest kit, %s)
              --initrd FILE   initramfs (default: the guest kit's initramfs.cpio.gz if present; "none" for no initrd)
              --append ARGS   kernel command line (default: "%s")
              --mem SIZE      guest RAM: bytes, or with a K, M or G suffix (default: 512M; at most 3G)
              --timeout SECS  give up after this long with exit code 124 (default: no limit)
            Console: COM1 on this terminal; Ctrl-A x quits, Ctrl-A Ctrl-A sends Ctrl-A.
            Exit code: 0 when the guest reboots or powers off, 1 on guest or emulator errors, 2 on bad options.""";

    static final class UsageException extends Exception {
        private static final long serialVersionUID = 1L;

        UsageException(String message) { super(message); }
    }

    static String usage() { return String.format(USAGE, guestKit(), DEFAULT_APPEND); }

    static Path guestKit() {
        String dir = System.getenv("VIREO_GUEST_KIT");
        if (dir != null && !dir.isEmpty()) return Path.of(dir);
        String cache = System.getenv("XDG_CACHE_HOME");
        Path base = cache != null && !cache.isEmpty() ? Path.of(cache) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("vireo").resolve("guest-kit");
    }

    static VmOptions parse(String... args) throws UsageException {
        return parse(guestKit(), args);
    }

    static VmOptions parse(Path kit, String... args) throws UsageException {
        Path kernel = null, initrd = null;
        boolean noInitrd = false;
        String append = DEFAULT_APPEND;
        long memory = DEFAULT_MEMORY, timeout = 0;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            String value;
            int eq = a.indexOf('=');
            String option = a.startsWith("--") && eq > 0 ? a.substring(0, eq) : a;
            switch (option) {
                case "--kernel", "--initrd", "--append", "--mem", "--timeout" -> {
                    if (eq > 0 && a.startsWith("--")) value = a.substring(eq + 1);
                    else if (i + 1 < args.length) value = args[++i];
                    else throw new UsageException(option + " needs a value");
                }
                case "-h", "--help" -> throw new UsageException(null);
                default -> throw new UsageException("unknown option " + a);
            }
            switch (option) {
                case "--kernel" -> kernel = Path.of(value);
                case "--initrd" -> {
                    noInitrd = value.equals("none");
                    initrd = noInitrd ? null : Path.of(value);
                }
                case "--append" -> append = value;
                case "--mem" -> memory = parseSize(value);
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
        if (kernel == null) {
            kernel = kit.resolve("bzImage");
            if (!Files.isRegularFile(kernel)) {
                throw new UsageException("no --kernel given and no guest kit at " + kit + ": run scripts/guest-kit, or pass --kernel");
            }
        }
        if (initrd == null && !noInitrd) {
            Path kitInitrd = kit.resolve("initramfs.cpio.gz");
            if (Files.isRegularFile(kitInitrd)) initrd = kitInitrd;
        }
        if (!Files.isRegularFile(kernel)) throw new UsageException("no kernel at " + kernel);
        if (initrd != null && !Files.isRegularFile(initrd)) throw new UsageException("no initrd at " + initrd);
        if (memory > X86Machine.MAX_MEMORY) throw new UsageException("--mem " + (memory >> 20) + "M is more than the 3G this machine has room for below its PCI hole");
        if (memory < 16L << 20) throw new UsageException("--mem must be at least 16M for Linux");
        return new VmOptions(kernel, initrd, append, memory, timeout);
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
