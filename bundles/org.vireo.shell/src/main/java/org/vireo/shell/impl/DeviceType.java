package org.vireo.shell.impl;

import java.util.Arrays;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/** The virtio device kinds a user can configure, with their factory PIDs and type-specific settings. */
enum DeviceType {
    BLK("blk", "org.vireo.virtio.blk", "disk", Set.of("path", "readonly", "serial"), Set.of("path")),
    NET("net", "org.vireo.virtio.net", "net", Set.of("backend", "mac"), Set.of()),
    CONSOLE("console", "org.vireo.virtio.console", "console", Set.of("backend"), Set.of()),
    RNG("rng", "org.vireo.virtio.rng", "rng", Set.of("source"), Set.of()),
    FS("fs", "org.vireo.virtio.fs", "fs", Set.of("path", "tag", "readonly", "max.nodes", "max.handles"), Set.of("path"));

    final String label;
    final String factoryPid;
    final String defaultName;
    final Set<String> settings;
    final Set<String> required;

    DeviceType(String label, String factoryPid, String defaultName, Set<String> settings, Set<String> required) {
        this.label = label;
        this.factoryPid = factoryPid;
        this.defaultName = defaultName;
        this.settings = settings;
        this.required = required;
    }

    static String labels() {
        return Arrays.stream(values()).map(t -> t.label).collect(Collectors.joining("|"));
    }

    static DeviceType of(String label) {
        for (DeviceType t : values()) if (t.label.equals(label)) return t;
        throw new IllegalArgumentException("Unknown device type '" + label + "': use one of " + labels() + ".");
    }

    static Optional<DeviceType> byFactoryPid(String factoryPid) {
        return Arrays.stream(values()).filter(t -> t.factoryPid.equals(factoryPid)).findFirst();
    }
}
