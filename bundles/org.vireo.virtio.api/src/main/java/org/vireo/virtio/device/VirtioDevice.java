package org.vireo.virtio.device;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * A virtio device backend, registered as an OSGi service with the properties of
 * {@link org.vireo.virtio.VirtioProperties} (device id, transport, machine, name). A transport exposes it to the
 * guest and runs the status/feature state machine; the device only sees its config space, {@link #activate} with
 * the negotiated features and live queues once the driver sets DRIVER_OK, {@link #queueNotify} on kicks, and
 * {@link #reset}.
 * <p>
 * Everything a device reads from a queue is guest-controlled: a malformed chain surfaces as
 * {@link VirtqueueException} from {@link DeviceQueue#pop()}, and the device answers with
 * {@link VirtioDeviceContext#needsReset(String)}, never by throwing out of {@link #queueNotify}.
 */
@ConsumerType
public interface VirtioDevice {
    int deviceId();

    /**
     * Device-specific feature bits this device offers, plus any generic ones it supports beyond what the transport
     * adds itself (the transport always offers VERSION_1, RING_INDIRECT_DESC and RING_EVENT_IDX).
     */
    long offeredFeatures();

    int queueCount();

    /** Largest size the driver may give queue {@code index} (a power of two, at most 32768). */
    int queueMaxSize(int index);

    /** Bytes of device-specific configuration space. */
    int configSize();

    /** Reads 1, 2 or 4 bytes of config space, little-endian; the transport has checked the bounds. */
    int readConfig(int offset, int size);

    /** Writes config space; devices ignore writes to read-only fields. */
    void writeConfig(int offset, int size, int value);

    /**
     * The driver has set DRIVER_OK: start serving. {@code context} stays valid until {@link #reset()}.
     * Called with the features the driver accepted (always including VERSION_1).
     */
    void activate(VirtioDeviceContext context);

    /** The driver notified queue {@code index} (only after {@link #activate}). */
    void queueNotify(int index);

    /** Back to the initial state: stop touching the queues, forget the context. Must not block for long. */
    void reset();

    /** One line for the shell: the backend and its state, e.g. "file=/tmp/disk.img 64 MiB rw". */
    default String describe() { return ""; }
}
