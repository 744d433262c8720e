package org.vireo.virtio.fs;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
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

/** The virtio-fs device kind: settings from {@link FsDeviceComponent.Config}, {@code vireo run --share}, the factory. */
@Component(service = DeviceKind.class, property = DeviceKind.LABEL_PROPERTY + "=fs")
public final class FsKind implements DeviceKind {
    private static final List<Setting> SETTINGS = MetaTypeSettings.of(FsDeviceComponent.Config.class);
    private static final RunOption SHARE = new RunOption("--share", "DIR[,tag=TAG][,ro]", true, 50, """
            virtio-fs (fs0, fs1...): the host directory DIR, served by Vireo itself (no virtiofsd);
            in the guest: mount -t virtiofs TAG /mnt (TAG defaults to the device name). Nothing
            outside DIR is reachable, host symlinks are never followed; ",ro" refuses every change.
            Repeatable""");

    @Override public String label() { return "fs"; }

    @Override public String factoryPid() { return FsDeviceComponent.PID; }

    @Override public int order() { return 50; }

    @Override public String description() { return "virtio-fs: a host directory shared with the guest (FUSE served in the VMM)"; }

    @Override public List<Setting> settings() { return SETTINGS; }

    @Override public List<RunOption> runOptions() { return List.of(SHARE); }

    /** DIR[,tag=TAG][,ro]: an existing directory; the options are read from the end, so DIR may hold commas. */
    @Override
    public Map<String, Object> parseRunOption(RunOption.Occurrence o) {
        String option = o.spelled(), value = o.value();
        String dir = value;
        String tag = null;
        boolean readOnly = false;
        while (true) {
            int comma = dir.lastIndexOf(',');
            if (comma < 0) break;
            String flag = dir.substring(comma + 1);
            if (flag.equals("ro") && !readOnly) readOnly = true;
            else if (flag.startsWith("tag=") && tag == null) tag = flag.substring(4);
            else break;
            dir = dir.substring(0, comma);
        }
        if (tag == null) tag = o.name();
        if (tag.isEmpty() || tag.getBytes(StandardCharsets.UTF_8).length > 36) {
            throw new IllegalArgumentException(option + " " + value + ": the tag must be 1 to 36 bytes, not \"" + tag + "\"");
        }
        for (Map<String, Object> other : o.earlier()) {
            if (tag.equals(other.get("tag"))) throw new IllegalArgumentException(option + " " + value + ": tag " + tag + " is already used by " + other.get("path"));
        }
        if (dir.isEmpty()) throw new IllegalArgumentException(option + " needs a file name");
        Path path;
        try {
            path = Path.of(dir);
        } catch (InvalidPathException e) {
            throw new IllegalArgumentException(option + ": bad file name " + dir + " (" + e.getReason() + ")");
        }
        if (!Files.isDirectory(path)) throw new IllegalArgumentException(option + ": " + path + " is not a directory");
        return Map.of("path", path.toAbsolutePath().toString(), "tag", tag, "readonly", readOnly);
    }

    @Override
    public String describe(String name, Map<String, ?> settings) {
        Settings s = Settings.of(SETTINGS, settings);
        String tag = s.string("tag").isEmpty() ? name : s.string("tag");
        return String.format("%s: virtio-fs sharing %s as tag %s%s (mount -t virtiofs %s DIR)",
                name, s.string("path"), tag, s.bool("readonly") ? " (read-only)" : "", tag);
    }

    @Override
    public DeviceInstance create(Map<String, ?> configuration, DeviceEnvironment environment) throws IOException {
        Settings s = Settings.of(SETTINGS, configuration);
        String name = s.string(Setting.DEVICE_NAME);
        if (s.string("path").isEmpty()) throw new IllegalArgumentException("no directory configured (property 'path')");
        int maxNodes = s.integer("max.nodes"), maxHandles = s.integer("max.handles");
        if (maxNodes < 2 || maxHandles < 1) throw new IllegalArgumentException("max.nodes must be at least 2 and max.handles at least 1");
        String tag = s.string("tag").isEmpty() ? name : s.string("tag");
        boolean readOnly = s.bool("readonly");
        FsDevice device;
        try {
            device = new FsDevice(Path.of(s.string("path")), tag, readOnly, name, maxNodes, maxHandles);
        } catch (NoSuchFileException e) {
            throw new IOException("directory " + e.getFile() + " does not exist", e);
        } catch (InvalidPathException e) {
            throw new IllegalArgumentException("bad directory \"" + s.string("path") + "\": " + e.getReason());
        }
        return new DeviceInstance(device, Map.of("path", device.directory().toString(), "tag", tag, "readonly", readOnly), device::close);
    }
}
