package org.vireo.shell.impl;

import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The arguments of {@code vm:create NAME [key=value...]}, checked before anything is configured: the properties of
 * an {@code org.vireo.vmm.vm} factory configuration. The VM component checks them again; this gives the user the
 * message at once.
 */
record VmRequest(String name, Map<String, Object> properties) {
    static final String FACTORY_PID = "org.vireo.vmm.vm";
    static final Set<String> KEYS = Set.of("kernel", "initrd", "cmdline", "memory.mib", "vcpus", "accelerator", "hotplug.slot", "acpi");

    static VmRequest parse(String name, List<String> settings) {
        if (name == null || name.isBlank() || !name.chars().allMatch(c -> c > ' ' && c < 127 && "()*\\=,/".indexOf(c) < 0)) {
            throw new IllegalArgumentException("Bad VM name \"" + name + "\": use printable ASCII without spaces or ()*\\=,/.");
        }
        Map<String, Object> props = new LinkedHashMap<>();
        props.put("machine.name", name);
        for (String s : settings) {
            int eq = s.indexOf('=');
            if (eq <= 0) throw new IllegalArgumentException("Setting \"" + s + "\" is not key=value.");
            String key = s.substring(0, eq).strip();
            String value = s.substring(eq + 1).strip();
            if (!KEYS.contains(key)) {
                throw new IllegalArgumentException("Unknown setting " + key + ": the settings are " + String.join(", ", KEYS.stream().sorted().toList()) + ".");
            }
            if (props.containsKey(key)) throw new IllegalArgumentException("Setting " + key + " given twice.");
            props.put(key, switch (key) {
                case "memory.mib" -> {
                    int mib = integer(key, value);
                    if (mib < 16 || mib > 3072) throw new IllegalArgumentException("memory.mib must be 16 to 3072, not " + mib + ".");
                    yield mib;
                }
                case "vcpus" -> {
                    int n = integer(key, value);
                    if (n != 1) throw new IllegalArgumentException("vcpus=" + n + " is not supported: a VM has exactly 1 vCPU.");
                    yield n;
                }
                case "accelerator" -> {
                    String a = value.toLowerCase(Locale.ROOT);
                    if (!a.equals("emu") && !a.equals("kvm")) throw new IllegalArgumentException("accelerator must be emu or kvm, not \"" + value + "\".");
                    yield a;
                }
                case "hotplug.slot", "acpi" -> {
                    if (!value.equals("true") && !value.equals("false")) throw new IllegalArgumentException(key + " must be true or false, not \"" + value + "\".");
                    yield Boolean.parseBoolean(value);
                }
                case "kernel" -> file(key, value);
                case "initrd" -> value.equals("none") ? value : file(key, value);
                default -> value;   // cmdline
            });
        }
        return new VmRequest(name, props);
    }

    private static int integer(String key, String value) {
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + " must be a whole number, not \"" + value + "\".");
        }
    }

    private static String file(String key, String value) {
        try {
            Path p = Path.of(value).toAbsolutePath();
            if (!Files.isRegularFile(p)) throw new IllegalArgumentException(key + ": no file at " + p + ".");
            return p.toString();
        } catch (InvalidPathException e) {
            throw new IllegalArgumentException(key + ": bad file name \"" + value + "\".");
        }
    }
}
