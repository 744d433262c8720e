package org.vireo.virtio.bus.impl;

import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;
import org.vireo.virtio.VirtioFeatures;
import org.vireo.virtio.VirtioStatus;
import org.vireo.virtio.bus.VirtioBus;
import org.vireo.virtio.driver.VirtioDeviceId;
import org.vireo.virtio.driver.VirtioDriver;
import org.vireo.virtio.driver.VirtioDriverDevice;

/**
 * The binding logic of the virtio bus, without OSGi: drivers and devices arrive and leave in any order; each
 * unbound device is offered to the matching drivers in their arrival order, and the status/feature handshake runs
 * here, in one place. Every operation runs synchronously under one bus lock (the OSGi component moves them off
 * the DS callback threads). Drivers may set DRIVER_OK themselves at the end of probe, before exposing the device
 * to their users (Linux's virtio_device_ready); the bus sets it only if it is not yet set.
 */
public final class VirtioBusCore implements VirtioBus {
    /** Feature bits the bus (the ring and transport code behind every driver) handles itself. */
    public static final long BUS_FEATURES = VirtioFeatures.bit(VirtioFeatures.VERSION_1)
            | VirtioFeatures.bit(VirtioFeatures.RING_INDIRECT_DESC)
            | VirtioFeatures.bit(VirtioFeatures.RING_EVENT_IDX)
            | VirtioFeatures.bit(VirtioFeatures.RING_PACKED);

    private static final System.Logger LOG = System.getLogger(VirtioBusCore.class.getName());

    private final ReentrantLock lock = new ReentrantLock();
    private final List<VirtioDriver> drivers = new ArrayList<>();   // arrival order
    private final List<DeviceEntry> devices = new ArrayList<>();    // arrival order
    private boolean closed;

    /** A device the bus knows, with the driver bound to it. */
    private static final class DeviceEntry {
        final VirtioDriverDevice device;
        final String machine;
        /** Serializes configuration-change callbacks against unbinding, so none reaches a removed driver. */
        final Object configLock = new Object();
        volatile VirtioDriver bound;
        int lastStatus;

        DeviceEntry(VirtioDriverDevice device, String machine) {
            this.device = device;
            this.machine = machine;
        }

        void configChanged() {
            synchronized (configLock) {
                VirtioDriver driver = bound;
                if (driver == null) return;
                try {
                    if ((device.getStatus() & VirtioStatus.NEEDS_RESET) != 0) {
                        LOG.log(Level.WARNING, () -> device.name() + ": device needs reset (driver " + driver.name() + ")");
                    }
                    driver.configChanged(device);
                } catch (RuntimeException e) {
                    LOG.log(Level.ERROR, device.name() + ": " + driver.name() + " failed on a configuration change", e);
                }
            }
        }
    }

    public void addDriver(VirtioDriver driver) {
        lock.lock();
        try {
            if (closed || indexOfDriver(driver) >= 0) return;
            drivers.add(driver);
            for (DeviceEntry entry : List.copyOf(devices)) {
                if (entry.bound == null && matches(driver, entry.device)) probe(entry, driver);
            }
        } finally {
            lock.unlock();
        }
    }

    /** The driver leaves: it is removed from every device it drives; those devices are offered to the other drivers. */
    public void removeDriver(VirtioDriver driver) {
        lock.lock();
        try {
            int index = indexOfDriver(driver);
            if (index < 0) return;
            drivers.remove(index);
            for (DeviceEntry entry : List.copyOf(devices)) {
                if (entry.bound == driver) {
                    unbind(entry);
                    offer(entry);
                }
            }
        } finally {
            lock.unlock();
        }
    }

    /** @param machine the device service's machine.name property, for {@link #bindings()} (may be null) */
    public void addDevice(VirtioDriverDevice device, String machine) {
        lock.lock();
        try {
            if (closed || entryOf(device) != null) return;
            DeviceEntry entry = new DeviceEntry(device, machine);
            devices.add(entry);
            device.setConfigChangeHandler(entry::configChanged);
            // As Linux does on registration: reset, then acknowledge that a driver-side bus has seen the device.
            guarded(device, "reset", () -> {
                device.reset();
                setStatus(entry, VirtioStatus.ACKNOWLEDGE);
            });
            offer(entry);
        } finally {
            lock.unlock();
        }
    }

    public void removeDevice(VirtioDriverDevice device) {
        lock.lock();
        try {
            DeviceEntry entry = entryOf(device);
            if (entry == null) return;
            devices.remove(entry);
            if (entry.bound != null) unbind(entry);
            guarded(device, "clear config handler", () -> device.setConfigChangeHandler(() -> {}));
        } finally {
            lock.unlock();
        }
    }

