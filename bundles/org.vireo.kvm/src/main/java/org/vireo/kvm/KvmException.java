package org.vireo.kvm;

import java.util.Map;
import org.vireo.kvm.internal.LibC;

/**
 * A KVM or C library call that failed: which operation (usually the ioctl's name), the errno and its text.
 * Also used, with errno 0, for conditions the host's KVM reports without an errno (wrong API version, a guest it
 * cannot run).
 */
public class KvmException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private static final Map<Integer, String> ERRNO_NAMES = Map.ofEntries(
            Map.entry(1, "EPERM"), Map.entry(2, "ENOENT"), Map.entry(4, "EINTR"), Map.entry(5, "EIO"),
            Map.entry(6, "ENXIO"), Map.entry(7, "E2BIG"), Map.entry(9, "EBADF"), Map.entry(11, "EAGAIN"),
            Map.entry(12, "ENOMEM"), Map.entry(13, "EACCES"), Map.entry(14, "EFAULT"), Map.entry(16, "EBUSY"),
            Map.entry(17, "EEXIST"), Map.entry(19, "ENODEV"), Map.entry(22, "EINVAL"), Map.entry(24, "EMFILE"),
            Map.entry(25, "ENOTTY"), Map.entry(28, "ENOSPC"), Map.entry(38, "ENOSYS"), Map.entry(95, "EOPNOTSUPP"));

    private final String operation;
    private final int errno;

    /** {@code operation} failed with {@code errno}; the message carries the errno's name and the C library's text. */
    public KvmException(String operation, int errno) {
        super(operation + " failed: " + errnoName(errno) + " (" + LibC.strerror(errno) + ")");
        this.operation = operation;
        this.errno = errno;
    }

    /** A failure without an errno. */
    public KvmException(String operation, String message) {
        super(operation + ": " + message);
        this.operation = operation;
        this.errno = 0;
    }

    /** The failed operation, e.g. {@code KVM_CREATE_VCPU} or {@code open /dev/kvm}. */
    public String operation() { return operation; }

    /** The errno, or 0 when the failure had none. */
    public int errno() { return errno; }

    /** The C library's text for the errno, or the message when there is no errno. */
    public String strerror() { return errno == 0 ? getMessage() : LibC.strerror(errno); }

    static String errnoName(int errno) {
        String name = ERRNO_NAMES.get(errno);
        return name != null ? name : "errno " + errno;
    }
}
