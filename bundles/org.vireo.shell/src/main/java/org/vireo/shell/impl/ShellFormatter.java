package org.vireo.shell.impl;

import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/** Text tables for the dev: and vm: commands. */
final class ShellFormatter {
    private ShellFormatter() {}

    static String devices(List<DeviceConfig> devices, List<DeviceManager.Plugged> plugged) {
        if (devices.isEmpty()) return "No virtio device configurations.";
        String[] header = {"NAME", "TYPE", "MACHINE", "TRANSPORT", "PLUGGED", "SETTINGS"};
        List<String[]> rows = devices.stream().map(d -> new String[] {
                d.name(), d.type().label(), d.machine(), d.transport(), pluggedAt(d, plugged), settings(d.settings())}).toList();
        return table(header, rows);
    }

    private static String pluggedAt(DeviceConfig d, List<DeviceManager.Plugged> plugged) {
        return plugged.stream().filter(p -> p.machine().equals(d.machine()) && p.deviceName().equals(d.name()))
                .map(p -> "yes " + p.address()).findFirst().orElse("no");
    }

    /** dev:kinds: one row per device type. */
    static String kinds(List<DeviceType> types) {
        if (types.isEmpty()) return "No device kinds are installed.";
        String[] header = {"TYPE", "FACTORY PID", "SETTINGS", "WHAT"};
        List<String[]> rows = types.stream().map(t -> new String[] {
                t.label(), t.factoryPid(), t.settings().isEmpty() ? "-" : String.join(",", t.settings()), t.kind().description()}).toList();
        return table(header, rows);
    }

    /** dev:kinds TYPE: the type's settings from its MetaType, and its vireo run options. */
    static String kind(DeviceType type) {
        StringBuilder out = new StringBuilder();
        out.append(type.label()).append(": ").append(type.kind().description()).append('\n');
        out.append("factory PID: ").append(type.factoryPid()).append(" (dev:add ").append(type.label()).append(" NAME key=value...)\n");
        out.append("settings (besides machine.name, virtio.transport, virtio.ring):\n");
        for (org.vireo.virtio.kind.Setting s : type.kind().settings()) {
            if (!s.kindSpecific()) continue;
            out.append("  ").append(s.key()).append(" (").append(s.type())
                    .append(s.needed() ? ", required" : s.defaultValue().isEmpty() ? "" : ", default " + s.defaultValue())
                    .append(s.options().isEmpty() ? "" : ", one of " + String.join("|", s.options()))
                    .append("): ").append(s.description().isEmpty() ? s.name() : s.description()).append('\n');
        }
        var options = type.kind().runOptions();
        if (!options.isEmpty()) {
            out.append("vireo run:\n");
            for (var o : options) out.append("  ").append(o.synopsis()).append('\n');
        }
        return out.toString().stripTrailing();
    }

    static String settings(Map<String, Object> settings) {
        if (settings.isEmpty()) return "-";
        return settings.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).collect(Collectors.joining(" "));
    }

    static String machines(List<MachineView> machines) {
        if (machines.isEmpty()) return "No machines.";
        String[] header = {"NAME", "KIND", "MEMORY", "DEVICES"};
        List<String[]> rows = machines.stream().map(m -> new String[] {
                m.name(), m.kind(), size(m.memoryBytes()), Integer.toString(m.devices().size())}).toList();
        return table(header, rows);
    }

    static String machine(MachineView m) {
        StringBuilder out = new StringBuilder();
        out.append("Machine ").append(m.name()).append(" (").append(m.kind()).append(")\n");
        out.append("memory: ").append(size(m.memoryBytes())).append('\n');
        section(out, "memory regions", m.memoryRegions());
        section(out, "mmio", m.mmio());
        section(out, "pio", m.pio());
        section(out, "pci slots in use", m.pciSlots());
        section(out, "virtio devices", m.devices().stream().map(d -> d.deviceName() + " at " + d.address()).toList());
        return out.toString().stripTrailing();
    }

    private static void section(StringBuilder out, String title, List<String> lines) {
        out.append(title).append(':');
        if (lines.isEmpty()) out.append(" none\n");
        else {
            out.append('\n');
            for (String line : lines) out.append("  ").append(line).append('\n');
        }
    }

    /** 64 MiB, 1 GiB, 4 KiB, 100 B: the largest binary unit that divides the size. */
    static String size(long bytes) {
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
        int unit = 0;
        while (unit < units.length - 1 && bytes != 0 && bytes % 1024 == 0) {
            bytes /= 1024;
            unit++;
        }
        return bytes + " " + units[unit];
    }

    static String table(String[] header, List<String[]> rows) {
        int[] widths = new int[header.length];
        for (int i = 0; i < header.length; i++) widths[i] = header[i].length();
        for (String[] row : rows) for (int i = 0; i < row.length; i++) widths[i] = Math.max(widths[i], row[i].length());
        StringBuilder out = new StringBuilder();
        line(out, header, widths);
        for (String[] row : rows) line(out, row, widths);
        return out.toString().stripTrailing();
    }

    private static void line(StringBuilder out, String[] cells, int[] widths) {
        StringBuilder l = new StringBuilder();
        for (int i = 0; i < cells.length; i++) {
            l.append(cells[i]);
            if (i < cells.length - 1) l.append(" ".repeat(widths[i] - cells[i].length() + 2));
        }
        out.append(l.toString().stripTrailing()).append('\n');
    }
}
