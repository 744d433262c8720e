package org.vireo.virtio.mmio;

import static org.vireo.virtio.mmio.VirtioMmio.*;

import org.vireo.bus.InterruptLine;
import org.vireo.bus.IoHandler;
import org.vireo.bus.Registration;
import org.vireo.machine.Machine;
import org.vireo.virtio.VirtioIds;
import org.vireo.virtio.core.InterruptSink;
import org.vireo.virtio.core.VirtioDeviceCore;
import org.vireo.virtio.device.VirtioDevice;
import org.vireo.virtio.ring.RingLayout;

/**
 * The device side of virtio-mmio: the register window a guest (kernel or Java driver) reads and writes, mapped onto a
 * {@link VirtioDeviceCore}, and a level-triggered interrupt line held high while the interrupt status is non-zero.
 * Registers below 0x100 take 32-bit aligned accesses only (others read 0 and are dropped, as the spec allows);
 * config space takes 8-, 16- and 32-bit accesses.
 */
final class MmioDeviceSide implements IoHandler, InterruptSink {
    private final Machine machine;
    private final VirtioDeviceCore core;
    private final InterruptLine line;
    private final long base;
    private final int gsi;
    private final Object lineLock = new Object();
    private final Registration registration;

    /** Registers the window on the machine's MMIO bus; {@code base} and {@code gsi} were allocated by the caller. */
    MmioDeviceSide(Machine machine, VirtioDevice device, String name, long base, int gsi) {
        this(machine, device, name, base, gsi, RingLayout.SPLIT);
    }

    MmioDeviceSide(Machine machine, VirtioDevice device, String name, long base, int gsi, RingLayout ring) {
        this.machine = machine;
        this.base = base;
        this.gsi = gsi;
        this.core = new VirtioDeviceCore(device, machine.memory(), this, name, ring);
        this.line = machine.interrupts().line(gsi);
        this.registration = machine.mmio().register(base, WINDOW_SIZE, name + " " + VirtioIds.name(core.deviceId()), this);
    }

    VirtioDeviceCore core() { return core; }

    long base() { return base; }

    int gsi() { return gsi; }

    @Override
    public long read(long offset, int size) {
        if (offset >= CONFIG && offset < WINDOW_SIZE) {
            return core.readConfig((int) (offset - CONFIG), size) & 0xffff_ffffL;
        }
        if (size != 4 || offset < 0 || offset >= CONFIG || (offset & 3) != 0) return 0;
        int value = switch ((int) offset) {
            case MAGIC_VALUE -> MAGIC;
            case VERSION_REG -> VERSION;
            case DEVICE_ID -> core.deviceId();
            case VENDOR_ID -> VirtioIds.VENDOR_VIREO;
            case DEVICE_FEATURES -> core.deviceFeatureWindow();
            case QUEUE_NUM_MAX -> core.queueMaxSize();
            case QUEUE_READY -> core.queueReady() ? 1 : 0;
            case INTERRUPT_STATUS -> core.interruptStatus();
            case STATUS -> core.status();
            // No shared memory regions: a length of all ones says so.
            case SHM_LEN_LOW, SHM_LEN_HIGH, SHM_BASE_LOW, SHM_BASE_HIGH -> -1;
            case CONFIG_GENERATION -> core.configGeneration();
            default -> 0; // write-only and reserved registers
        };
        return value & 0xffff_ffffL;
    }

    @Override
    public void write(long offset, int size, long value) {
        if (offset >= CONFIG && offset < WINDOW_SIZE) {
            core.writeConfig((int) (offset - CONFIG), size, (int) value);
            return;
        }
        if (size != 4 || offset < 0 || offset >= CONFIG || (offset & 3) != 0) return;
        int v = (int) value;
        switch ((int) offset) {
            case DEVICE_FEATURES_SEL -> core.selectDeviceFeatures(v);
            case DRIVER_FEATURES -> core.writeDriverFeatureWindow(v);
            case DRIVER_FEATURES_SEL -> core.selectDriverFeatures(v);
            case QUEUE_SEL -> core.selectQueue(v);
            case QUEUE_NUM -> core.setQueueSize(v);
            case QUEUE_READY -> core.setQueueReady((v & 1) != 0);
            case QUEUE_NOTIFY -> core.notifyQueue(v & 0xffff); // without NOTIFICATION_DATA the value is the index
            case INTERRUPT_ACK -> {
                core.acknowledgeInterrupt(v);
                updateLine();
            }
            case STATUS -> {
                core.writeStatus(v);
                updateLine();
            }
            case QUEUE_DESC_LOW -> core.setQueueDesc(VirtioDeviceCore.withLow(core.queueDesc(), v));
            case QUEUE_DESC_HIGH -> core.setQueueDesc(VirtioDeviceCore.withHigh(core.queueDesc(), v));
            case QUEUE_DRIVER_LOW -> core.setQueueDriver(VirtioDeviceCore.withLow(core.queueDriver(), v));
            case QUEUE_DRIVER_HIGH -> core.setQueueDriver(VirtioDeviceCore.withHigh(core.queueDriver(), v));
            case QUEUE_DEVICE_LOW -> core.setQueueDevice(VirtioDeviceCore.withLow(core.queueDevice(), v));
            case QUEUE_DEVICE_HIGH -> core.setQueueDevice(VirtioDeviceCore.withHigh(core.queueDevice(), v));
            default -> { } // read-only, SHMSel (no regions), QueueReset (RING_RESET is not offered), reserved
        }
    }

    @Override
    public void queueInterrupt(int queue) { updateLine(); }

    @Override
    public void configInterrupt() { updateLine(); }

    /**
     * Sets the line from the current interrupt status. Serialised, and always reading the status afresh, so the line
     * ends up matching the status whatever order raisers and acknowledgers run in.
     */
    private void updateLine() {
        synchronized (lineLock) {
            line.set(core.interruptStatus() != 0);
        }
    }

    /** Unplug: off the bus, device reset, line lowered and returned, window returned. */
    void close() {
        registration.close();
        core.close();
        synchronized (lineLock) {
            line.lower();
        }
        machine.releaseIrq(gsi);
        machine.mmioSpace().free(base);
    }
}
