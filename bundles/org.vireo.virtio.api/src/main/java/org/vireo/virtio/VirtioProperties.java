package org.vireo.virtio;

/** OSGi service property names used between devices, transports, the bus and the shell. */
public final class VirtioProperties {
    /** Integer: the virtio device id, on device services and on driver-side device services. */
    public static final String DEVICE_ID = "virtio.device.id";
    /** Integer: the vendor id, on driver-side device services. */
    public static final String VENDOR_ID = "virtio.vendor.id";
    /** String: "mmio" or "pci": which transport exposes a device (device config; default "mmio"). */
    public static final String TRANSPORT = "virtio.transport";
    /** String: the name of the machine a device belongs to (device config; see Machine.NAME_PROPERTY). */
    public static final String MACHINE = "machine.name";
    /** String: a device instance's user-facing name (device config), e.g. "disk0". */
    public static final String DEVICE_NAME = "virtio.device.name";
    /** String: "split" or "packed": the ring layout a device offers (device config; default "split"). */
    public static final String RING = "virtio.ring";

    private VirtioProperties() {}

    /**
     * {@code value} escaped for the value side of an OSGi (LDAP) filter such as {@code (machine.name=VALUE)}: a
     * backslash before each {@code \ * ( )}, so a user's name can never widen or break the filter.
     */
    public static String filterValue(String value) {
        StringBuilder b = new StringBuilder(value.length());
        for (char c : value.toCharArray()) {
            if (c == '\\' || c == '*' || c == '(' || c == ')') b.append('\\');
            b.append(c);
        }
        return b.toString();
    }
}
