package org.vireo.shell.impl;

import java.util.Map;
import java.util.TreeMap;

/** One stored device configuration as the shell sees it: its factory PID and properties (service.* excluded). */
record DeviceConfig(String pid, DeviceType type, Map<String, Object> properties) {
    static final String DEVICE_NAME = "virtio.device.name";
    static final String MACHINE = "machine.name";
    static final String TRANSPORT = "virtio.transport";
    /** The virtqueue layout the device offers: split (the default when unset) or packed. */
    static final String RING = "virtio.ring";
    static final String DEFAULT_MACHINE = "java";
    static final String DEFAULT_TRANSPORT = "mmio";

    DeviceConfig {
        properties = Map.copyOf(properties);
    }

    String name() { return string(DEVICE_NAME, type.defaultName()); }

    String machine() { return string(MACHINE, DEFAULT_MACHINE); }

    String transport() { return string(TRANSPORT, DEFAULT_TRANSPORT); }

    /** The type-specific settings that are set, sorted by key. */
    Map<String, Object> settings() {
        Map<String, Object> out = new TreeMap<>();
        properties.forEach((k, v) -> {
            if (!k.equals(DEVICE_NAME) && !k.equals(MACHINE) && !k.equals(TRANSPORT) && !k.startsWith("service.")
                    && !k.startsWith("felix.") && !k.startsWith("component.") && !k.equals("virtio.device.id")) {
                out.put(k, v);
            }
        });
        return out;
    }

    private String string(String key, String fallback) {
        Object v = properties.get(key);
        return v == null || v.toString().isBlank() ? fallback : v.toString();
    }
}
