package org.vireo.virtio.driver.rng.impl;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;
import org.junit.runners.Parameterized.Parameter;
import org.junit.runners.Parameterized.Parameters;
import org.vireo.virtio.rng.EntropySource;
import org.vireo.virtio.rng.RngDevice;
import org.vireo.virtio.driver.rng.VirtioEntropySource;
import org.vireo.virtio.testkit.transport.TransportRig;

/** The driver against the real virtio-rng device, through virtio-mmio and virtio-pci. */
@RunWith(Parameterized.class)
public class RngRoundTripTest {
    @Parameters(name = "{0}")
    public static List<Object[]> transports() { return TransportRig.TRANSPORTS; }

    @Parameter
    public String transport;

    private final List<VirtioEntropySource> published = new ArrayList<>();
    private final RngDriver driver = new RngDriver((device, source) -> {
        published.add(source);
        return () -> published.remove(source);
    });

    /** A recognisable "entropy" source, so the test can tell the bytes came from the device. */
    private static final class CountingSource implements EntropySource {
        private int next;

        @Override
        public synchronized int read(byte[] buf, int off, int len) {
            for (int i = 0; i < len; i++) buf[off + i] = (byte) next++;
            return len;
        }

        @Override public String describe() { return "counting"; }

        @Override public void close() {}
    }

    @Test(timeout = 60_000)
    public void bytesComeFromTheDevice() throws Exception {
        try (RngDevice device = new RngDevice(new CountingSource(), "rng0");
             TransportRig rig = new TransportRig(transport, device, "rng0")) {
            rig.bind(driver);
            assertEquals(RngDriver.NAME, rig.binding().driver());
            VirtioEntropySource rng = published.getFirst();
            byte[] all = new byte[20_000];
            int got = 0;
            while (got < all.length) {
                int n = rng.read(all, got, all.length - got);
                assertTrue(n > 0);
                got += n;
            }
            for (int i = 0; i < all.length; i++) assertEquals("byte " + i, (byte) i, all[i]);

            rig.unbind();
            assertEquals(0, rig.guestBytesHeld());
            assertThrows(IOException.class, () -> rng.read(new byte[4], 0, 4));
        }
    }
}
