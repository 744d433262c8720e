package org.vireo.vmm;

import java.io.OutputStream;
import java.util.List;
import org.vireo.virtio.ring.RingLayout;

/**
 * How a machine meets the rest of Vireo while it runs: published where device components can find it, and its
 * devices created and plugged onto its PCI bus (or as virtio-mmio windows), all before the kernel runs (the guest scans PCI once, at boot).
 * {@link DirectWiring} does it in plain Java; {@link OsgiWiring} through services and ConfigurationAdmin.
 */
@FunctionalInterface
interface MachineWiring {
    /**
     * @param transport where the devices go: {@code pci} or {@code mmio} (the {@code virtio.transport} names)
     * @param ring      the virtqueue layout the devices offer ({@code virtio.ring})
     * @param terminal  where a virtio console without a file sends its output
     * @return told when the vCPU starts, and closed when the run ends, before the machine closes: unplugs the devices,
     *         withdraws the machine
     * @throws WiringException with a message for the user when a device cannot be created or plugged
     */
    Wired wire(X86Machine machine, List<DeviceSpec> devices, String transport, RingLayout ring, OutputStream terminal) throws WiringException;

    /** A machine wired for a run: closing it unplugs the devices and withdraws the machine. */
    @FunctionalInterface
    interface Wired extends AutoCloseable {
        /**
         * Called on the vCPU thread just before the guest's first instruction, so whoever watches the machine can tell
         * when the guest starts (e.g. the launcher's start-up timing). Must not throw and must not block for long.
         */
        default void vcpuStarting() {}
    }

    /** A device that could not be set up; the message names it and says why. */
    final class WiringException extends Exception {
        private static final long serialVersionUID = 1L;

        WiringException(String message) { super(message); }

        WiringException(String message, Throwable cause) { super(message, cause); }
    }

    /** Closes {@code resources} last to first, keeping the first failure and attaching the rest to it. */
    static void closeAll(List<? extends AutoCloseable> resources) throws Exception {
        Exception failure = null;
        for (int i = resources.size() - 1; i >= 0; i--) {
            try {
                resources.get(i).close();
            } catch (Exception e) {
                if (failure == null) failure = e;
                else failure.addSuppressed(e);
            }
        }
        if (failure != null) throw failure;
    }
}
