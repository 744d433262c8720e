package org.vireo.virtio.kind;

import java.util.List;

/**
 * One setting of a device configuration, as its MetaType attribute definition describes it.
 *
 * @param key          the configuration property, e.g. {@code readonly}
 * @param type         the MetaType type: String, Boolean, Integer, Long, ...
 * @param name         a short human name
 * @param description  what it does, for help texts
 * @param defaultValue the default as text, or null when the setting has none (a configuration must then set it)
 * @param options      the allowed values, empty when any value of the type goes
 */
public record Setting(String key, String type, String name, String description, String defaultValue, List<String> options) {
    /** The common setting naming the device ({@code virtio.device.name}). */
    public static final String DEVICE_NAME = "virtio.device.name";
    /** The common setting naming the machine the device joins. */
    public static final String MACHINE = "machine.name";
    /** The common setting choosing the transport (mmio or pci). */
    public static final String TRANSPORT = "virtio.transport";
    /** The common setting choosing the ring layout (split or packed). */
    public static final String RING = "virtio.ring";
    /** The settings every device has, which the VMM and the shell handle; the rest belong to the kind. */
    public static final List<String> COMMON = List.of(DEVICE_NAME, MACHINE, TRANSPORT, RING);

    public Setting {
        options = List.copyOf(options);
    }

    /** Whether a configuration must set it (it has no default). */
    public boolean needed() { return defaultValue == null; }

    /** Whether the kind owns it (not one of {@link #COMMON}). */
    public boolean kindSpecific() { return !COMMON.contains(key); }
}
