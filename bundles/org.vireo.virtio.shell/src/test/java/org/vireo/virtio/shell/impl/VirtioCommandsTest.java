package org.vireo.virtio.shell.impl;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.util.List;
import java.util.Optional;
import org.junit.Test;
import org.vireo.bus.AddressAllocator;
import org.vireo.bus.InterruptController;
import org.vireo.bus.IoBus;
import org.vireo.bus.pci.PciBus;
import org.vireo.machine.JavaGuest;
import org.vireo.machine.Machine;
import org.vireo.memory.GuestMemory;
import org.vireo.virtio.VirtioIds;
import org.vireo.virtio.VirtioTransportInfo;
import org.vireo.virtio.bus.VirtioBus;
import org.vireo.virtio.driver.VirtioDeviceId;
import org.vireo.virtio.driver.VirtioDriver;
import org.vireo.virtio.driver.VirtioDriverDevice;

public class VirtioCommandsTest {
    private record Info(String name, String transport, String address, String machine, int deviceId, String deviceName,
                        int status, long deviceFeatures, long driverFeatures, List<QueueInfo> queues, String backend)
            implements VirtioTransportInfo {}

    private static final JavaGuest GUEST = new JavaGuest() {
        @Override public org.vireo.memory.GuestAllocator allocator() { return null; }
        @Override public org.vireo.bus.Registration onInterrupt(int gsi, Runnable handler) { return null; }
        @Override public MsiVector allocateMsi(Runnable handler) { return null; }
    };

    /** Only name and guest presence matter to the shell. */
    private record FakeMachine(String name, boolean hasJavaGuest) implements Machine {
        @Override public GuestMemory memory() { return null; }
        @Override public IoBus mmio() { return null; }
        @Override public IoBus pio() { return null; }
        @Override public PciBus pci() { return null; }
        @Override public InterruptController interrupts() { return null; }
        @Override public AddressAllocator mmioSpace() { return null; }
        @Override public int allocateIrq() { return 0; }
        @Override public void releaseIrq(int gsi) {}
        @Override public Optional<JavaGuest> javaGuest() { return hasJavaGuest ? Optional.of(GUEST) : Optional.empty(); }
    }

    private static VirtioDriver driver(String name, int deviceId) {
        return new VirtioDriver() {
            @Override public String name() { return name; }
            @Override public List<VirtioDeviceId> idTable() { return List.of(VirtioDeviceId.of(deviceId)); }
            @Override public long supportedFeatures() { return 0; }
            @Override public void probe(VirtioDriverDevice device) {}
            @Override public void remove(VirtioDriverDevice device) {}
        };
    }

    private final Info disk = new Info("java/mmio@0xd0000000", "mmio", "0xd0000000 irq 16", "java", VirtioIds.BLOCK, "disk0",
            15, 1L << 32, 1L << 32, List.of(), "file=/tmp/d.img");
    private final Info guestNet = new Info("vm/pci@00:01.0", "pci", "00:01.0", "vm", VirtioIds.NET, "net0", 0, 1L << 32, 0, List.of(), "link:net0");
    private final Info spareRng = new Info("java/mmio@0xd0000200", "mmio", "0xd0000200 irq 17", "java", VirtioIds.RNG, "rng0",
            1, 1L << 32, 0, List.of(), "securerandom");

    private VirtioCommands commands() {
        VirtioCommands c = new VirtioCommands();
        c.addDevice(disk);
        c.addDevice(guestNet);
        c.addDevice(spareRng);
        c.addMachine(new FakeMachine("java", true));
        c.addMachine(new FakeMachine("vm", false));
        c.addDriver(driver("virtio-blk", VirtioIds.BLOCK));
        c.addDriver(driver("virtio-net", VirtioIds.NET));
        VirtioBus bus = () -> List.of(
                new VirtioBus.Binding(disk.name(), VirtioIds.BLOCK, "mmio", "java", "virtio-blk", 15),
                new VirtioBus.Binding(spareRng.name(), VirtioIds.RNG, "mmio", "java", null, 1));
        c.addBus(bus);
        return c;
    }

    @Test
    public void devicesNameTheirDriver() {
        String text = commands().devices();
        assertTrue(text, text.contains("java/mmio@0xd0000000  blk  disk0\n"));
        assertEquals(VirtioFormatter.device(disk, "virtio-blk") + "\n"
                + VirtioFormatter.device(spareRng, "-") + "\n"
                + VirtioFormatter.device(guestNet, "guest"), text);
    }

    @Test
    public void oneDeviceByEitherName() {
        VirtioCommands c = commands();
        assertEquals(VirtioFormatter.device(disk, "virtio-blk"), c.devices("disk0"));
        assertEquals(c.devices("disk0"), c.devices("java/mmio@0xd0000000"));
        assertEquals("No virtio device named nope.", c.devices("nope"));
    }

    @Test
    public void driversShowWhatTheyDrive() {
        VirtioCommands c = commands();
        String text = c.drivers();
        assertTrue(text, text.contains("virtio-blk\n  ids        blk (any vendor)\n  features   -\n  bound      java/mmio@0xd0000000\n"));
        assertTrue(text, text.contains("virtio-net\n  ids        net (any vendor)\n  features   -\n  bound      -\n"));
        c.removeDevice(disk);
        assertFalse(c.devices().contains("disk0"));
    }
}
