package org.vireo.api.http;

import static org.junit.Assert.assertEquals;

import java.util.List;
import java.util.Map;
import org.junit.Test;
import org.vireo.virtio.VirtioIds;
import org.vireo.virtio.VirtioStatus;
import org.vireo.virtio.VirtioTransportInfo;
import org.vireo.virtio.bus.VirtioBus.Binding;

public class VirtioViewTest {
    private static VirtioTransportInfo info(String name, String machine) {
        return new VirtioTransportInfo() {
            @Override public String name() { return name; }
            @Override public String transport() { return "mmio"; }
            @Override public String address() { return "0xd0000000 irq 5"; }
            @Override public String machine() { return machine; }
            @Override public int deviceId() { return VirtioIds.RNG; }
            @Override public String deviceName() { return "rng0"; }
            @Override public int status() { return VirtioStatus.ACKNOWLEDGE | VirtioStatus.DRIVER | VirtioStatus.FEATURES_OK | VirtioStatus.DRIVER_OK; }
            @Override public long deviceFeatures() { return 1L << 32; }
            @Override public long driverFeatures() { return 1L << 32; }
            @Override public List<QueueInfo> queues() { return List.of(new QueueInfo(0, 256, 256, true, 3, 3, 3)); }
            @Override public String backend() { return "securerandom"; }
        };
    }

    @Test
    public void theDriverIsTheGuestsOnACpuMachineElseTheBoundJavaDriver() {
        VirtioTransportInfo onVm = info("vm/mmio@0xd0000000", "vm");
        VirtioTransportInfo onJava = info("java/mmio@0xd0000000", "java");
        VirtioTransportInfo unbound = info("java/mmio@0xd0000200", "java");
        List<Binding> bindings = List.of(new Binding("java/mmio@0xd0000000", VirtioIds.RNG, "mmio", "java", "virtio-rng", 15));
        List<Map<String, Object>> view = VirtioView.devices(List.of(unbound, onVm, onJava), bindings, Map.of("vm", false, "java", true));
        assertEquals(List.of("java/mmio@0xd0000000", "java/mmio@0xd0000200", "vm/mmio@0xd0000000"), view.stream().map(d -> d.get("id")).toList());
        assertEquals(List.of("virtio-rng", "-", "guest"), view.stream().map(d -> d.get("driver")).toList());
        Map<String, Object> d = view.getFirst();
        assertEquals("rng", d.get("type"));
        assertEquals("0x100000000", d.get("features"));
        assertEquals(VirtioStatus.describe(15), d.get("statusText"));
        assertEquals(1, ((List<?>) d.get("queues")).size());
    }
}
