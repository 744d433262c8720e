package org.vireo.virtio.balloon;

import java.io.IOException;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.osgi.service.component.annotations.Component;
import org.vireo.virtio.kind.DeviceEnvironment;
import org.vireo.virtio.kind.DeviceInstance;
import org.vireo.virtio.kind.DeviceKind;
import org.vireo.virtio.kind.MetaTypeSettings;
import org.vireo.virtio.kind.RunOption;
import org.vireo.virtio.kind.Setting;
import org.vireo.virtio.kind.Settings;

/**
 * The virtio-balloon device kind: settings from {@link BalloonDeviceComponent.Config}, {@code vireo run --balloon}, the
 * factory (the device and, with {@code control=PATH}, its {@link BalloonControl} socket).
 */
@Component(service = DeviceKind.class, property = DeviceKind.LABEL_PROPERTY + "=balloon")
public final class BalloonKind implements DeviceKind {
    private static final List<Setting> SETTINGS = MetaTypeSettings.of(BalloonDeviceComponent.Config.class);
    private static final RunOption BALLOON = new RunOption("--balloon", "target=SIZE,control=PATH,deflate-on-oom,no-reporting", false, 70, """
            virtio-balloon (balloon0; the guest's virtio_balloon driver): the host takes memory back from the
            guest. target=SIZE (K, M or G) starts it inflated; control=PATH opens a Unix socket where a host
            program writes "target SIZE" to inflate or deflate and "stats" to read the guest's memory statistics
            (also dev:balloon in the shell); deflate-on-oom lets the guest take pages back when it runs out;
            no-reporting turns free page reporting off. Pages the guest gives up, and the free pages it reports,
            return to the host""", true);

    @Override public String label() { return "balloon"; }

    @Override public String factoryPid() { return BalloonDeviceComponent.PID; }

    @Override public int order() { return 70; }

    @Override public String description() { return "virtio-balloon: memory the host takes back from the guest, statistics, free page reporting"; }

    @Override public List<Setting> settings() { return SETTINGS; }

    @Override public List<RunOption> runOptions() { return List.of(BALLOON); }

    @Override
    public Map<String, Object> parseRunOption(RunOption.Occurrence o) {
        if (o.occurrence() > 0) throw new IllegalArgumentException(o.spelled() + " given twice: a machine has one balloon");
        Map<String, Object> settings = new HashMap<>();
        if (o.value() == null || o.value().isEmpty()) return settings;
        for (String part : o.value().split(",")) {
            if (part.equals("deflate-on-oom")) settings.put("deflate.on.oom", true);
            else if (part.equals("no-reporting")) settings.put("reporting", false);
            else if (part.startsWith("target=")) {
                long bytes = parseSize(o.spelled(), part.substring(7));
                settings.put("target.mib", (int) (bytes >> 20));
            } else if (part.startsWith("control=") && part.length() > 8) {
                String path = part.substring(8);
                try {
                    settings.put("control", Path.of(path).toAbsolutePath().toString());
                } catch (InvalidPathException e) {
                    throw new IllegalArgumentException(o.spelled() + ": bad control socket path " + path + " (" + e.getReason() + ")");
                }
            } else {
                throw new IllegalArgumentException(o.spelled() + ": unknown balloon option \"" + part
                        + "\" (use target=SIZE, control=PATH, deflate-on-oom, no-reporting)");
            }
        }
        return settings;
    }

    /** A size in bytes: a whole number of MiB, given in bytes or with a K, M or G suffix. */
    static long parseSize(String what, String text) {
        String t = text.strip().toUpperCase(Locale.ROOT);
        long unit = 1;
        if (t.endsWith("K")) unit = 1L << 10;
        else if (t.endsWith("M")) unit = 1L << 20;
        else if (t.endsWith("G")) unit = 1L << 30;
        if (unit != 1) t = t.substring(0, t.length() - 1);
        try {
            long n = Long.parseLong(t);
            if (n < 0 || n > (16L << 40) / unit) throw new NumberFormatException();
            long bytes = n * unit;
            if (bytes % (1L << 20) != 0) throw new IllegalArgumentException(what + ": " + text + " is not a whole number of MiB");
            return bytes;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(what + ": \"" + text + "\" is not a size such as 256M or 1G");
        }
    }

    @Override
    public String describe(String name, Map<String, ?> settings) {
        Settings s = Settings.of(SETTINGS, settings);
        StringBuilder out = new StringBuilder(name + ": virtio-balloon, target " + s.integer("target.mib") + " MiB");
        if (s.bool("deflate.on.oom")) out.append(", deflate on OOM");
        if (!s.bool("reporting")) out.append(", no free page reporting");
        if (!s.string("control").isEmpty()) out.append(", control socket ").append(s.string("control"));
        return out.toString();
    }

    @Override
    public DeviceInstance create(Map<String, ?> configuration, DeviceEnvironment environment) throws IOException {
        Settings s = Settings.of(SETTINGS, configuration);
        int mib = s.integer("target.mib");
        if (mib < 0 || mib > (8 << 20)) throw new IllegalArgumentException("target.mib must be 0 to 8388608, not " + mib);
        BalloonDevice device = new BalloonDevice(s.string(Setting.DEVICE_NAME), mib * 256, s.bool("deflate.on.oom"), s.bool("reporting"));
        String control = s.string("control");
        if (control.isEmpty()) return new DeviceInstance(device, Map.of(), device);
        BalloonControl socket;
        try {
            socket = BalloonControl.open(device, Path.of(control));
        } catch (InvalidPathException e) {
            throw new IllegalArgumentException("bad control socket path \"" + control + "\": " + e.getReason());
        }
        return new DeviceInstance(device, Map.of(), socket);
    }
}
