package org.vireo.virtio.console.link;

import java.util.concurrent.TimeUnit;
import org.osgi.annotation.versioning.ProviderType;

/**
 * The host end of an in-JVM console link to a virtio-console device (backend {@code link:NAME}), registered as an
 * OSGi service with the property {@link #LINK_NAME} = NAME. A byte stream each way: host input waits in the device
 * until the guest posts receive buffers; guest output waits here (bounded; the oldest bytes are dropped) until read.
 */
@ProviderType
public interface HostConsoleLink {
    /** Service property naming the link. */
    String LINK_NAME = "link.name";

    /** Sends bytes to the guest (copied; the caller may reuse the array). */
    void sendToGuest(byte[] data);

    /**
     * Reads at least one byte the guest wrote, waiting up to the timeout.
     *
     * @return the bytes copied into {@code buf[off..]}, at most {@code len}; 0 when nothing arrived in time
     */
    int receiveFromGuest(byte[] buf, int off, int len, long timeout, TimeUnit unit) throws InterruptedException;
}
