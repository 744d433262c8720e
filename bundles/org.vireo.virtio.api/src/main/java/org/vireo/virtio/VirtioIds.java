package org.vireo.virtio;

/** Device ids (virtio 1.x section 5). */
public final class VirtioIds {
    public static final int NET = 1;
    public static final int BLOCK = 2;
    public static final int CONSOLE = 3;
    public static final int RNG = 4;
    public static final int BALLOON = 5;
    public static final int VSOCK = 19;
    public static final int FS = 26;

    /** The vendor id reported by Vireo's devices (virtio-mmio VendorID; PCI subsystem vendor). "VIRO". */
    public static final int VENDOR_VIREO = 0x4f524956;

    private VirtioIds() {}

    public static String name(int id) {
        return switch (id) {
            case NET -> "net";
            case BLOCK -> "blk";
            case CONSOLE -> "console";
            case RNG -> "rng";
            case BALLOON -> "balloon";
            case VSOCK -> "vsock";
            case FS -> "fs";
            default -> "id" + id;
        };
    }
}
