package org.vireo.virtio.ring;

import java.util.List;
import java.util.Objects;
import org.vireo.memory.GuestMemory;
import org.vireo.memory.GuestRange;

/** The argument checks of add_buf that both ring layouts' drivers make before touching their ring. */
final class DriverBuffers {
    private DriverBuffers() { }

    /**
     * Checks a buffer for a queue of {@code queueSize} descriptors and returns its writable (device-written) bytes.
     *
     * @throws IllegalArgumentException for no ranges, more than the queue size, a range outside guest memory or longer
     *         than 2^32-1 bytes
     * @throws NullPointerException for a null token
     */
    static long check(GuestMemory memory, int queueSize, List<GuestRange> out, List<GuestRange> in, Object token) {
        Objects.requireNonNull(token, "token");
        int total = out.size() + in.size();
        if (total == 0) throw new IllegalArgumentException("a buffer needs at least one range");
        if (total > queueSize) throw new IllegalArgumentException(total + " ranges do not fit a queue of " + queueSize);
        long writable = 0;
        for (GuestRange r : out) checkRange(memory, r);
        for (GuestRange r : in) {
            checkRange(memory, r);
            writable += r.length();
        }
        return writable;
    }

    private static void checkRange(GuestMemory memory, GuestRange r) {
        if (r.length() > 0xffff_ffffL) throw new IllegalArgumentException("range longer than 2^32-1 bytes: " + r);
        if (!memory.contains(r.address(), r.length())) throw new IllegalArgumentException("range outside guest memory: " + r);
    }
}
