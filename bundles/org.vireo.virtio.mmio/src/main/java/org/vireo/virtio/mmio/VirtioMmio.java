package org.vireo.virtio.mmio;

import org.vireo.machine.Machine;
import org.vireo.virtio.VirtioTransportInfo;
import org.vireo.virtio.core.CoreTransportInfo;
import org.vireo.virtio.core.PluggedDevice;
import org.vireo.virtio.device.VirtioDevice;
import org.vireo.virtio.ring.RingLayout;

/** virtio-mmio version 2: register offsets and the plain-Java entry point. */
public final class VirtioMmio {
    public static final String TRANSPORT = "mmio";
    /** "virt" in little-endian. */
    public static final int MAGIC = 0x7472_6976;
    public static final int VERSION = 2;
    /** Bytes of one device's window (registers then config space); also its alignment. */
    public static final long WINDOW_SIZE = 0x200;

    public static final int MAGIC_VALUE = 0x000;
    public static final int VERSION_REG = 0x004;
    public static final int DEVICE_ID = 0x008;
    public static final int VENDOR_ID = 0x00c;
    public static final int DEVICE_FEATURES = 0x010;
    public static final int DEVICE_FEATURES_SEL = 0x014;
    public static final int DRIVER_FEATURES = 0x020;
    public static final int DRIVER_FEATURES_SEL = 0x024;
    public static final int QUEUE_SEL = 0x030;
    public static final int QUEUE_NUM_MAX = 0x034;
    public static final int QUEUE_NUM = 0x038;
    public static final int QUEUE_READY = 0x044;
    public static final int QUEUE_NOTIFY = 0x050;
    public static final int INTERRUPT_STATUS = 0x060;
    public static final int INTERRUPT_ACK = 0x064;
    public static final int STATUS = 0x070;
    public static final int QUEUE_DESC_LOW = 0x080;
    public static final int QUEUE_DESC_HIGH = 0x084;
    public static final int QUEUE_DRIVER_LOW = 0x090;
    public static final int QUEUE_DRIVER_HIGH = 0x094;
    public static final int QUEUE_DEVICE_LOW = 0x0a0;
    public static final int QUEUE_DEVICE_HIGH = 0x0a4;
    public static final int SHM_SEL = 0x0ac;
    public static final int SHM_LEN_LOW = 0x0b0;
    public static final int SHM_LEN_HIGH = 0x0b4;
    public static final int SHM_BASE_LOW = 0x0b8;
    public static final int SHM_BASE_HIGH = 0x0bc;
    public static final int QUEUE_RESET = 0x0c0;
    public static final int CONFIG_GENERATION = 0x0fc;
    public static final int CONFIG = 0x100;

    private VirtioMmio() {}

    /**
     * Plugs {@code device} into {@code machine}: a window from {@link Machine#mmioSpace()} on {@link Machine#mmio()},
     * a fresh interrupt line, described to the machine's firmware tables ({@link Machine#describeVirtioMmio}), and on a
     * Java guest the driver side named "&lt;machine&gt;/mmio@0x&lt;base&gt;".
     *
     * @throws IllegalStateException when the machine has no room or no free interrupt line
     */
    public static PluggedDevice plug(Machine machine, VirtioDevice device, String deviceName) {
        return plug(machine, device, deviceName, RingLayout.SPLIT);
    }

    /** As {@link #plug(Machine, VirtioDevice, String)}, offering VIRTIO_F_RING_PACKED with {@link RingLayout#PACKED}. */
    public static PluggedDevice plug(Machine machine, VirtioDevice device, String deviceName, RingLayout ring) {
        long base = machine.mmioSpace().allocate(WINDOW_SIZE, WINDOW_SIZE);
        int gsi;
        try {
            gsi = machine.allocateIrq();
        } catch (RuntimeException e) {
            machine.mmioSpace().free(base);
            throw e;
        }
        String name = machine.name() + "/mmio@0x" + Long.toHexString(base);
        MmioDeviceSide deviceSide;
        try {
            deviceSide = new MmioDeviceSide(machine, device, name, base, gsi, ring);
        } catch (RuntimeException e) {
            machine.releaseIrq(gsi);
            machine.mmioSpace().free(base);
            throw e;
        }
        MmioDriverSide driverSide = null;
        try {
            if (machine.javaGuest().isPresent()) {
                driverSide = new MmioDriverSide(machine, machine.javaGuest().get(), base, gsi, name);
            }
        } catch (RuntimeException e) {
            deviceSide.close();
            throw e;
        }
        VirtioTransportInfo info = new CoreTransportInfo(deviceSide.core(), name, TRANSPORT,
                () -> String.format("0x%x irq %d", base, gsi), machine.name(), deviceName);
        org.vireo.bus.Registration described = machine.describeVirtioMmio(base, WINDOW_SIZE, gsi);
        return PluggedDevice.of(info, driverSide, () -> {
            described.close();
            deviceSide.close();
        });
    }
}
