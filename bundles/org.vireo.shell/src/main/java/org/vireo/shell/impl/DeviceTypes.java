package org.vireo.shell.impl;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;
import org.vireo.virtio.kind.DeviceKind;

/**
 * The device kinds present: in the framework the {@link DeviceKind} services (a component adds and removes them as
 * they come and go), in unit tests the providers on the class path. Listed in the kinds' order.
 */
final class DeviceTypes {
    private final List<DeviceKind> kinds = new CopyOnWriteArrayList<>();

    void add(DeviceKind kind) { kinds.add(kind); }

    void remove(DeviceKind kind) { kinds.remove(kind); }

    /** The kinds on the class path (META-INF/services), for use without a framework. */
    static DeviceTypes fromClassPath() {
        DeviceTypes types = new DeviceTypes();
        ServiceLoader.load(DeviceKind.class, DeviceTypes.class.getClassLoader()).forEach(types::add);
        return types;
    }

    List<DeviceType> all() {
        List<DeviceKind> sorted = new ArrayList<>(kinds);
        sorted.sort(Comparator.comparingInt(DeviceKind::order).thenComparing(DeviceKind::label));
        List<DeviceType> out = new ArrayList<>();
        for (DeviceKind k : sorted) {
            if (out.stream().noneMatch(t -> t.label().equals(k.label()))) out.add(new DeviceType(k));
        }
        return out;
    }

    String labels() {
        return all().stream().map(DeviceType::label).collect(Collectors.joining("|"));
    }

    DeviceType of(String label) {
        for (DeviceType t : all()) if (t.label().equals(label)) return t;
        String labels = labels();
        throw new IllegalArgumentException("Unknown device type '" + label + "': "
                + (labels.isEmpty() ? "no device kind is installed." : "use one of " + labels + "."));
    }

    Optional<DeviceType> byFactoryPid(String factoryPid) {
        return all().stream().filter(t -> t.factoryPid().equals(factoryPid)).findFirst();
    }
}
