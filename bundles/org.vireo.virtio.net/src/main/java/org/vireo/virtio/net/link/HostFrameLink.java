package org.vireo.virtio.net.link;

import java.util.concurrent.TimeUnit;
import org.osgi.annotation.versioning.ProviderType;

/**
 * The host end of an in-JVM network link to a virtio-net device (backend {@code link:NAME}), registered as an OSGi
 * service with the property {@link #LINK_NAME} = NAME. Frames are plain Ethernet frames, without a virtio header.
 * Frames the guest has not yet made room for are queued (bounded; the oldest are dropped).
 */
@ProviderType
public interface HostFrameLink {
    /** Service property naming the link. */
    String LINK_NAME = "link.name";

    /** Delivers one frame to the guest (copied; the caller may reuse the array). */
    void sendToGuest(byte[] frame);

    /** The next frame the guest sent, or null when none arrived within the timeout. */
    byte[] receiveFromGuest(long timeout, TimeUnit unit) throws InterruptedException;
}
