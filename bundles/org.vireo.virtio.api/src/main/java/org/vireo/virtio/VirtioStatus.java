package org.vireo.virtio;

import java.util.StringJoiner;

/** Device status bits (virtio 1.x 2.1). */
public final class VirtioStatus {
    public static final int ACKNOWLEDGE = 1;
    public static final int DRIVER = 2;
    public static final int DRIVER_OK = 4;
    public static final int FEATURES_OK = 8;
    public static final int NEEDS_RESET = 64;
    public static final int FAILED = 128;

    private VirtioStatus() {}

    /** "ACKNOWLEDGE|DRIVER|FEATURES_OK|DRIVER_OK", or "RESET" for 0. */
    public static String describe(int status) {
        if (status == 0) return "RESET";
        StringJoiner j = new StringJoiner("|");
        if ((status & ACKNOWLEDGE) != 0) j.add("ACKNOWLEDGE");
        if ((status & DRIVER) != 0) j.add("DRIVER");
        if ((status & FEATURES_OK) != 0) j.add("FEATURES_OK");
        if ((status & DRIVER_OK) != 0) j.add("DRIVER_OK");
        if ((status & NEEDS_RESET) != 0) j.add("NEEDS_RESET");
        if ((status & FAILED) != 0) j.add("FAILED");
        int other = status & ~(ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK | NEEDS_RESET | FAILED);
        if (other != 0) j.add("0x" + Integer.toHexString(other));
        return j.toString();
    }
}
