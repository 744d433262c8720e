package org.vireo.shell.impl;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/** A validated {@code dev:add}: type, name and the properties of the configuration to create. */
record DeviceRequest(DeviceType type, String name, Map<String, Object> properties) {
    private static final Set<String> COMMON = Set.of(DeviceConfig.MACHINE, DeviceConfig.TRANSPORT, DeviceConfig.RING);

    DeviceRequest {
        properties = Map.copyOf(properties);
    }

    String machine() { return (String) properties.get(DeviceConfig.MACHINE); }

    /** Parses {@code dev:add TYPE NAME key=value...}; throws IllegalArgumentException with a message for the user. */
    static DeviceRequest parse(DeviceTypes types, String typeLabel, String name, List<String> settings) {
        DeviceType type = types.of(typeLabel);
        if (name == null || name.isBlank() || !name.matches("[A-Za-z0-9][A-Za-z0-9._-]*")) {
            throw new IllegalArgumentException("Invalid device name '" + name + "': use letters, digits, '.', '_' or '-'.");
        }
        Map<String, Object> props = new LinkedHashMap<>();
        props.put(DeviceConfig.DEVICE_NAME, name);
        props.put(DeviceConfig.MACHINE, DeviceConfig.DEFAULT_MACHINE);
        props.put(DeviceConfig.TRANSPORT, DeviceConfig.DEFAULT_TRANSPORT);
        Set<String> seen = new TreeSet<>();
        for (String setting : settings) {
            int eq = setting.indexOf('=');
            if (eq <= 0) throw new IllegalArgumentException("Expected key=value, got '" + setting + "'.");
            String key = setting.substring(0, eq).strip();
            String value = setting.substring(eq + 1).strip();
            if (!seen.add(key)) throw new IllegalArgumentException("Setting '" + key + "' is given twice.");
            if (key.equals(DeviceConfig.DEVICE_NAME)) {
                throw new IllegalArgumentException("The device name is the second argument; do not set " + key + ".");
            }
            if (!COMMON.contains(key) && !type.settings().contains(key)) {
                Set<String> known = new TreeSet<>(COMMON);
                known.addAll(type.settings());
                throw new IllegalArgumentException("Unknown setting '" + key + "' for a " + type.label() + " device: use " + String.join(", ", known) + ".");
            }
            if (value.isEmpty()) throw new IllegalArgumentException("Setting '" + key + "' has no value.");
            props.put(key, typed(type, key, value));
        }
        String transport = (String) props.get(DeviceConfig.TRANSPORT);
        if (!transport.equals("mmio") && !transport.equals("pci")) {
            throw new IllegalArgumentException("Invalid virtio.transport '" + transport + "': use mmio or pci.");
        }
        Object ring = props.get(DeviceConfig.RING);
        if (ring != null && !ring.equals("split") && !ring.equals("packed")) {
            throw new IllegalArgumentException("Invalid virtio.ring '" + ring + "': use split or packed.");
        }
        for (String key : type.required()) {
            if (!props.containsKey(key)) throw new IllegalArgumentException("A " + type.label() + " device needs " + key + "=...");
        }
        return new DeviceRequest(type, name, props);
    }

    /** The value as its MetaType type says (Boolean, Integer, Long; text otherwise), or a message. */
    private static Object typed(DeviceType type, String key, String value) {
        String metaType = type.setting(key).map(org.vireo.virtio.kind.Setting::type).orElse("String");
        switch (metaType) {
            case "Boolean" -> {
                if (value.equalsIgnoreCase("true")) return Boolean.TRUE;
                if (value.equalsIgnoreCase("false")) return Boolean.FALSE;
                throw new IllegalArgumentException(key + " must be true or false, not '" + value + "'.");
            }
            case "Integer", "Long" -> {
                try {
                    return metaType.equals("Integer") ? (Object) Integer.valueOf(value) : (Object) Long.valueOf(value);
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException(key + " must be a whole number, not '" + value + "'.");
                }
            }
            default -> {
                return value;
            }
        }
    }
}
