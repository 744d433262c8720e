package org.vireo.virtio;

/** Feature bit numbers that are not device-specific (virtio 1.x 6), and helpers. Use {@code 1L << BIT}. */
public final class VirtioFeatures {
    public static final int RING_INDIRECT_DESC = 28;
    public static final int RING_EVENT_IDX = 29;
    public static final int VERSION_1 = 32;
    public static final int ACCESS_PLATFORM = 33;
    public static final int RING_PACKED = 34;
    public static final int IN_ORDER = 35;
    public static final int ORDER_PLATFORM = 36;
    public static final int SR_IOV = 37;
    public static final int NOTIFICATION_DATA = 38;
    public static final int RING_RESET = 40;

    private VirtioFeatures() {}

    public static long bit(int n) { return 1L << n; }

    public static boolean has(long features, int n) { return (features & (1L << n)) != 0; }

    /** Names the set bits of {@code features}, using device-specific names where known for {@code deviceId}. */
    public static String describe(int deviceId, long features) {
        StringBuilder sb = new StringBuilder();
        for (int b = 0; b < 64; b++) {
            if ((features & (1L << b)) == 0) continue;
            if (sb.length() > 0) sb.append(',');
            sb.append(name(deviceId, b));
        }
        return sb.length() == 0 ? "-" : sb.toString();
    }

    public static String name(int deviceId, int bit) {
        switch (bit) {
            case RING_INDIRECT_DESC: return "INDIRECT_DESC";
            case RING_EVENT_IDX: return "EVENT_IDX";
            case VERSION_1: return "VERSION_1";
            case ACCESS_PLATFORM: return "ACCESS_PLATFORM";
            case RING_PACKED: return "RING_PACKED";
            case IN_ORDER: return "IN_ORDER";
            case ORDER_PLATFORM: return "ORDER_PLATFORM";
            case NOTIFICATION_DATA: return "NOTIFICATION_DATA";
            case RING_RESET: return "RING_RESET";
            default: break;
        }
        String specific = switch (deviceId) {
            case VirtioIds.BLOCK -> switch (bit) {
                case 1 -> "SIZE_MAX"; case 2 -> "SEG_MAX"; case 4 -> "GEOMETRY"; case 5 -> "RO"; case 6 -> "BLK_SIZE";
                case 9 -> "FLUSH"; case 10 -> "TOPOLOGY"; case 11 -> "CONFIG_WCE"; case 12 -> "MQ"; case 13 -> "DISCARD";
                case 14 -> "WRITE_ZEROES"; default -> null; };
            case VirtioIds.NET -> switch (bit) {
                case 0 -> "CSUM"; case 1 -> "GUEST_CSUM"; case 3 -> "MTU"; case 5 -> "MAC"; case 15 -> "MRG_RXBUF";
                case 16 -> "STATUS"; case 17 -> "CTRL_VQ"; case 22 -> "MQ"; default -> null; };
            case VirtioIds.CONSOLE -> switch (bit) {
                case 0 -> "SIZE"; case 1 -> "MULTIPORT"; case 2 -> "EMERG_WRITE"; default -> null; };
            default -> null;
        };
        return specific != null ? specific : "bit" + bit;
    }
}
