package org.vireo.virtio.ring;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import org.junit.After;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;
import org.junit.runners.Parameterized.Parameters;
import org.vireo.memory.GuestAllocator;
import org.vireo.memory.GuestMemory;
import org.vireo.memory.GuestRange;
import org.vireo.virtio.VirtioFeatures;
import org.vireo.virtio.device.DescriptorChain;
import org.vireo.virtio.device.DeviceQueue;

/** A used chain's written bytes are reported to guest memory's device-write observer (a CPU's code cache). */
@RunWith(Parameterized.class)
public class DeviceWriteReportTest {
    @Parameters(name = "{0}")
    public static List<Object[]> layouts() { return List.of(new Object[] {"split"}, new Object[] {"packed"}); }

    private final long layout;

    public DeviceWriteReportTest(String layout) {
        this.layout = layout.equals("packed") ? VirtioFeatures.bit(VirtioFeatures.RING_PACKED) : 0;
    }

    private final Arena arena = Arena.ofConfined();
    private final GuestMemory memory = GuestMemory.allocate(arena, 1 << 20);
    private final GuestAllocator allocator = new GuestAllocator(0x1000, (1 << 20) - 0x1000);
    private final List<GuestRange> reported = new ArrayList<>();

    @After
    public void close() { arena.close(); }

    private void roundTrip(long features, int written) throws Exception {
        memory.setDeviceWriteObserver((address, length) -> reported.add(new GuestRange(address, length)));
        QueueDriver driver = Rings.driver(memory, allocator, 0, 8, features | layout, () -> {});
        DeviceQueue device = Rings.device(memory, 0, 8, driver.descAddress(), driver.driverAreaAddress(),
                driver.deviceAreaAddress(), features | layout);
        List<GuestRange> out = List.of(new GuestRange(0x80000, 16));
        List<GuestRange> in = List.of(new GuestRange(0x90000, 100), new GuestRange(0xa0000, 100));
        assertTrue(driver.addBuf(out, in, "t"));
        driver.kick();
        DescriptorChain chain = device.pop();
        assertTrue(reported.isEmpty());   // nothing is written before the device says so
        device.addUsed(chain.head(), written);
    }

    @Test
    public void onlyTheWrittenPrefixOfTheWritableRangesIsReported() throws Exception {
        roundTrip(0, 150);
        assertEquals(List.of(new GuestRange(0x90000, 100), new GuestRange(0xa0000, 50)), reported);
    }

    @Test
    public void indirectChainsReportTooAndReadOnlyChainsReportNothing() throws Exception {
        roundTrip(VirtioFeatures.bit(VirtioFeatures.RING_INDIRECT_DESC), 1);
        assertEquals(List.of(new GuestRange(0x90000, 1)), reported);
        reported.clear();
        memory.deviceWrote(0x1000, 0);
        assertTrue(reported.isEmpty());
    }

    /** Issue 18: bytes written through the chain beyond the used length (a blk status byte) are reported too. */
    @Test
    public void bytesWrittenThroughTheChainBeyondTheUsedLengthAreReported() throws Exception {
        memory.setDeviceWriteObserver((address, length) -> reported.add(new GuestRange(address, length)));
        QueueDriver driver = Rings.driver(memory, allocator, 0, 8, layout, () -> {});
        DeviceQueue device = Rings.device(memory, 0, 8, driver.descAddress(), driver.driverAreaAddress(),
                driver.deviceAreaAddress(), layout);
        List<GuestRange> in = List.of(new GuestRange(0x90000, 100), new GuestRange(0xa0000, 100));
        assertTrue(driver.addBuf(List.of(), in, "t"));
        driver.kick();
        DescriptorChain chain = device.pop();
        chain.write(199, new byte[] {2}, 0, 1);      // the last writable byte
        chain.write(10, new byte[5], 0, 5);          // inside the used length: reported once, with it
        device.addUsed(chain.head(), 20);
        assertEquals(List.of(new GuestRange(0x90000, 20), new GuestRange(0xa0063, 1)), reported);
        // adjacent writes across the two buffers become one extent, reported per buffer
        assertTrue(driver.addBuf(List.of(), in, "u"));
        driver.kick();
        reported.clear();
        chain = device.pop();
        chain.write(98, new byte[2], 0, 2);
        chain.write(100, new byte[3], 0, 3);
        device.addUsed(chain.head(), 0);
        assertEquals(List.of(new GuestRange(0x90062, 2), new GuestRange(0xa0000, 3)), reported);
    }
}
