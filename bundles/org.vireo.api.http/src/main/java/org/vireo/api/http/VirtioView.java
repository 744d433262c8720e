package org.vireo.api.http;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.vireo.virtio.VirtioFeatures;
import org.vireo.virtio.VirtioIds;
import org.vireo.virtio.VirtioStatus;
import org.vireo.virtio.VirtioTransportInfo;
import org.vireo.virtio.VirtioTransportInfo.QueueInfo;
import org.vireo.virtio.bus.VirtioBus.Binding;

/**
 * What {@code virtio:devices} shows, as JSON-ready maps: for each plugged device its machine, transport and address,
 * status (raw and decoded), negotiated and offered features, queues, backend and driver. The driver is "guest" on a
 * machine with a CPU (the guest's kernel drives it), else the Java driver the virtio bus bound, else "-", as in the
 * shell.
 */
final class VirtioView {
    static final String GUEST = "guest";
    static final String NONE = "-";

    private VirtioView() {}

    /**
     * @param javaGuestByMachine machine name to whether it has a Java guest (machines not in it are unknown)
     */
    static List<Map<String, Object>> devices(List<VirtioTransportInfo> infos, List<Binding> bindings, Map<String, Boolean> javaGuestByMachine) {
        Map<String, Binding> byDevice = new HashMap<>();
        for (Binding b : bindings) byDevice.put(b.device(), b);
        List<Map<String, Object>> out = new ArrayList<>();
        infos.stream().sorted(Comparator.comparing(VirtioTransportInfo::machine, Comparator.nullsFirst(Comparator.naturalOrder()))
                .thenComparing(VirtioTransportInfo::name, Comparator.nullsFirst(Comparator.naturalOrder())))
                .forEach(info -> out.add(device(info, driverOf(info, byDevice, javaGuestByMachine))));
        return out;
    }

    static String driverOf(VirtioTransportInfo info, Map<String, Binding> bindingsByDevice, Map<String, Boolean> javaGuestByMachine) {
        if (Boolean.FALSE.equals(javaGuestByMachine.get(info.machine()))) return GUEST;
        Binding b = bindingsByDevice.get(info.name());
        return b != null && b.driver() != null ? b.driver() : NONE;
    }

    static Map<String, Object> device(VirtioTransportInfo info, String driver) {
        int id = info.deviceId();
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("id", info.name());
        d.put("name", info.deviceName());
        d.put("type", VirtioIds.name(id));
        d.put("deviceId", id);
        d.put("machine", info.machine());
        d.put("transport", info.transport());
        d.put("address", info.address());
        d.put("status", info.status());
        d.put("statusText", VirtioStatus.describe(info.status()));
        d.put("features", hex(info.driverFeatures()));
        d.put("featuresText", VirtioFeatures.describe(id, info.driverFeatures()));
        d.put("offered", hex(info.deviceFeatures()));
        d.put("offeredText", VirtioFeatures.describe(id, info.deviceFeatures()));
        List<Map<String, Object>> queues = new ArrayList<>();
        List<QueueInfo> qs = info.queues();
        if (qs != null) {
            for (QueueInfo q : qs) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("index", q.index());
                m.put("size", q.size());
                m.put("maxSize", q.maxSize());
                m.put("ready", q.ready());
                m.put("availIndex", q.availIndex());
                m.put("lastAvailIndex", q.lastAvailIndex());
                m.put("usedIndex", q.usedIndex());
                queues.add(m);
            }
        }
        d.put("queues", queues);
        String backend = info.backend();
        d.put("backend", backend == null || backend.isEmpty() ? NONE : backend);
        d.put("driver", driver);
        return d;
    }

    private static String hex(long value) { return "0x" + Long.toHexString(value); }
}
