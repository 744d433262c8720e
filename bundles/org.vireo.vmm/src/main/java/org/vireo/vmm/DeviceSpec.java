package org.vireo.vmm;

import java.util.HashMap;
import java.util.Map;
import org.vireo.virtio.VirtioProperties;
import org.vireo.virtio.kind.DeviceKind;
import org.vireo.virtio.ring.RingLayout;

/**
 * One virtio device of {@code vireo run}, as its kind parsed it from an option: the kind, the device's name
 * ({@code virtio.device.name}: disk0, net0...) and the kind-specific settings of its configuration. Nothing here knows
 * one kind from another.
 */
record DeviceSpec(DeviceKind kind, String name, Map<String, Object> settings) {
    DeviceSpec {
        settings = Map.copyOf(settings);
    }

    /** The factory PID of the device's configuration. */
    String factoryPid() { return kind.factoryPid(); }

    /** The line the run prints for it. */
    String describe() { return kind.describe(name, settings); }

    /** The device's whole configuration on {@code machine}: its settings and the common ones. */
    Map<String, Object> configuration(String machine, String transport, RingLayout ring) {
        Map<String, Object> props = new HashMap<>(settings);
        props.put(VirtioProperties.DEVICE_NAME, name);
        props.put(VirtioProperties.MACHINE, machine);
        props.put(VirtioProperties.RING, ring.setting());
        props.put(VirtioProperties.TRANSPORT, transport);
        return props;
    }

    @Override
    public String toString() { return name + " " + kind.label() + " " + new java.util.TreeMap<>(settings); }
}
