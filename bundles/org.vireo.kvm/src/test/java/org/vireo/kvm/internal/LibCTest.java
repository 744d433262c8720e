package org.vireo.kvm.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import org.junit.Test;
import org.vireo.kvm.KvmException;

/** The C library bindings report errno with the operation that failed. */
public class LibCTest {
    @Test
    public void openOfAMissingFileCarriesEnoent() {
        try {
            LibC.open("/nonexistent/vireo-kvm", LibC.O_RDWR, "open /nonexistent/vireo-kvm");
            fail("opened a missing file");
        } catch (KvmException e) {
            assertEquals(LibC.ENOENT, e.errno());
            assertEquals("open /nonexistent/vireo-kvm", e.operation());
            assertEquals("open /nonexistent/vireo-kvm failed: ENOENT (No such file or directory)", e.getMessage());
        }
    }

    @Test
    public void ioctlOnANonKvmDeviceNamesTheIoctl() {
        int fd = LibC.open("/dev/null", LibC.O_RDWR, "open /dev/null");
        try {
            LibC.ioctl(fd, KvmAbi.KVM_GET_API_VERSION, 0, "KVM_GET_API_VERSION");
            fail("/dev/null answered a KVM ioctl");
        } catch (KvmException e) {
            assertEquals(LibC.ENOTTY, e.errno());
            assertTrue(e.getMessage(), e.getMessage().startsWith("KVM_GET_API_VERSION failed: ENOTTY ("));
            assertEquals(LibC.strerror(LibC.ENOTTY), e.strerror());
        } finally {
            LibC.close(fd);
        }
    }

    @Test
    public void ioctlErrnoReturnsNegativeErrnoWithoutThrowing() {
        assertEquals(-9, LibC.ioctlErrno(-1, KvmAbi.KVM_GET_API_VERSION, 0)); // EBADF
    }

    @Test
    public void strerrorGivesTheCLibraryText() {
        assertEquals("Invalid argument", LibC.strerror(LibC.EINVAL));
    }

    @Test
    public void realTimeSignalsStartAboveGlibcsOwn() {
        assertTrue(LibC.sigrtmin() >= 32);
    }
}
