package org.vireo.virtio.shell.impl;

import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;
import org.vireo.virtio.VirtioFeatures;
import org.vireo.virtio.VirtioIds;
import org.vireo.virtio.VirtioStatus;
import org.vireo.virtio.VirtioTransportInfo;
import org.vireo.virtio.VirtioTransportInfo.QueueInfo;
import org.vireo.virtio.bus.VirtioBus.Binding;
import org.vireo.virtio.driver.VirtioDeviceId;

/** Formats what the virtio shell commands show, from plain values (no OSGi), so it can be tested on its own. */
final class VirtioFormatter {
    /** Shown as the driver of a device whose machine has a CPU: the guest's own kernel drives it. */
    static final String GUEST = "guest";
    static final String NONE = "-";

    /** A driver as {@code virtio:drivers} shows it. */
    record DriverView(String name, List<VirtioDeviceId> ids, long features, List<String> boundTo) {}

    private VirtioFormatter() {}

    /**
     * Who drives {@code info}: the guest kernel on a machine with a CPU, else the Java driver the bus bound, or "-".
     *
     * @param javaGuestByMachine machine name to whether it has a Java guest; machines not in it are unknown
     */
    static String driverOf(VirtioTransportInfo info, Map<String, Binding> bindingsByDevice, Map<String, Boolean> javaGuestByMachine) {
        if (Boolean.FALSE.equals(javaGuestByMachine.get(info.machine()))) return GUEST;
        Binding b = bindingsByDevice.get(info.name());
        return b != null && b.driver() != null ? b.driver() : NONE;
    }

    static String devices(List<VirtioTransportInfo> infos, Map<String, String> driverByDevice) {
        if (infos.isEmpty()) return "No virtio devices.";
        StringBuilder sb = new StringBuilder();
        for (VirtioTransportInfo info : sorted(infos)) {
            if (!sb.isEmpty()) sb.append('\n');
            device(sb, info, driverByDevice.getOrDefault(info.name(), NONE));
        }
        return sb.toString();
    }

    static String device(VirtioTransportInfo info, String driver) {
        StringBuilder sb = new StringBuilder();
        device(sb, info, driver);
        return sb.toString();
    }

    private static List<VirtioTransportInfo> sorted(List<VirtioTransportInfo> infos) {
        return infos.stream()
                .sorted(Comparator.comparing(VirtioTransportInfo::machine, Comparator.nullsFirst(Comparator.naturalOrder()))
                        .thenComparing(VirtioTransportInfo::name, Comparator.nullsFirst(Comparator.naturalOrder())))
                .toList();
    }

    private static void device(StringBuilder sb, VirtioTransportInfo info, String driver) {
        int id = info.deviceId();
        sb.append(info.name()).append("  ").append(VirtioIds.name(id));
        if (info.deviceName() != null && !info.deviceName().isEmpty()) sb.append("  ").append(info.deviceName());
        sb.append('\n');
        line(sb, "machine", info.machine());
        line(sb, "transport", info.transport() + " " + info.address());
        line(sb, "status", VirtioStatus.describe(info.status()));
        line(sb, "features", VirtioFeatures.describe(id, info.driverFeatures()));
        line(sb, "offered", VirtioFeatures.describe(id, info.deviceFeatures()));
        List<QueueInfo> queues = info.queues();
        if (queues == null || queues.isEmpty()) line(sb, "queues", NONE);
        else for (QueueInfo q : queues) line(sb, "queue " + q.index(), queue(q));
        String backend = info.backend();
        line(sb, "backend", backend == null || backend.isEmpty() ? NONE : backend);
        line(sb, "driver", driver);
    }

    static String queue(QueueInfo q) {
        return String.format("size %d/%d %s avail %d last-avail %d used %d", q.size(), q.maxSize(),
                q.ready() ? "ready" : "off", q.availIndex(), q.lastAvailIndex(), q.usedIndex());
    }

    static String drivers(List<DriverView> drivers) {
        if (drivers.isEmpty()) return "No virtio drivers.";
        StringBuilder sb = new StringBuilder();
        for (DriverView d : drivers.stream().sorted(Comparator.comparing(DriverView::name)).toList()) {
            if (!sb.isEmpty()) sb.append('\n');
            sb.append(d.name()).append('\n');
            StringJoiner ids = new StringJoiner(", ");
            for (VirtioDeviceId id : d.ids()) ids.add(id(id));
            line(sb, "ids", ids.length() == 0 ? NONE : ids.toString());
            int deviceId = d.ids().isEmpty() ? -1 : d.ids().getFirst().device();
            line(sb, "features", VirtioFeatures.describe(deviceId, d.features()));
            line(sb, "bound", d.boundTo().isEmpty() ? NONE : String.join(", ", d.boundTo()));
        }
        return sb.toString();
    }

    static String id(VirtioDeviceId id) {
        return VirtioIds.name(id.device()) + (id.vendor() == VirtioDeviceId.ANY ? " (any vendor)" : String.format(" (vendor 0x%08x)", id.vendor()));
    }

    private static void line(StringBuilder sb, String label, String value) {
        sb.append(String.format("  %-10s %s", label, value)).append('\n');
    }
}
