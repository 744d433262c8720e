package org.vireo.benchmarks;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
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
import org.vireo.machine.hosted.HostedMachine;
import org.vireo.virtio.blk.BlockDevice;
import org.vireo.virtio.blk.RawImage;
import org.vireo.virtio.bus.impl.VirtioBusCore;
import org.vireo.virtio.core.PluggedDevice;
import org.vireo.virtio.driver.blk.VirtioBlockDisk;
import org.vireo.virtio.driver.blk.impl.BlkDriver;
import org.vireo.virtio.mmio.VirtioMmio;
import org.vireo.virtio.pci.VirtioPci;

/**
 * virtio-blk throughput through the Java driver: one request at a time from one thread, the whole path of a request
 * (driver buffers in guest RAM, ring, notify register write, device, host file, interrupt on the hosted machine's
 * interrupt thread, completion). The image is a page-cached temporary file, so this measures Vireo, not the disk.
 * Throughput in bytes/s is the score times {@code blockSize}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class BlkThroughput {
    private static final long IMAGE_BYTES = 256L << 20;

    @Param({"mmio", "pci"})
    public String transport;

    @Param({"4096", "1048576"})
    public int blockSize;

    private Path image;
    private RawImage raw;
    private HostedMachine machine;
    private PluggedDevice plugged;
    private VirtioBusCore bus;
    private VirtioBlockDisk disk;
    private byte[] buffer;
    private long sector;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        image = Files.createTempFile("vireo-bench", ".img");
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
            byte[] chunk = new byte[1 << 20];
            new Random(1).nextBytes(chunk);
            for (long at = 0; at < IMAGE_BYTES; at += chunk.length) f.write(chunk);   // real data, page-cached
        }
        raw = RawImage.open(image, false);
        machine = new HostedMachine("bench", 64L << 20);
        BlockDevice device = new BlockDevice(raw, "bench", "disk0");
        plugged = "pci".equals(transport) ? VirtioPci.plug(machine, device, "disk0") : VirtioMmio.plug(machine, device, "disk0");
        AtomicReference<VirtioBlockDisk> bound = new AtomicReference<>();
        bus = new VirtioBusCore();
        bus.addDriver(new BlkDriver((dev, d) -> {
            bound.set(d);
            return () -> {};
        }));
        bus.addDevice(plugged.driverSide().orElseThrow(), machine.name());
        bus.bindings();   // waits for the probe
        disk = bound.get();
        if (disk == null) throw new IllegalStateException("the blk driver did not bind: " + bus.bindings());
        buffer = new byte[blockSize];
        new Random(2).nextBytes(buffer);
    }

    private long nextSector() {
        long s = sector;
        sector += blockSize / 512;
        if ((sector << 9) + blockSize > IMAGE_BYTES) sector = 0;
        return s;
    }

    @Benchmark
    public byte[] read() throws IOException {
        disk.read(nextSector(), buffer, 0, blockSize);
        return buffer;
    }

    @Benchmark
    public void write() throws IOException {
        disk.write(nextSector(), buffer, 0, blockSize);
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        bus.close();
        plugged.close();
        machine.close();
        raw.close();
        Files.deleteIfExists(image);
    }
}
