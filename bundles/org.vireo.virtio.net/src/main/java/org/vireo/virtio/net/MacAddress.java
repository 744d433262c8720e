package org.vireo.virtio.net;

import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.zip.CRC32;

/** Ethernet MAC addresses for configuration: parsing, and stable defaults in QEMU's locally administered 52:54:00 range. */
public final class MacAddress {
    private MacAddress() {}

    /**
     * Parses "52:54:00:12:34:56" (also with '-'). A multicast or all-zero address cannot be a NIC's own address.
     *
     * @throws IllegalArgumentException naming the problem
     */
    public static byte[] parse(String text) {
        String[] parts = text.trim().split("[:-]", -1);
        if (parts.length != 6) throw new IllegalArgumentException("bad MAC address \"" + text + "\": expected six hex bytes like 52:54:00:12:34:56");
        byte[] mac = new byte[6];
        for (int i = 0; i < 6; i++) {
            if (parts[i].length() != 2 || !HexFormat.isHexDigit(parts[i].charAt(0)) || !HexFormat.isHexDigit(parts[i].charAt(1))) {
                throw new IllegalArgumentException("bad MAC address \"" + text + "\": \"" + parts[i] + "\" is not a hex byte");
            }
            mac[i] = (byte) HexFormat.fromHexDigits(parts[i]);
        }
        if ((mac[0] & 1) != 0) throw new IllegalArgumentException("bad MAC address \"" + text + "\": it is a multicast address");
        if (java.util.Arrays.equals(mac, new byte[6])) throw new IllegalArgumentException("bad MAC address \"" + text + "\": all zero");
        return mac;
    }

    /** 52:54:00 followed by three bytes of a hash of {@code seed}: the same name always gets the same address. */
    public static byte[] derive(String seed) {
        CRC32 crc = new CRC32();
        crc.update(seed.getBytes(StandardCharsets.UTF_8));
        long h = crc.getValue();
        return new byte[] {0x52, 0x54, 0x00, (byte) (h >>> 16), (byte) (h >>> 8), (byte) h};
    }

    public static String format(byte[] mac) {
        return HexFormat.ofDelimiter(":").formatHex(mac);
    }
}
