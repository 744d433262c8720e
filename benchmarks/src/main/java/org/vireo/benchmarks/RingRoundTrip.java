package org.vireo.benchmarks;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.vireo.memory.GuestAllocator;
import org.vireo.memory.GuestMemory;
import org.vireo.memory.GuestRange;
import org.vireo.virtio.VirtioFeatures;
import org.vireo.virtio.device.DescriptorChain;
import org.vireo.virtio.device.VirtqueueException;
import org.vireo.virtio.driver.UsedBuffer;
import org.vireo.virtio.device.DeviceQueue;
import org.vireo.virtio.ring.QueueDriver;
import org.vireo.virtio.ring.Rings;

/**
 * One request through a split or packed ring on one thread: driver addBuf, kick, device pop (with full validation), addUsed,
 * needsInterrupt, driver getBuf. Measures the ring's own cost (no data copies, no thread hand-off).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class RingRoundTrip {
    /** Descriptors per chain: 1 (one readable buffer) or 3 (header, data, status: a block request's shape). */
    @Param({"1", "3"})
    public int descriptors;

    /** Ring features: none, or INDIRECT + EVENT_IDX (what Linux guests negotiate). */
    @Param({"plain", "indirect+event_idx"})
    public String features;

    /** Ring layout: split, or packed (VIRTIO_F_RING_PACKED). */
    @Param({"split", "packed"})
    public String ring;

    private Arena arena;
    private QueueDriver driver;
    private DeviceQueue device;
    private List<GuestRange> out;
    private List<GuestRange> in;
    private int written;
    private long notifications;
    private final Object token = new Object();

    @Setup(Level.Trial)
    public void setUp() {
        arena = Arena.ofShared();
        long size = 4 << 20;
        GuestMemory memory = GuestMemory.allocate(arena, size);
        GuestAllocator allocator = new GuestAllocator(0x1000, size - 0x1000);
        long f = VirtioFeatures.bit(VirtioFeatures.VERSION_1);
        if (features.equals("indirect+event_idx")) {
            f |= VirtioFeatures.bit(VirtioFeatures.RING_INDIRECT_DESC) | VirtioFeatures.bit(VirtioFeatures.RING_EVENT_IDX);
        }
        if (ring.equals("packed")) f |= VirtioFeatures.bit(VirtioFeatures.RING_PACKED);
        driver = Rings.driver(memory, allocator, 0, 256, f, () -> notifications++);
        device = Rings.device(memory, 0, 256, driver.descAddress(), driver.driverAreaAddress(), driver.deviceAreaAddress(), f);
        GuestRange header = new GuestRange(allocator.allocate(16, 16), 16);
        GuestRange data = new GuestRange(allocator.allocate(512, 16), 512);
        GuestRange status = new GuestRange(allocator.allocate(1, 16), 1);
        switch (descriptors) {
            case 1 -> { out = List.of(data); in = List.of(); written = 0; }
            case 3 -> { out = List.of(header, data); in = List.of(status); written = 1; }
            default -> throw new IllegalArgumentException("descriptors: 1 or 3");
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        driver.release();
        arena.close();
    }

    @Benchmark
    public UsedBuffer roundTrip() throws VirtqueueException {
        if (!driver.addBuf(out, in, token)) throw new IllegalStateException("ring full");
        driver.kick();
        DescriptorChain chain = device.pop();
        device.addUsed(chain.head(), written);
        device.needsInterrupt();
        return driver.getBuf();
    }
}
