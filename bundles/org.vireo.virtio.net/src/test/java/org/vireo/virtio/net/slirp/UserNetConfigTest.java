package org.vireo.virtio.net.slirp;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.util.List;
import org.junit.Test;
import org.vireo.virtio.net.slirp.UserNetConfig.HostForward;

public class UserNetConfigTest {
    private static final int LOOPBACK = UserNetConfig.ipv4(127, 0, 0, 1);

    @Test
    public void plainUser() {
        UserNetConfig c = UserNetConfig.parse("user");
        assertFalse(c.restricted());
        assertEquals(List.of(), c.forwards());
        assertEquals("user", c.describe());
    }

    @Test
    public void hostForwardDefaultsToLoopbackAndTheDhcpAddress() {
        UserNetConfig c = UserNetConfig.parse("user,hostfwd=tcp::2222-:22");
        assertEquals(List.of(new HostForward(false, LOOPBACK, 2222, UserNetConfig.DHCP_START, 22)), c.forwards());
        assertEquals("user,hostfwd=tcp:127.0.0.1:2222-10.0.2.15:22", c.describe());
        assertEquals(c, UserNetConfig.parse(c.describe()));
    }

    @Test
    public void severalForwardsUdpAndRestrict() {
        UserNetConfig c = UserNetConfig.parse("user,hostfwd=tcp:127.0.0.1:8080-10.0.2.16:80,hostfwd=udp:127.0.0.2:5353-:53,restrict=on");
        assertTrue(c.restricted());
        assertEquals(List.of(new HostForward(false, LOOPBACK, 8080, UserNetConfig.ipv4(10, 0, 2, 16), 80),
                new HostForward(true, UserNetConfig.ipv4(127, 0, 0, 2), 5353, UserNetConfig.DHCP_START, 53)), c.forwards());
    }

    @Test
    public void forwardsListenOnLoopbackOnly() {
        for (String host : List.of("0.0.0.0", "192.168.1.10", "10.0.2.2", "255.255.255.255")) {
            IllegalArgumentException e = assertThrows(host, IllegalArgumentException.class,
                    () -> UserNetConfig.parse("user,hostfwd=tcp:" + host + ":2222-:22"));
            assertTrue(e.getMessage(), e.getMessage().contains("loopback only"));
        }
    }

    @Test
    public void badSpecificationsAreRefused() {
        for (String spec : List.of("usr", "user,", "user,hostfwd=tcp:localhost:2222-:22", "user,hostfwd=tcp::0-:22",
                "user,hostfwd=tcp::2222-:65536", "user,hostfwd=sctp::2222-:22", "user,hostfwd=tcp::2222", "user,hostfwd=tcp:2222-:22",
                "user,hostfwd=tcp::2222-10.0.3.15:22", "user,hostfwd=tcp::2222-10.0.2.2:22", "user,hostfwd=tcp::2222-10.0.2.255:22",
                "user,hostfwd=tcp:127.0.0.256:2222-:22", "user,hostfwd=tcp::2222-:22,hostfwd=tcp:127.0.0.1:2222-:23",
                "user,restrict=maybe", "user,net=10.0.3.0/24", "user,hostfwd=tcp::+22-:22")) {
            assertThrows(spec, IllegalArgumentException.class, () -> UserNetConfig.parse(spec));
        }
    }

    @Test
    public void sameHostPortOnTcpAndUdpIsFine() {
        assertEquals(2, UserNetConfig.parse("user,hostfwd=tcp::5000-:5000,hostfwd=udp::5000-:5000").forwards().size());
    }
}
