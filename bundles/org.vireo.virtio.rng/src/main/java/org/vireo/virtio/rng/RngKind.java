package org.vireo.virtio.rng;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.osgi.service.component.annotations.Component;
import org.vireo.virtio.kind.DeviceEnvironment;
import org.vireo.virtio.kind.DeviceInstance;
import org.vireo.virtio.kind.DeviceKind;
import org.vireo.virtio.kind.MetaTypeSettings;
import org.vireo.virtio.kind.RunOption;
import org.vireo.virtio.kind.Setting;
import org.vireo.virtio.kind.Settings;

/** The virtio-rng device kind: settings from {@link RngDeviceComponent.Config}, {@code vireo run --rng}, the factory. */
@Component(service = DeviceKind.class, property = DeviceKind.LABEL_PROPERTY + "=rng")
public final class RngKind implements DeviceKind {
    /** What {@code --rng} feeds the guest from. */
    static final String RUN_SOURCE = "/dev/urandom";
    private static final List<Setting> SETTINGS = MetaTypeSettings.of(RngDeviceComponent.Config.class);
    private static final RunOption RNG = new RunOption("--rng", null, false, 30,
            "virtio-rng (rng0) fed from the host's /dev/urandom (the guest's /dev/hwrng)");

    @Override public String label() { return "rng"; }

    @Override public String factoryPid() { return RngDeviceComponent.PID; }

    @Override public int order() { return 40; }

    @Override public String description() { return "virtio-rng: random bytes for the guest from a host file or the JVM's SecureRandom"; }

    @Override public List<Setting> settings() { return SETTINGS; }

    @Override public List<RunOption> runOptions() { return List.of(RNG); }

    @Override
    public Map<String, Object> parseRunOption(RunOption.Occurrence o) {
        if (o.occurrence() > 0) throw new IllegalArgumentException(o.spelled() + " given twice");
        return Map.of("source", RUN_SOURCE);
    }

    @Override
    public String describe(String name, Map<String, ?> settings) {
        return name + ": virtio-rng from " + source(Settings.of(SETTINGS, settings));
    }

    @Override
    public DeviceInstance create(Map<String, ?> configuration, DeviceEnvironment environment) throws IOException {
        Settings s = Settings.of(SETTINGS, configuration);
        String source = source(s);
        EntropySource entropy = source.equals(RngDeviceComponent.SECURE_RANDOM) ? new SecureRandomSource() : new FileSource(Path.of(source));
        RngDevice device = new RngDevice(entropy, s.string(Setting.DEVICE_NAME));
        return new DeviceInstance(device, Map.of("source", source), device::close);
    }

    private static String source(Settings s) {
        String source = s.string("source");
        return source.isEmpty() ? RngDeviceComponent.SECURE_RANDOM : source;
    }
}
