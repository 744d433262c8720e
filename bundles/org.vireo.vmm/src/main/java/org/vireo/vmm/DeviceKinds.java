package org.vireo.vmm;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.ServiceLoader;
import org.vireo.virtio.kind.DeviceKind;
import org.vireo.virtio.kind.RunOption;

/**
 * The device kinds a run knows, in their order: in the framework the {@link DeviceKind} services present
 * ({@link FrameworkDeviceKinds}), in plain Java the providers on the class path ({@link #fromClassPath()}). Every device
 * option of {@code vireo run} comes from here; the VMM names no kind itself.
 */
final class DeviceKinds {
    /** One device option and the kind that owns it. */
    record Option(DeviceKind kind, RunOption option) {}

    private final List<DeviceKind> kinds;

    private DeviceKinds(Collection<DeviceKind> kinds) {
        List<DeviceKind> sorted = new ArrayList<>(kinds);
        sorted.sort(Comparator.comparingInt(DeviceKind::order).thenComparing(DeviceKind::label));
        this.kinds = List.copyOf(sorted);
    }

    static DeviceKinds of(Collection<DeviceKind> kinds) { return new DeviceKinds(kinds); }

    /** The kinds listed in META-INF/services of the jars on this class's class path (a run without a framework). */
    static DeviceKinds fromClassPath() {
        List<DeviceKind> found = new ArrayList<>();
        var providers = ServiceLoader.load(DeviceKind.class, DeviceKinds.class.getClassLoader()).iterator();
        while (true) {
            try {
                if (!providers.hasNext()) break;
                found.add(providers.next());
            } catch (java.util.ServiceConfigurationError | ExceptionInInitializerError e) {
                // A broken kind on the class path costs its own options, not the run.
                System.getLogger(DeviceKinds.class.getName()).log(System.Logger.Level.WARNING, "a device kind could not be loaded: " + e);
            }
        }
        return new DeviceKinds(found);
    }

    List<DeviceKind> all() { return kinds; }

    /** The kind owning option {@code name} (the first in order, should two kinds claim it). */
    Optional<Option> option(String name) {
        for (DeviceKind k : kinds) {
            for (RunOption o : k.runOptions()) if (o.name().equals(name)) return Optional.of(new Option(k, o));
        }
        return Optional.empty();
    }

    /** Every device option, in bus order (the options' order, then the kinds'). */
    List<Option> options() {
        List<Option> out = new ArrayList<>();
        for (DeviceKind k : kinds) for (RunOption o : k.runOptions()) out.add(new Option(k, o));
        out.sort(Comparator.comparingInt(o -> o.option().order()));
        return out;
    }
}
