package org.vireo.virtio.net.slirp;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Hand-built Ethernet frames of a pretend guest (ARP, IPv4, UDP, TCP, BOOTP) and a parser for what comes back. */
final class Packets {
    static final byte[] GUEST_MAC = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
    static final byte[] BROADCAST_MAC = {-1, -1, -1, -1, -1, -1};
    static final int GUEST_IP = UserNetConfig.DHCP_START;
    static final int GATEWAY_IP = UserNetConfig.GATEWAY;

    static final int ETH_IPV4 = 0x0800, ETH_ARP = 0x0806, ETH_IPV6 = 0x86dd;
    static final int PROTO_ICMPV6 = 58, ICMPV6_RS = 133, ICMPV6_RA = 134;
    /** fe80::5054:ff:fe12:3456, the guest's link-local address from its MAC. */
    static final byte[] GUEST_LINK_LOCAL = {(byte) 0xfe, (byte) 0x80, 0, 0, 0, 0, 0, 0, 0x50, 0x54, 0, (byte) 0xff, (byte) 0xfe, 0x12, 0x34, 0x56};
    static final byte[] ALL_ROUTERS = {(byte) 0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
    static final int PROTO_TCP = 6, PROTO_UDP = 17;
    static final int FIN = 0x01, SYN = 0x02, RST = 0x04, PSH = 0x08, ACK = 0x10;
    static final int DHCP_DISCOVER = 1, DHCP_OFFER = 2;
    private static final int BOOTP_SIZE = 236, DHCP_OPTIONS = 312, DHCP_MAGIC = 0x63825363;

    private Packets() {}

    static byte[] ethernet(byte[] dst, byte[] src, int type, byte[] payload) {
        ByteBuffer b = ByteBuffer.allocate(14 + payload.length);
        b.put(dst).put(src).putShort((short) type).put(payload);
        return b.array();
    }

    static byte[] arpRequest(byte[] senderMac, int senderIp, int targetIp) {
        return ethernet(BROADCAST_MAC, senderMac, ETH_ARP, arp(1, senderMac, senderIp, new byte[6], targetIp));
    }

    static byte[] arpReply(byte[] senderMac, int senderIp, byte[] targetMac, int targetIp) {
        return ethernet(targetMac, senderMac, ETH_ARP, arp(2, senderMac, senderIp, targetMac, targetIp));
    }

    private static byte[] arp(int op, byte[] sha, int spa, byte[] tha, int tpa) {
        ByteBuffer b = ByteBuffer.allocate(28);
        b.putShort((short) 1).putShort((short) ETH_IPV4).put((byte) 6).put((byte) 4).putShort((short) op);
        b.put(sha).putInt(spa).put(tha).putInt(tpa);
        return b.array();
    }

    static byte[] ipv4(int src, int dst, int protocol, byte[] payload) {
        ByteBuffer b = ByteBuffer.allocate(20 + payload.length);
        b.put((byte) 0x45).put((byte) 0).putShort((short) (20 + payload.length)).putShort((short) 0x1234).putShort((short) 0x4000);
        b.put((byte) 64).put((byte) protocol).putShort((short) 0).putInt(src).putInt(dst);
        b.putShort(10, checksum(0, b.array(), 0, 20));
        b.position(20);
        b.put(payload);
        return b.array();
    }

    static byte[] udp(int src, int dst, int srcPort, int dstPort, byte[] data) {
        ByteBuffer b = ByteBuffer.allocate(8 + data.length);
        b.putShort((short) srcPort).putShort((short) dstPort).putShort((short) (8 + data.length)).putShort((short) 0).put(data);
        short sum = checksum(pseudoHeaderSum(src, dst, PROTO_UDP, b.capacity()), b.array(), 0, b.capacity());
        b.putShort(6, sum == 0 ? (short) 0xffff : sum);
        return ethernetIpv4(src, dst, PROTO_UDP, b.array());
    }

    static byte[] tcp(int src, int dst, int srcPort, int dstPort, int seq, int ack, int flags, byte[] data) {
        boolean syn = (flags & SYN) != 0;
        int headerLength = syn ? 24 : 20;   // a SYN carries an MSS option
        ByteBuffer b = ByteBuffer.allocate(headerLength + data.length);
        b.putShort((short) srcPort).putShort((short) dstPort).putInt(seq).putInt(ack);
        b.put((byte) (headerLength / 4 << 4)).put((byte) flags).putShort((short) 65535).putShort((short) 0).putShort((short) 0);
        if (syn) b.put((byte) 2).put((byte) 4).putShort((short) 1460);
        b.put(data);
        b.putShort(16, checksum(pseudoHeaderSum(src, dst, PROTO_TCP, b.capacity()), b.array(), 0, b.capacity()));
        return ethernetIpv4(src, dst, PROTO_TCP, b.array());
    }

    /** Frames from the guest to the gateway: the destination MAC is never checked by libslirp, so broadcast does. */
    private static byte[] ethernetIpv4(int src, int dst, int protocol, byte[] l4) {
        return ethernet(BROADCAST_MAC, GUEST_MAC, ETH_IPV4, ipv4(src, dst, protocol, l4));
    }

    static byte[] dhcpDiscover(byte[] mac, int xid) {
        ByteBuffer b = ByteBuffer.allocate(BOOTP_SIZE + DHCP_OPTIONS);
        b.put((byte) 1).put((byte) 1).put((byte) 6).put((byte) 0).putInt(xid).putShort((short) 0).putShort((short) 0x8000);
        b.putInt(0).putInt(0).putInt(0).putInt(0);   // ciaddr yiaddr siaddr giaddr
        b.put(mac);
        b.position(BOOTP_SIZE);                        // rest of chaddr, sname, file: zero
        b.putInt(DHCP_MAGIC);
        b.put((byte) 53).put((byte) 1).put((byte) DHCP_DISCOVER);
        b.put((byte) 255);
        return udp(0, 0xffffffff, 68, 67, b.array());
    }

    /** An ICMPv6 message (type, code 0, 4 zero bytes, then {@code body}) from the guest's link-local address, hop limit 255. */
    static byte[] icmpv6(int type, byte[] dst, byte[] dstMac, byte[] body) {
        ByteBuffer icmp = ByteBuffer.allocate(8 + body.length);
        icmp.put((byte) type).put((byte) 0).putShort((short) 0).putInt(0).put(body);
        long pseudo = PROTO_ICMPV6 + icmp.capacity();
        for (byte[] a : new byte[][] {GUEST_LINK_LOCAL, dst}) {
            for (int i = 0; i < 16; i += 2) pseudo += (a[i] & 0xff) << 8 | a[i + 1] & 0xff;
        }
        icmp.putShort(2, checksum(pseudo, icmp.array(), 0, icmp.capacity()));
        ByteBuffer ip = ByteBuffer.allocate(40 + icmp.capacity());
        ip.putInt(0x6000_0000).putShort((short) icmp.capacity()).put((byte) PROTO_ICMPV6).put((byte) 255);
        ip.put(GUEST_LINK_LOCAL).put(dst).put(icmp.array());
        return ethernet(dstMac, GUEST_MAC, ETH_IPV6, ip.array());
    }

    /** A Router Solicitation to all routers, with the guest's MAC as source link-layer option. */
    static byte[] routerSolicitation() {
        byte[] option = concat(new byte[] {1, 1}, GUEST_MAC);
        return icmpv6(ICMPV6_RS, ALL_ROUTERS, new byte[] {0x33, 0x33, 0, 0, 0, 2}, option);
    }

    static short checksum(long initial, byte[] data, int off, int len) {
        long sum = initial;
        for (int i = 0; i < len; i += 2) {
            int hi = data[off + i] & 0xff;
            int lo = i + 1 < len ? data[off + i + 1] & 0xff : 0;
            sum += hi << 8 | lo;
        }
        while ((sum >>> 16) != 0) sum = (sum & 0xffff) + (sum >>> 16);
        return (short) ~sum;
    }

    private static long pseudoHeaderSum(int src, int dst, int protocol, int length) {
        return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + protocol + length;
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) out.writeBytes(p);
        return out.toByteArray();
    }