    /** Unbinds every device and forgets everything; later calls are ignored. */
    public void close() {
        lock.lock();
        try {
            closed = true;
            for (DeviceEntry entry : devices) {
                if (entry.bound != null) unbind(entry);
                guarded(entry.device, "clear config handler", () -> entry.device.setConfigChangeHandler(() -> {}));
            }
            devices.clear();
            drivers.clear();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public List<Binding> bindings() {
        lock.lock();
        try {
            List<Binding> result = new ArrayList<>(devices.size());
            for (DeviceEntry entry : devices) {
                VirtioDriverDevice d = entry.device;
                int status = entry.lastStatus;
                try {
                    status = d.getStatus();
                } catch (RuntimeException e) {
                    // the transport is going away: report what the bus last wrote
                }
                VirtioDriver bound = entry.bound;
                result.add(new Binding(d.name(), d.deviceId(), d.transport(), entry.machine,
                        bound == null ? null : bound.name(), status));
            }
            return List.copyOf(result);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Offers an unbound device to the first matching driver in arrival order. A failed probe leaves the device
     * FAILED and unbound until the next driver arrives.
     */
    private void offer(DeviceEntry entry) {
        for (VirtioDriver driver : List.copyOf(drivers)) {
            if (matches(driver, entry.device)) {
                probe(entry, driver);
                return;
            }
        }
    }

    /** The virtio 1.x 3.1.1 initialization sequence around {@link VirtioDriver#probe}; true if the driver bound. */
    private boolean probe(DeviceEntry entry, VirtioDriver driver) {
        VirtioDriverDevice device = entry.device;
        int status = 0;
        try {
            device.reset();
            status = setStatus(entry, VirtioStatus.ACKNOWLEDGE);
            status = setStatus(entry, status | VirtioStatus.DRIVER);
            long offered = device.deviceFeatures();
            if (!VirtioFeatures.has(offered, VirtioFeatures.VERSION_1)) {
                fail(entry, status, driver, "the device does not offer VERSION_1 (legacy devices are not supported)", null);
                return false;
            }
            long accepted = offered & (driver.supportedFeatures() | BUS_FEATURES);
            device.writeDriverFeatures(accepted);
            status = setStatus(entry, status | VirtioStatus.FEATURES_OK);
            if ((device.getStatus() & VirtioStatus.FEATURES_OK) == 0) {
                fail(entry, status, driver, String.format("the device refused features 0x%x (%s)", accepted,
                        VirtioFeatures.describe(device.deviceId(), accepted)), null);
                return false;
            }
            driver.probe(device);
        } catch (Exception e) {
            fail(entry, status, driver, "probe failed: " + e, e);
            return false;
        }
        try {
            int now = device.getStatus();
            if ((now & VirtioStatus.DRIVER_OK) == 0) setStatus(entry, now | VirtioStatus.DRIVER_OK);
            else entry.lastStatus = now;
            device.setBoundDriver(driver);
            synchronized (entry.configLock) {
                entry.bound = driver;
            }
            LOG.log(Level.INFO, () -> device.name() + ": bound to " + driver.name());
            return true;
        } catch (RuntimeException e) {
            // the transport failed between probe and DRIVER_OK: undo the probe
            entry.bound = driver;
            unbind(entry);
            LOG.log(Level.ERROR, device.name() + ": could not start after probing " + driver.name(), e);
            return false;
        }
    }

    /** FAILED, then reset (which stops the device touching any queue the driver set up), keeping FAILED visible. */
    private void fail(DeviceEntry entry, int status, VirtioDriver driver, String reason, Throwable cause) {
        VirtioDriverDevice device = entry.device;
        LOG.log(Level.WARNING, device.name() + ": " + driver.name() + ": " + reason, cause);
        guarded(device, "set FAILED", () -> setStatus(entry, status | VirtioStatus.FAILED));
        guarded(device, "reset", device::reset);
        guarded(device, "delete queues", device::deleteQueues);
        guarded(device, "set FAILED", () -> setStatus(entry, VirtioStatus.FAILED));
    }

    private void unbind(DeviceEntry entry) {
        VirtioDriverDevice device = entry.device;
        VirtioDriver driver;
        synchronized (entry.configLock) {
            driver = entry.bound;
            entry.bound = null;
        }
        if (driver == null) return;
        try {
            driver.remove(device);
        } catch (RuntimeException e) {
            LOG.log(Level.ERROR, device.name() + ": " + driver.name() + " failed to remove", e);
        }
        guarded(device, "clear bound driver", () -> device.setBoundDriver(null));
        guarded(device, "reset", device::reset);
        guarded(device, "delete queues", device::deleteQueues);
        guarded(device, "acknowledge", () -> setStatus(entry, VirtioStatus.ACKNOWLEDGE));
        LOG.log(Level.INFO, () -> device.name() + ": unbound from " + driver.name());
    }

    private static int setStatus(DeviceEntry entry, int status) {
        entry.device.setStatus(status);
        entry.lastStatus = status;
        return status;
    }

    private static boolean matches(VirtioDriver driver, VirtioDriverDevice device) {
        try {
            List<VirtioDeviceId> ids = driver.idTable();
            if (ids == null) return false;
            int deviceId = device.deviceId(), vendorId = device.vendorId();
            for (VirtioDeviceId id : ids) {
                if (id != null && id.matches(deviceId, vendorId)) return true;
            }
        } catch (RuntimeException e) {
            LOG.log(Level.ERROR, "cannot match driver " + driver + " with " + device.name(), e);
        }
        return false;
    }

    private int indexOfDriver(VirtioDriver driver) {
        for (int i = 0; i < drivers.size(); i++) if (drivers.get(i) == driver) return i;
        return -1;
    }

    private DeviceEntry entryOf(VirtioDriverDevice device) {
        for (DeviceEntry e : devices) if (e.device == device) return e;
        return null;
    }

    /** Runs one step of a teardown that must go on even when the transport has already half gone. */
    private static void guarded(VirtioDriverDevice device, String what, Runnable step) {
        try {
            step.run();
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, device.name() + ": " + what + " failed: " + e);
        }
    }
}
