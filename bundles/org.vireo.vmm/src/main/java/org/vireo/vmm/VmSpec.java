package org.vireo.vmm;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The settings of an {@code org.vireo.vmm.vm} configuration, checked. Files are checked when the VM starts (a guest
 * kit may appear after the configuration), everything else when the configuration arrives.
 */
record VmSpec(String name, String kernel, String initrd, String cmdline, int memoryMib, VmOptions.Accelerator accelerator,
              boolean hotplugSlot, boolean acpi) {
    static final String DEFAULT_CMDLINE = VmOptions.DEFAULT_APPEND;
    static final int DEFAULT_MEMORY_MIB = 512;
    static final int MIN_MEMORY_MIB = 16;
    static final int MAX_MEMORY_MIB = (int) (X86Machine.MAX_MEMORY >> 20);

    /** A configuration this VM cannot have; the message says which setting and why. */
    static final class InvalidException extends Exception {
        private static final long serialVersionUID = 1L;

        InvalidException(String message) { super(message); }
    }

    /** Reads the configuration properties (strings or numbers, as ConfigurationAdmin or the shell give them). */
    static VmSpec from(Map<String, ?> properties) throws InvalidException {
        String name = string(properties, "machine.name", "");
        if (name.isBlank()) throw new InvalidException("machine.name is required");
        if (!name.chars().allMatch(c -> c > ' ' && c < 127 && "()*\\=,/".indexOf(c) < 0)) {
            throw new InvalidException("machine.name \"" + name + "\" may hold only printable ASCII without spaces or ()*\\=,/");
        }
        int memory = integer(properties, "memory.mib", DEFAULT_MEMORY_MIB);
        if (memory < MIN_MEMORY_MIB || memory > MAX_MEMORY_MIB) {
            throw new InvalidException("memory.mib must be " + MIN_MEMORY_MIB + " to " + MAX_MEMORY_MIB + ", not " + memory);
        }
        int vcpus = integer(properties, "vcpus", 1);
        if (vcpus != 1) throw new InvalidException("vcpus=" + vcpus + " is not supported: this machine has exactly 1 vCPU");
        String accel = string(properties, "accelerator", "emu").toLowerCase(Locale.ROOT);
        VmOptions.Accelerator accelerator = switch (accel) {
            case "emu" -> VmOptions.Accelerator.EMU;
            case "kvm" -> VmOptions.Accelerator.KVM;
            default -> throw new InvalidException("accelerator must be emu or kvm, not \"" + accel + "\"");
        };
        String acpi = string(properties, "acpi", Boolean.toString(VmOptions.DEFAULT_ACPI)).toLowerCase(Locale.ROOT);
        if (!acpi.equals("true") && !acpi.equals("false")) throw new InvalidException("acpi must be true or false, not \"" + acpi + "\"");
        return new VmSpec(name, string(properties, "kernel", ""), string(properties, "initrd", ""),
                string(properties, "cmdline", DEFAULT_CMDLINE), memory, accelerator,
                Boolean.parseBoolean(string(properties, "hotplug.slot", "false")), Boolean.parseBoolean(acpi));
    }

    /** The run's options, with the guest kit's files where none are given. */
    VmOptions options(Path kit) throws InvalidException {
        Path kernelPath = kernel.isEmpty() ? kit.resolve("bzImage") : Path.of(kernel);
        if (!Files.isRegularFile(kernelPath)) {
            throw new InvalidException("no kernel at " + kernelPath + (kernel.isEmpty() ? " (no guest kit: run scripts/guest-kit, or set kernel)" : ""));
        }
        Path initrdPath = null;
        if (initrd.isEmpty()) {
            Path kitInitrd = kit.resolve("initramfs.cpio.gz");
            if (Files.isRegularFile(kitInitrd)) initrdPath = kitInitrd;
        } else if (!initrd.equals("none")) {
            initrdPath = Path.of(initrd);
            if (!Files.isRegularFile(initrdPath)) throw new InvalidException("no initrd at " + initrdPath);
        }
        return new VmOptions(kernelPath, initrdPath, cmdline, (long) memoryMib << 20, 0, List.of(), accelerator, hotplugSlot,
                false, acpi);
    }

    private static String string(Map<String, ?> properties, String key, String fallback) {
        Object v = properties.get(key);
        return v == null ? fallback : v.toString().strip();
    }

    private static int integer(Map<String, ?> properties, String key, int fallback) throws InvalidException {
        Object v = properties.get(key);
        if (v == null) return fallback;
        if (v instanceof Integer i) return i;
        if (v instanceof Long l && l == l.intValue()) return l.intValue();
        try {
            return Integer.parseInt(v.toString().strip());
        } catch (NumberFormatException e) {
            throw new InvalidException(key + " must be a whole number, not \"" + v + "\"");
        }
    }
}
