package org.vireo.virtio.balloon;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.felix.service.command.Descriptor;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.vireo.virtio.VirtioProperties;
import org.vireo.virtio.device.VirtioDevice;
import org.vireo.virtio.kind.DeviceKind;

/**
 * {@code dev:balloon}: the balloons of this framework, their target and the guest's statistics; {@code dev:balloon
 * NAME SIZE} inflates or deflates one. Brought by this bundle (the shell's dev: scope takes commands from any bundle).
 */
@Component(service = BalloonCommands.class, property = {"osgi.command.scope=dev", "osgi.command.function=balloon"})
public final class BalloonCommands {
    private record Entry(BalloonDevice device, String name, String machine) {}

    private final Map<VirtioDevice, Entry> balloons = new ConcurrentHashMap<>();

    @Reference(service = VirtioDevice.class, target = "(" + DeviceKind.LABEL_PROPERTY + "=balloon)", cardinality = ReferenceCardinality.MULTIPLE,
            policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY, unbind = "removeBalloon")
    void addBalloon(VirtioDevice device, Map<String, Object> properties) {
        if (device instanceof BalloonDevice b) {
            balloons.put(device, new Entry(b, String.valueOf(properties.get(VirtioProperties.DEVICE_NAME)),
                    String.valueOf(properties.get(VirtioProperties.MACHINE))));
        }
    }

    void removeBalloon(VirtioDevice device) { balloons.remove(device); }

    @Descriptor("List the virtio balloons: name, machine, target and actual size, what went back to the host, the guest's memory")
    public String balloon() {
        if (balloons.isEmpty()) return "No virtio balloons (dev:add balloon NAME machine.name=M, or vireo run --balloon).";
        StringBuilder out = new StringBuilder();
        for (Entry e : sorted()) {
            e.device().requestStats();
            out.append(line(e)).append('\n');
        }
        return out.toString().stripTrailing();
    }

    @Descriptor("Show one balloon and ask its guest for fresh statistics (shown by the next call)")
    public String balloon(@Descriptor("the balloon's name, e.g. balloon0") String name) {
        Entry e = find(name);
        boolean asked = e.device().requestStats();
        return line(e) + (asked ? "" : "\n(no statistics request could be made now: no driver, or one is in flight)");
    }

    @Descriptor("Set a balloon's size: the memory its guest gives back (0 deflates it)")
    public String balloon(@Descriptor("the balloon's name, e.g. balloon0") String name,
                          @Descriptor("the size: bytes, or with K, M or G, whole MiB, e.g. 256M") String size) {
        Entry e = find(name);
        long bytes = BalloonKind.parseSize("size", size);
        if (bytes / BalloonDevice.PAGE_SIZE > Integer.MAX_VALUE) throw new IllegalArgumentException("size " + size + " is too large.");
        e.device().setTargetPages((int) (bytes / BalloonDevice.PAGE_SIZE));
        return "Balloon " + e.name() + " on machine " + e.machine() + ": target " + (bytes >> 20) + " MiB (" + e.device().targetPages()
                + " pages); the guest has " + (e.device().actualPages() / 256) + " MiB in it now.";
    }

    private Entry find(String name) {
        List<Entry> matches = sorted().stream().filter(e -> e.name().equals(name)).toList();
        if (matches.isEmpty()) throw new IllegalArgumentException("No balloon named " + name + ".");
        return matches.getFirst();
    }

    private List<Entry> sorted() {
        List<Entry> out = new ArrayList<>(balloons.values());
        out.sort((a, b) -> (a.machine() + "/" + a.name()).compareTo(b.machine() + "/" + b.name()));
        return out;
    }

    private static String line(Entry e) {
        BalloonDevice d = e.device();
        StringBuilder out = new StringBuilder();
        out.append(e.name()).append(" (machine ").append(e.machine()).append("): target ").append(d.targetPages() / 256)
                .append(" MiB, actual ").append(d.actualPages() / 256).append(" MiB; ")
                .append(d.discardedBytes() >> 20).append(" MiB given back to the host (").append(d.reportedBytes() >> 20)
                .append(" MiB of it reported free)");
        Map<String, Long> stats = d.stats();
        if (!stats.isEmpty()) {
            out.append("\n  guest:");
            stats.forEach((k, v) -> out.append(' ').append(k).append('=').append(k.endsWith("memory") || k.equals("disk-caches") ? (v >> 20) + "MiB" : v));
        }
        return out.toString();
    }
}
