package org.vireo.shell.impl;

import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import org.vireo.virtio.kind.DeviceKind;
import org.vireo.virtio.kind.Setting;

/**
 * A virtio device kind a user can configure, as the shell sees it: read from the kind's bundle ({@link DeviceKind}
 * and its MetaType), never listed here.
 */
record DeviceType(DeviceKind kind) {
    String label() { return kind.label(); }

    String factoryPid() { return kind.factoryPid(); }

    String defaultName() { return kind.defaultName(); }

    /** The kind's own settings (the common ones left out). */
    Set<String> settings() {
        Set<String> out = new TreeSet<>();
        for (Setting s : kind.settings()) if (s.kindSpecific()) out.add(s.key());
        return out;
    }

    /** The kind's own settings a configuration must set (they have no default). */
    Set<String> required() {
        Set<String> out = new TreeSet<>();
        for (Setting s : kind.settings()) if (s.kindSpecific() && s.needed()) out.add(s.key());
        return out;
    }

    Optional<Setting> setting(String key) {
        return kind.settings().stream().filter(s -> s.key().equals(key)).findFirst();
    }
}
