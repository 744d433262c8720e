package org.vireo.it;

import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.util.Arrays;
import java.util.Map;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.vireo.virtio.driver.rng.VirtioEntropySource;

/** virtio-rng: the Java driver's VirtioEntropySource yields the host's random bytes. */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class EntropyIT extends VireoTestSupport {
    @Test
    public void randomBytesOnMmio() throws Exception {
        randomBytes("mmio");
    }

    @Test
    public void randomBytesOnPci() throws Exception {
        randomBytes("pci");
    }

    private void randomBytes(String transport) throws Exception {
        String machine = uniqueName("m");
        machine(machine);
        device(RNG_PID, machine + "-rng", machine, transport, Map.of("source", "/dev/urandom"));
        VirtioEntropySource rng = await(VirtioEntropySource.class, machineFilter(machine));

        byte[] first = guarded(() -> fill(rng, 4096));
        byte[] second = guarded(() -> fill(rng, 4096));
        assertFalse("two reads gave the same bytes", Arrays.equals(first, second));
        // 4096 uniform bytes hit nearly all 256 values; a constant or short-cycle source does not.
        boolean[] seen = new boolean[256];
        int distinct = 0;
        for (byte b : first) if (!seen[b & 0xff]) { seen[b & 0xff] = true; distinct++; }
        assertTrue("only " + distinct + " distinct byte values in 4096 bytes", distinct > 200);
    }

    private static byte[] fill(VirtioEntropySource rng, int length) throws Exception {
        byte[] buf = new byte[length];
        int got = 0;
        while (got < length) {
            int n = rng.read(buf, got, length - got);
            assertTrue("read returned " + n, n > 0);
            got += n;
        }
        return buf;
    }
}
