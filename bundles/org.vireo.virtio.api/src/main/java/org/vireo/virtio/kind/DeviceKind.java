package org.vireo.virtio.kind;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * One kind of virtio device, owned by its bundle: everything the VMM, the shell and {@code vireo run} need to know
 * about it, and the one factory of its devices. A device bundle registers its kind as a service (with
 * {@value #LABEL_PROPERTY} = {@link #label()}) and lists it in {@code META-INF/services/org.vireo.virtio.kind.DeviceKind}
 * for runs without a framework; nothing outside the bundle names the kind. Implementations hold no state: one instance
 * serves every device.
 */
@ConsumerType
public interface DeviceKind {
    /** The service property holding {@link #label()}. */
    String LABEL_PROPERTY = "virtio.kind";

    /** The short name users type ({@code dev:add blk ...}): lower-case letters and digits, unique among kinds. */
    String label();

    /** The factory PID of the kind's device configurations, e.g. {@code org.vireo.virtio.blk}. */
    String factoryPid();

    /**
     * Where the kind sits in listings (the shell's messages, {@code dev:kinds}, the help of {@code vireo run}); lower
     * first. The built-in kinds use 10 (blk) to 50 (fs); a new kind picks a free number above.
     */
    int order();

    /** One line: what a device of this kind is, e.g. "virtio-blk: a disk on a raw image file". */
    String description();

    /**
     * Every setting of the kind's configuration, the common ones ({@code virtio.device.name}, {@code machine.name},
     * {@code virtio.transport}) included: normally {@link MetaTypeSettings#of(Class)} of the bundle's
     * {@code @ObjectClassDefinition}, so names, types and defaults are written once.
     */
    List<Setting> settings();

    /** The device name when the configuration sets none; also the stem of {@code vireo run}'s names (disk → disk0). */
    default String defaultName() {
        for (Setting s : settings()) {
            if (s.key().equals(Setting.DEVICE_NAME) && s.defaultValue() != null && !s.defaultValue().isEmpty()) return s.defaultValue();
        }
        return label();
    }

    /** The options of {@code vireo run} that make devices of this kind; empty when there are none. */
    default List<RunOption> runOptions() { return List.of(); }

    /**
     * Turns one occurrence of one of {@link #runOptions()} into the kind-specific settings of a device (the common
     * ones are the VMM's), or null when the occurrence asks for no device (as {@code --net none}).
     *
     * @throws IllegalArgumentException with a message for the user that starts with the option as given
     */
    default Map<String, Object> parseRunOption(RunOption.Occurrence occurrence) {
        throw new IllegalArgumentException(occurrence.spelled() + " is not handled by the " + label() + " device kind");
    }

    /** The line {@code vireo run} prints for a device made from {@code settings}, e.g. "disk0: virtio-blk on /x.img". */
    String describe(String name, Map<String, ?> settings);

    /**
     * Makes one device from a configuration (as ConfigurationAdmin or {@code vireo run} gives it: values may be
     * strings or typed; {@link Settings} reads them). The bundle's configuration component and a run without a
     * framework both call this.
     *
     * @throws IOException              when a host resource (file, socket) cannot be opened
     * @throws IllegalArgumentException when the configuration is invalid; the message says which setting and why
     */
    DeviceInstance create(Map<String, ?> configuration, DeviceEnvironment environment) throws IOException;
}
