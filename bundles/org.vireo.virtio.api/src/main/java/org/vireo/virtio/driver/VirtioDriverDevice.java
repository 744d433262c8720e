package org.vireo.virtio.driver;

import org.osgi.annotation.versioning.ProviderType;
import org.vireo.memory.GuestAllocator;
import org.vireo.memory.GuestMemory;

/**
 * A device as a driver sees it, through its transport's registers (the seed's struct virtio_device and
 * virtio_config_ops). Driver-side transports register these as OSGi services with the properties of
 * {@link org.vireo.virtio.VirtioProperties}; the virtio bus binds drivers to them.
 */
@ProviderType
public interface VirtioDriverDevice {
    /** Unique, user-facing: e.g. "java/mmio@0xd0000000" or "java/pci@00:01.0". */
    String name();

    String transport();

    int deviceId();

    int vendorId();

    GuestMemory memory();

    /** Guest RAM for the driver's buffers (the driver frees what it allocates). */
    GuestAllocator allocator();

    /** All 64 feature bits the device offers. */
    long deviceFeatures();

    /** Writes the driver's accepted features (before FEATURES_OK). */
    void writeDriverFeatures(long features);

    /** The features last written, i.e. negotiated once FEATURES_OK stuck. */
    long negotiatedFeatures();

    int getStatus();

    void setStatus(int status);

    /** Writes 0 to status and waits until the device reads back 0; all queues are forgotten. */
    void reset();

    int configGeneration();

    /** Reads 1, 2 or 4 bytes of device config space. */
    int readConfig(int offset, int size);

    /** A 64-bit config field read consistently (retried across a generation change). */
    long readConfig64(int offset);

    void writeConfig(int offset, int size, int value);

    int queueCount();

    /** Largest size the device allows for queue {@code index}; 0 if the queue does not exist. */
    int queueMaxSize(int index);

    /**
     * Sets up queue {@code index} with up to {@code size} entries (0: the device's maximum) and enables it.
     * {@code callback} runs on interrupt when the device has used buffers (null: no callback).
     */
    Virtqueue setupQueue(int index, int size, VirtqueueCallback callback);

    /** Disables and frees every queue set up on this device. */
    void deleteQueues();

    /** The bus's record of which driver bound this device (null when none). */
    VirtioDriver boundDriver();

    void setBoundDriver(VirtioDriver driver);

    /** Called by the transport on a configuration-change interrupt; the bus forwards it to the bound driver. */
    void setConfigChangeHandler(Runnable handler);
}
