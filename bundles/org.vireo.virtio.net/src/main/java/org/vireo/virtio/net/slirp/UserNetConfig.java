package org.vireo.virtio.net.slirp;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The {@code user[,option...]} backend specification, in QEMU's {@code -netdev user} spelling:
 * {@code hostfwd=[tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport} (repeatable) and {@code restrict=on|off}.
 * Forwarded ports listen on loopback only: an empty host address means 127.0.0.1 and any address outside
 * 127.0.0.0/8 is refused, so user networking never opens a port to other machines.
 */
public record UserNetConfig(boolean restricted, List<HostForward> forwards) {
    /** The guest network 10.0.2.0/24, as QEMU lays it out. */
    public static final int NETWORK = ipv4(10, 0, 2, 0);
    public static final int NETMASK = ipv4(255, 255, 255, 0);
    /** The gateway; connections to it reach the host's 127.0.0.1. */
    public static final int GATEWAY = ipv4(10, 0, 2, 2);
    public static final int NAMESERVER = ipv4(10, 0, 2, 3);
    /** The first (and, for one guest, only) address the DHCP server hands out. */
    public static final int DHCP_START = ipv4(10, 0, 2, 15);
    public static final int LOOPBACK = ipv4(127, 0, 0, 1);

    public UserNetConfig {
        forwards = List.copyOf(forwards);
    }

    /** One port forwarded from the host's loopback to the guest. Addresses are IPv4 in host order. */
    public record HostForward(boolean udp, int hostAddress, int hostPort, int guestAddress, int guestPort) {
        @Override
        public String toString() {
            return (udp ? "udp" : "tcp") + ":" + formatIpv4(hostAddress) + ":" + hostPort + "-" + formatIpv4(guestAddress) + ":" + guestPort;
        }
    }

    /**
     * Parses {@code user} or {@code user,opt=value,...}.
     *
     * @throws IllegalArgumentException naming the offending option
     */
    public static UserNetConfig parse(String spec) {
        String[] parts = spec.trim().split(",", -1);
        if (!parts[0].equals("user")) throw new IllegalArgumentException("not a user networking backend: \"" + spec + "\"");
        boolean restricted = false;
        List<HostForward> forwards = new ArrayList<>();
        Set<String> boundPorts = new HashSet<>();
        for (int i = 1; i < parts.length; i++) {
            String option = parts[i].trim();
            int eq = option.indexOf('=');
            String key = eq < 0 ? option : option.substring(0, eq);
            String value = eq < 0 ? "" : option.substring(eq + 1);
            switch (key) {
                case "hostfwd" -> {
                    HostForward f = parseForward(value);
                    if (!boundPorts.add((f.udp() ? "udp:" : "tcp:") + f.hostAddress() + ":" + f.hostPort())) {
                        throw new IllegalArgumentException("hostfwd " + value + ": that host port is forwarded twice");
                    }
                    forwards.add(f);
                }
                case "restrict" -> restricted = switch (value) {
                    case "on", "yes", "true" -> true;
                    case "off", "no", "false" -> false;
                    default -> throw new IllegalArgumentException("restrict=" + value + ": use on or off");
                };
                default -> throw new IllegalArgumentException("unknown user networking option \"" + option
                        + "\": use hostfwd=tcp:127.0.0.1:HOSTPORT-:GUESTPORT or restrict=on|off");
            }
        }
        return new UserNetConfig(restricted, forwards);
    }

    /** The specification in canonical form, for {@code describe()}. */
    public String describe() {
        StringBuilder b = new StringBuilder("user");
        if (restricted) b.append(",restrict=on");
        for (HostForward f : forwards) b.append(",hostfwd=").append(f);
        return b.toString();
    }

    private static HostForward parseForward(String value) {
        String usage = "hostfwd=" + value + ": expected [tcp|udp]:[127.0.0.1]:HOSTPORT-[GUESTADDR]:GUESTPORT";
        int dash = value.indexOf('-');
        if (dash < 0) throw new IllegalArgumentException(usage);
        String[] host = value.substring(0, dash).split(":", -1);
        String[] guest = value.substring(dash + 1).split(":", -1);
        if (host.length != 3 || guest.length != 2) throw new IllegalArgumentException(usage);
        boolean udp = switch (host[0]) {
            case "", "tcp" -> false;
            case "udp" -> true;
            default -> throw new IllegalArgumentException(usage + " (protocol \"" + host[0] + "\")");
        };
        int hostAddress = host[1].isEmpty() ? LOOPBACK : parseIpv4(host[1], usage);
        if ((hostAddress >>> 24) != 127) {
            throw new IllegalArgumentException("hostfwd=" + value + ": forwarded ports listen on loopback only (127.0.0.1), not "
                    + host[1]);
        }
        int guestAddress = guest[0].isEmpty() ? DHCP_START : parseIpv4(guest[0], usage);
        int hostPart = guestAddress & ~NETMASK;
        if ((guestAddress & NETMASK) != NETWORK || hostPart == 0 || hostPart == 255
                || guestAddress == GATEWAY || guestAddress == NAMESERVER) {
            throw new IllegalArgumentException("hostfwd=" + value + ": the guest address must be a guest's address in 10.0.2.0/24, not "
                    + formatIpv4(guestAddress));
        }
        return new HostForward(udp, hostAddress, parsePort(host[2], usage), guestAddress, parsePort(guest[1], usage));
    }

    private static int parsePort(String text, String usage) {
        if (text.isEmpty() || text.length() > 5 || !text.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw new IllegalArgumentException(usage + " (port \"" + text + "\")");
        }
        int port = Integer.parseInt(text);
        if (port < 1 || port > 65535) throw new IllegalArgumentException(usage + " (port " + port + " is not 1..65535)");
        return port;
    }

    /** Dotted-quad only: never a host name, so parsing cannot trigger a DNS lookup. */
    static int parseIpv4(String text, String usage) {
        String[] octets = text.split("\\.", -1);
        if (octets.length != 4) throw new IllegalArgumentException(usage + " (address \"" + text + "\")");
        int address = 0;
        for (String o : octets) {
            if (o.isEmpty() || o.length() > 3 || !o.chars().allMatch(c -> c >= '0' && c <= '9')) {
                throw new IllegalArgumentException(usage + " (address \"" + text + "\")");
            }
            int v = Integer.parseInt(o);
            if (v > 255) throw new IllegalArgumentException(usage + " (address \"" + text + "\")");
            address = address << 8 | v;
        }
        return address;
    }

    public static int ipv4(int a, int b, int c, int d) { return a << 24 | b << 16 | c << 8 | d; }

    public static String formatIpv4(int address) {
        return (address >>> 24) + "." + (address >>> 16 & 0xff) + "." + (address >>> 8 & 0xff) + "." + (address & 0xff);
    }
}
