package org.vireo.virtio.shell.impl;

import static org.junit.Assert.assertEquals;

import java.util.List;
import java.util.Map;
import org.junit.Test;
import org.vireo.virtio.VirtioFeatures;
import org.vireo.virtio.VirtioIds;
import org.vireo.virtio.VirtioStatus;
import org.vireo.virtio.VirtioTransportInfo;
import org.vireo.virtio.VirtioTransportInfo.QueueInfo;
import org.vireo.virtio.bus.VirtioBus.Binding;
import org.vireo.virtio.driver.VirtioDeviceId;

public class VirtioFormatterTest {
    private record Info(String name, String transport, String address, String machine, int deviceId, String deviceName,
                        int status, long deviceFeatures, long driverFeatures, List<QueueInfo> queues, String backend)
            implements VirtioTransportInfo {}

    private static final long V1 = VirtioFeatures.bit(VirtioFeatures.VERSION_1);
    private static final Info DISK = new Info("java/mmio@0xd0000000", "mmio", "0xd0000000 irq 16", "java", VirtioIds.BLOCK, "disk0",
            VirtioStatus.ACKNOWLEDGE | VirtioStatus.DRIVER | VirtioStatus.FEATURES_OK | VirtioStatus.DRIVER_OK,
            V1 | VirtioFeatures.bit(VirtioFeatures.RING_EVENT_IDX) | (1L << 9), V1 | (1L << 9),
            List.of(new QueueInfo(0, 256, 128, true, 7, 7, 7)), "file=/tmp/disk.img 64 MiB rw");
    private static final Info RNG = new Info("vm/pci@00:03.0", "pci", "00:03.0 bar0 0xe0000000 msix 2", "vm", VirtioIds.RNG, "rng",
            0, V1, 0, List.of(), "");

    @Test
    public void oneDeviceShowsEverythingAboutIt() {
        assertEquals("""
                java/mmio@0xd0000000  blk  disk0
                  machine    java
                  transport  mmio 0xd0000000 irq 16
                  status     ACKNOWLEDGE|DRIVER|FEATURES_OK|DRIVER_OK
                  features   FLUSH,VERSION_1
                  offered    FLUSH,EVENT_IDX,VERSION_1
                  queue 0    size 128/256 ready avail 7 last-avail 7 used 7
                  backend    file=/tmp/disk.img 64 MiB rw
                  driver     virtio-blk
                """, VirtioFormatter.device(DISK, "virtio-blk"));
    }

    @Test
    public void devicesAreListedByMachineThenName() {
        String text = VirtioFormatter.devices(List.of(RNG, DISK), Map.of(DISK.name(), "virtio-blk", RNG.name(), "guest"));
        assertEquals(VirtioFormatter.device(DISK, "virtio-blk") + "\n" + """
                vm/pci@00:03.0  rng  rng
                  machine    vm
                  transport  pci 00:03.0 bar0 0xe0000000 msix 2
                  status     RESET
                  features   -
                  offered    VERSION_1
                  queues     -
                  backend    -
                  driver     guest
                """, text);
        assertEquals("No virtio devices.", VirtioFormatter.devices(List.of(), Map.of()));
    }

    @Test
    public void theDriverColumnTellsGuestBoundAndUnbound() {
        Map<String, Binding> bound = Map.of(DISK.name(), new Binding(DISK.name(), VirtioIds.BLOCK, "mmio", "java", "virtio-blk", 15));
        Map<String, Binding> unbound = Map.of(DISK.name(), new Binding(DISK.name(), VirtioIds.BLOCK, "mmio", "java", null, 1));
        assertEquals("virtio-blk", VirtioFormatter.driverOf(DISK, bound, Map.of("java", true)));
        assertEquals("-", VirtioFormatter.driverOf(DISK, unbound, Map.of("java", true)));
        assertEquals("-", VirtioFormatter.driverOf(DISK, Map.of(), Map.of("java", true)));
        assertEquals("guest", VirtioFormatter.driverOf(DISK, Map.of(), Map.of("java", false)));
        assertEquals("-", VirtioFormatter.driverOf(DISK, Map.of(), Map.of()));
    }

    @Test
    public void driversShowIdTablesFeaturesAndDevices() {
        String text = VirtioFormatter.drivers(List.of(
                new VirtioFormatter.DriverView("virtio-rng", List.of(VirtioDeviceId.of(VirtioIds.RNG)), 0, List.of()),
                new VirtioFormatter.DriverView("virtio-blk", List.of(VirtioDeviceId.of(VirtioIds.BLOCK), new VirtioDeviceId(VirtioIds.BLOCK, 0x1af4)),
                        (1L << 2) | (1L << 9), List.of("java/mmio@0xd0000000", "java/pci@00:01.0"))));
        assertEquals("""
                virtio-blk
                  ids        blk (any vendor), blk (vendor 0x00001af4)
                  features   SEG_MAX,FLUSH
                  bound      java/mmio@0xd0000000, java/pci@00:01.0

                virtio-rng
                  ids        rng (any vendor)
                  features   -
                  bound      -
                """, text);
        assertEquals("No virtio drivers.", VirtioFormatter.drivers(List.of()));
    }
}
