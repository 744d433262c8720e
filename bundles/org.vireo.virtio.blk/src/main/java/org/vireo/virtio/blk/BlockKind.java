package org.vireo.virtio.blk;

import java.io.IOException;
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

/** The virtio-blk device kind: settings from {@link BlockDeviceComponent.Config}, {@code vireo run --disk}, the factory. */
@Component(service = DeviceKind.class, property = DeviceKind.LABEL_PROPERTY + "=blk")
public final class BlockKind implements DeviceKind {
    private static final List<Setting> SETTINGS = MetaTypeSettings.of(BlockDeviceComponent.Config.class);
    private static final RunOption DISK = new RunOption("--disk", "FILE[,ro]", true, 10, """
            virtio-blk on a raw image FILE (its size in 512-byte sectors is the disk's); ",ro" makes it
            read-only. Repeatable: the first is disk0 (/dev/vda in the guest), the next disk1 (/dev/vdb)...""");

    @Override public String label() { return "blk"; }

    @Override public String factoryPid() { return BlockDeviceComponent.PID; }

    @Override public int order() { return 10; }

    @Override public String description() { return "virtio-blk: a disk on a raw image file"; }

    @Override public List<Setting> settings() { return SETTINGS; }

    @Override public List<RunOption> runOptions() { return List.of(DISK); }

    /** FILE or FILE,ro: an existing regular file, writable unless read-only. */
    @Override
    public Map<String, Object> parseRunOption(RunOption.Occurrence o) {
        String option = o.spelled(), value = o.value();
        String file = value;
        boolean readOnly = false;
        int comma = value.lastIndexOf(',');
        if (comma >= 0) {
            String flag = value.substring(comma + 1);
            if (!flag.equals("ro")) {
                throw new IllegalArgumentException(option + " " + value + ": unknown disk option \"" + flag + "\" (the only one is ro, as in " + option + " FILE,ro)");
            }
            readOnly = true;
            file = value.substring(0, comma);
        }
        if (file.isEmpty()) throw new IllegalArgumentException(option + " needs a file name");
        Path image;
        try {
            image = Path.of(file);
        } catch (InvalidPathException e) {
            throw new IllegalArgumentException(option + ": bad file name " + file + " (" + e.getReason() + ")");
        }
        if (!Files.exists(image)) throw new IllegalArgumentException(option + ": no disk image at " + image + " (create one, e.g. truncate -s 64M " + image + ")");
        if (!Files.isRegularFile(image)) throw new IllegalArgumentException(option + ": " + image + " is not a regular file (a raw image file is needed)");
        if (!Files.isReadable(image)) throw new IllegalArgumentException(option + ": cannot read " + image);
        if (!readOnly && !Files.isWritable(image)) throw new IllegalArgumentException(option + ": cannot write " + image + " (add ,ro for a read-only disk)");
        return Map.of("path", image.toAbsolutePath().toString(), "readonly", readOnly);
    }

    @Override
    public String describe(String name, Map<String, ?> settings) {
        Settings s = Settings.of(SETTINGS, settings);
        return String.format("%s: virtio-blk on %s%s", name, s.string("path"), s.bool("readonly") ? " (read-only)" : "");
    }

    @Override
    public DeviceInstance create(Map<String, ?> configuration, DeviceEnvironment environment) throws IOException {
        Settings s = Settings.of(SETTINGS, configuration);
        String name = s.string(Setting.DEVICE_NAME);
        String file = s.string("path");
        if (file.isEmpty()) throw new IllegalArgumentException("no image path configured (property 'path')");
        Path path;
        try {
            path = Path.of(file);
        } catch (InvalidPathException e) {
            throw new IllegalArgumentException("bad image path \"" + file + "\": " + e.getReason());
        }
        boolean readOnly = s.bool("readonly");
        String serial = s.string("serial").isEmpty() ? name : s.string("serial");
        RawImage image;
        try {
            image = RawImage.open(path, readOnly);
        } catch (NoSuchFileException e) {
            throw new IOException("disk image " + e.getFile() + " does not exist", e);
        }
        BlockDevice device;
        try {
            device = new BlockDevice(image, serial, name);
        } catch (RuntimeException e) {
            image.close();
            throw e;
        }
        return new DeviceInstance(device, Map.of("path", path.toString(), "readonly", readOnly, "serial", serial), image);
    }
}
