package org.vireo.virtio.mmio;

import static org.vireo.virtio.mmio.VirtioMmio.*;

import org.vireo.bus.IoBus;
import org.vireo.bus.Registration;
import org.vireo.machine.JavaGuest;
import org.vireo.machine.Machine;
import org.vireo.virtio.core.DriverSideDevice;
import org.vireo.virtio.driver.Virtqueue;
import org.vireo.virtio.driver.VirtqueueCallback;
import org.vireo.virtio.ring.QueueDriver;
import org.vireo.virtio.ring.Rings;

/**
 * The driver side of virtio-mmio for Java guests, in the manner of a kernel's virtio-mmio driver: everything goes
 * through 32-bit register accesses on the machine's MMIO bus at the device's base address, never through the device
 * object, so a Java driver exercises exactly what a guest kernel would.
 */
final class MmioDriverSide extends DriverSideDevice {
    private static final System.Logger LOG = System.getLogger(MmioDriverSide.class.getName());
    /** Queue indices probed for QueueNumMax when counting queues (virtio-mmio has no queue-count register). */
    private static final int MAX_QUEUES = 1024;
    private static final int RESET_POLLS = 1_000_000;

    private final IoBus bus;
    private final long base;
    private final int deviceId;
    private final int vendorId;
    private final int queueCount;
    private final Registration interruptRegistration;

    MmioDriverSide(Machine machine, JavaGuest guest, long base, int gsi, String name) {
        super(name, machine.memory(), guest.allocator());
        this.bus = machine.mmio();
        this.base = base;
        int magic = reg(MAGIC_VALUE);
        int version = reg(VERSION_REG);
        if (magic != MAGIC || version != VERSION) {
            throw new IllegalStateException(String.format("%s: not a virtio-mmio v2 device (magic 0x%x, version %d)", name, magic, version));
        }
        this.deviceId = reg(DEVICE_ID);
        this.vendorId = reg(VENDOR_ID);
        this.queueCount = countQueues();
        this.interruptRegistration = guest.onInterrupt(gsi, this::interrupt);
    }

    private int countQueues() {
        synchronized (registers) {
            int n = 0;
            while (n < MAX_QUEUES) {
                reg(QUEUE_SEL, n);
                if (reg(QUEUE_NUM_MAX) == 0) break;
                n++;
            }
            return n;
        }
    }

    private int reg(int offset) { return (int) bus.read(base + offset, 4); }

    private void reg(int offset, int value) { bus.write(base + offset, 4, value & 0xffff_ffffL); }

    /** The interrupt handler: read and acknowledge the status, then tell the queues and the config handler. */
    private void interrupt() {
        int status = reg(INTERRUPT_STATUS);
        if (status == 0) return;
        reg(INTERRUPT_ACK, status);
        if ((status & 1) != 0) interruptAllQueues();
        if ((status & 2) != 0) configChanged();
    }

    @Override public String transport() { return TRANSPORT; }
    @Override public int deviceId() { return deviceId; }
    @Override public int vendorId() { return vendorId; }

    @Override
    public long deviceFeatures() {
        synchronized (registers) {
            reg(DEVICE_FEATURES_SEL, 0);
            long low = reg(DEVICE_FEATURES) & 0xffff_ffffL;
            reg(DEVICE_FEATURES_SEL, 1);
            long high = reg(DEVICE_FEATURES) & 0xffff_ffffL;
            return low | high << 32;
        }
    }

    @Override
    public void writeDriverFeatures(long features) {
        synchronized (registers) {
            reg(DRIVER_FEATURES_SEL, 0);
            reg(DRIVER_FEATURES, (int) features);
            reg(DRIVER_FEATURES_SEL, 1);
            reg(DRIVER_FEATURES, (int) (features >>> 32));
            negotiated = features;
        }
    }

    @Override public int getStatus() { return reg(STATUS) & 0xff; }

    @Override public void setStatus(int status) { reg(STATUS, status & 0xff); }

    @Override
    public void reset() {
        reg(STATUS, 0);
        for (int i = 0; i < RESET_POLLS && reg(STATUS) != 0; i++) Thread.onSpinWait();
        if (reg(STATUS) != 0) throw new IllegalStateException(name + ": device did not reset");
    }

    @Override public int configGeneration() { return reg(CONFIG_GENERATION); }

    @Override
    public int readConfig(int offset, int size) {
        checkConfig(offset, size);
        return (int) bus.read(base + CONFIG + offset, size);
    }

    @Override
    public void writeConfig(int offset, int size, int value) {
        checkConfig(offset, size);
        bus.write(base + CONFIG + offset, size, value & 0xffff_ffffL);
    }

    private static void checkConfig(int offset, int size) {
        if (size != 1 && size != 2 && size != 4) throw new IllegalArgumentException("config access size " + size);
        if (offset < 0 || offset > WINDOW_SIZE - CONFIG - size) throw new IllegalArgumentException("config offset " + offset);
    }

    @Override public int queueCount() { return queueCount; }

    @Override
    public int queueMaxSize(int index) {
        if (index < 0 || index >= queueCount) return 0;
        synchronized (registers) {
            reg(QUEUE_SEL, index);
            return reg(QUEUE_NUM_MAX);
        }
    }

    @Override
    public Virtqueue setupQueue(int index, int size, VirtqueueCallback callback) {
        if (index < 0 || index >= queueCount) throw new IllegalArgumentException(name + ": no queue " + index);
        synchronized (registers) {
            reg(QUEUE_SEL, index);
            if (reg(QUEUE_READY) != 0) throw new IllegalStateException(name + ": queue " + index + " is already enabled");
            int max = reg(QUEUE_NUM_MAX);
            if (max == 0) throw new IllegalStateException(name + ": queue " + index + " is not available");
            int n = Integer.highestOneBit(size <= 0 ? max : Math.min(size, max));
            QueueDriver old = queues.remove(index);
            if (old != null) old.release();
            QueueDriver q = Rings.driver(memory, allocator, index, n, negotiated, () -> reg(QUEUE_NOTIFY, index));
            try {
                q.setCallback(callback);
                reg(QUEUE_NUM, n);
                reg(QUEUE_DESC_LOW, (int) q.descAddress());
                reg(QUEUE_DESC_HIGH, (int) (q.descAddress() >>> 32));
                reg(QUEUE_DRIVER_LOW, (int) q.driverAreaAddress());
                reg(QUEUE_DRIVER_HIGH, (int) (q.driverAreaAddress() >>> 32));
                reg(QUEUE_DEVICE_LOW, (int) q.deviceAreaAddress());
                reg(QUEUE_DEVICE_HIGH, (int) (q.deviceAreaAddress() >>> 32));
                reg(QUEUE_READY, 1);
                if (reg(QUEUE_READY) != 1) throw new IllegalStateException(name + ": queue " + index + " did not become ready");
            } catch (RuntimeException e) {
                q.release();
                throw e;
            }
            queues.put(index, q);
            return q;
        }
    }

    @Override
    protected boolean disableQueue(int index) {
        reg(QUEUE_SEL, index);
        reg(QUEUE_READY, 0);
        return reg(QUEUE_READY) == 0;
    }

    /** Unplug: the device stops using guest memory (reset) and the interrupt handler goes before the rings are freed. */
    @Override
    public void close() {
        try {
            reset();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, name + ": reset on unplug failed", e);
        }
        interruptRegistration.close();
        releaseQueues();
    }
}