    /** A received frame, read field by field; accessors for a layer the frame lacks return -1 or an empty array. */
    record Frame(byte[] bytes) {
        int u8(int at) { return bytes[at] & 0xff; }

        int u16(int at) { return (bytes[at] & 0xff) << 8 | bytes[at + 1] & 0xff; }

        int u32(int at) { return u16(at) << 16 | u16(at + 2); }

        byte[] dstMac() { return Arrays.copyOfRange(bytes, 0, 6); }

        byte[] srcMac() { return Arrays.copyOfRange(bytes, 6, 12); }

        int etherType() { return bytes.length >= 14 ? u16(12) : -1; }

        boolean isArp() { return etherType() == ETH_ARP && bytes.length >= 42; }

        int arpOp() { return u16(20); }

        byte[] arpSenderMac() { return Arrays.copyOfRange(bytes, 22, 28); }

        int arpSenderIp() { return u32(28); }

        byte[] arpTargetMac() { return Arrays.copyOfRange(bytes, 32, 38); }

        int arpTargetIp() { return u32(38); }

        boolean isIcmpv6(int type) { return etherType() == ETH_IPV6 && bytes.length >= 62 && u8(20) == PROTO_ICMPV6 && u8(54) == type; }

        /** The Prefix Information options (type 3) of a Router Advertisement, as "prefix/length" in hex groups. */
        List<String> raPrefixes() {
            List<String> prefixes = new ArrayList<>();
            for (int i = 54 + 16; i + 2 <= bytes.length; ) {
                int type = u8(i), len = u8(i + 1) * 8;
                if (len == 0 || i + len > bytes.length) break;
                if (type == 3 && len == 32) {
                    StringBuilder p = new StringBuilder();
                    for (int g = 0; g < 8; g++) p.append(g == 0 ? "" : ":").append(Integer.toHexString(u16(i + 16 + 2 * g)));
                    prefixes.add(p + "/" + u8(i + 2));
                }
                i += len;
            }
            return prefixes;
        }

