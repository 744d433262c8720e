package org.vireo.virtio.net.slirp;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import org.junit.Test;

public class LibSlirpTest {
    /** Offsets and sizes printed by gcc for libslirp 4.7.0's libslirp.h on x86-64. */
    @Test
    public void configLayoutMatchesTheHeader() {
        assertEquals(184, LibSlirp.CONFIG.byteSize());
        assertEquals(8, LibSlirp.CONFIG.byteAlignment());
        String[] fields = {"version", "restricted", "in_enabled", "vnetwork", "vnetmask", "vhost", "in6_enabled", "vprefix_addr6",
                "vprefix_len", "vhost6", "vhostname", "tftp_server_name", "tftp_path", "bootfile", "vdhcp_start", "vnameserver",
                "vnameserver6", "vdnssearch", "vdomainname", "if_mtu", "if_mru", "disable_host_loopback", "enable_emu",
                "outbound_addr", "outbound_addr6", "disable_dns", "disable_dhcp"};
        long[] offsets = {0, 4, 8, 12, 16, 20, 24, 28, 44, 48, 64, 72, 80, 88, 96, 100, 104, 120, 128, 136, 144, 152, 153, 160, 168, 176, 177};
        for (int i = 0; i < fields.length; i++) assertEquals(fields[i], offsets[i], LibSlirp.offset(LibSlirp.CONFIG, fields[i]));
    }

    @Test
    public void callbackLayoutMatchesTheHeader() {
        assertEquals(88, LibSlirp.CALLBACKS.byteSize());
        assertEquals(0, LibSlirp.offset(LibSlirp.CALLBACKS, "send_packet"));
        assertEquals(64, LibSlirp.offset(LibSlirp.CALLBACKS, "notify"));
        assertEquals(80, LibSlirp.offset(LibSlirp.CALLBACKS, "timer_new_opaque"));
        assertEquals(4, LibSlirp.IN_ADDR.byteSize());
        assertEquals(16, LibSlirp.IN6_ADDR.byteSize());
    }

    @Test
    public void aMissingLibrarySaysWhatToInstall() {
        IOException e = assertThrows(IOException.class, () -> LibSlirp.load("libvireo-no-such-slirp.so.0"));
        assertTrue(e.getMessage(), e.getMessage().startsWith("user networking needs libslirp (apt-get install libslirp0)"));
    }
}
