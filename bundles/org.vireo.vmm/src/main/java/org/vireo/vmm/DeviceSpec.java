package org.vireo.vmm;

import java.nio.file.Path;

/**
 * One virtio device of {@code vireo run}, as the options describe it; every device sits on the machine's PCI bus.
 * {@link #name()} is the device's {@code virtio.device.name} (disk0, net0, rng0, console0).
 */
sealed interface DeviceSpec {
    String name();

    /** The factory PID of the device's configuration. */
    String factoryPid();

    /** virtio-blk on a raw image file. */
    record Disk(String name, Path image, boolean readOnly) implements DeviceSpec {
        @Override public String factoryPid() { return "org.vireo.virtio.blk"; }
    }

    /** virtio-net; {@code backend} is the net device's backend setting: "user[,...]" or "tap:IFNAME". */
    record Net(String name, String backend) implements DeviceSpec {
        @Override public String factoryPid() { return "org.vireo.virtio.net"; }
    }

    /** virtio-rng fed from the host's /dev/urandom. */
    record Rng(String name) implements DeviceSpec {
        static final String SOURCE = "/dev/urandom";

        @Override public String factoryPid() { return "org.vireo.virtio.rng"; }
    }

    /** virtio-fs sharing host directory {@code dir}; the guest mounts it by {@code tag}. */
    record Share(String name, Path dir, String tag, boolean readOnly) implements DeviceSpec {
        @Override public String factoryPid() { return "org.vireo.virtio.fs"; }
    }

    /** virtio-console; its output goes to {@code file} (appended), or to the terminal when {@code file} is null. */
    record Console(String name, Path file) implements DeviceSpec {
        @Override public String factoryPid() { return "org.vireo.virtio.console"; }
    }
}