        boolean isIpv4() { return etherType() == ETH_IPV4 && bytes.length >= 34 && (u8(14) >> 4) == 4; }

        int protocol() { return isIpv4() ? u8(23) : -1; }

        int srcIp() { return u32(26); }

        int dstIp() { return u32(30); }

        private int l4() { return 14 + (u8(14) & 0xf) * 4; }

        private int ipEnd() { return Math.min(bytes.length, 14 + u16(16)); }

        boolean isUdp() { return protocol() == PROTO_UDP; }

        boolean isTcp() { return protocol() == PROTO_TCP; }

        int srcPort() { return u16(l4()); }

        int dstPort() { return u16(l4() + 2); }

        int tcpSeq() { return u32(l4() + 4); }

        int tcpAck() { return u32(l4() + 8); }

        int tcpFlags() { return u8(l4() + 13); }

        byte[] payload() {
            int start = isTcp() ? l4() + (u8(l4() + 12) >> 4) * 4 : isUdp() ? l4() + 8 : ipEnd();
            return Arrays.copyOfRange(bytes, Math.min(start, ipEnd()), ipEnd());
        }

        /** A DHCP reply's message type (option 53), or -1. */
        int dhcpMessageType() { return dhcpOption(53).length == 1 ? dhcpOption(53)[0] & 0xff : -1; }

        byte[] dhcpOption(int code) {
            byte[] p = payload();
            if (p.length < BOOTP_SIZE + 4 || ByteBuffer.wrap(p, BOOTP_SIZE, 4).getInt() != DHCP_MAGIC) return new byte[0];
            for (int i = BOOTP_SIZE + 4; i < p.length; ) {
                int c = p[i] & 0xff;
                if (c == 255) break;
                if (c == 0) { i++; continue; }
                if (i + 1 >= p.length) break;
                int len = p[i + 1] & 0xff;
                if (i + 2 + len > p.length) break;
                if (c == code) return Arrays.copyOfRange(p, i + 2, i + 2 + len);
                i += 2 + len;
            }
            return new byte[0];
        }

        int bootpXid() { return ByteBuffer.wrap(payload(), 4, 4).getInt(); }

        int bootpYourIp() { return ByteBuffer.wrap(payload(), 16, 4).getInt(); }

        @Override
        public String toString() {
            if (isArp()) return "ARP op " + arpOp() + " " + UserNetConfig.formatIpv4(arpSenderIp()) + " -> " + UserNetConfig.formatIpv4(arpTargetIp());
            if (isIpv4()) {
                String ends = UserNetConfig.formatIpv4(srcIp()) + (isTcp() || isUdp() ? ":" + srcPort() : "") + " -> "
                        + UserNetConfig.formatIpv4(dstIp()) + (isTcp() || isUdp() ? ":" + dstPort() : "");
                return (isTcp() ? "TCP flags 0x" + Integer.toHexString(tcpFlags()) : "IPv4 proto " + protocol()) + " " + ends
                        + " payload " + payload().length;
            }
            return "frame type 0x" + Integer.toHexString(etherType()) + " of " + bytes.length + " bytes";
        }
    }
}
