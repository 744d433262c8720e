package org.vireo.kvm;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.vireo.kvm.internal.KvmAbi;
import org.vireo.kvm.internal.LibC;

/**
 * The KVM system device ({@code /dev/kvm}): API version check, capabilities, supported CPUID, and VM creation.
 * Thread-safe. Closing it does not close the VMs made from it (the kernel keeps what they need).
 */
public final class Kvm implements AutoCloseable {
    public static final String DEFAULT_DEVICE = "/dev/kvm";

    private final String device;
    private final int fd;
    private final int vcpuMmapSize;
    private final boolean pvm;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final Map<KvmCapability, Integer> capabilities = new EnumMap<>(KvmCapability.class);
    private volatile List<CpuidEntry> supportedCpuid;

    private Kvm(String device, int fd) {
        this.device = device;
        this.fd = fd;
        this.vcpuMmapSize = LibC.ioctl(fd, KvmAbi.KVM_GET_VCPU_MMAP_SIZE, 0, "KVM_GET_VCPU_MMAP_SIZE");
        if (vcpuMmapSize < KvmAbi.RUN.byteSize()) {
            throw new KvmException("KVM_GET_VCPU_MMAP_SIZE", "kvm_run area of " + vcpuMmapSize + " bytes is smaller than struct kvm_run");
        }
        for (KvmCapability c : KvmCapability.values()) {
            int r = LibC.ioctlErrno(fd, KvmAbi.KVM_CHECK_EXTENSION, c.number());
            capabilities.put(c, Math.max(r, 0));
        }
        this.pvm = KvmStatus.pvmModuleLoaded();
    }

    /** Opens {@link #DEFAULT_DEVICE}. */
    public static Kvm open() { return open(DEFAULT_DEVICE); }

    /**
     * Opens a KVM device and checks that it speaks API version 12.
     *
     * @throws KvmException naming the failed step (open, KVM_GET_API_VERSION, ...) with errno
     */
    public static Kvm open(String device) {
        int fd = LibC.open(device, LibC.O_RDWR | LibC.O_CLOEXEC, "open " + device);
        try {
            int version = LibC.ioctl(fd, KvmAbi.KVM_GET_API_VERSION, 0, "KVM_GET_API_VERSION");
            if (version != KvmAbi.API_VERSION) {
                throw new KvmException("KVM_GET_API_VERSION", device + " speaks KVM API version " + version + ", this accelerator needs " + KvmAbi.API_VERSION);
            }
            return new Kvm(device, fd);
        } catch (RuntimeException e) {
            LibC.close(fd);
            throw e;
        }
    }

    public String device() { return device; }

    public int apiVersion() { return KvmAbi.API_VERSION; }

    /** The KVM_CHECK_EXTENSION answer on the system device: 0 when absent, else 1 or a count. */
    public int check(KvmCapability capability) { return capabilities.get(capability); }

    public boolean has(KvmCapability capability) { return check(capability) > 0; }

    /** Any KVM_CHECK_EXTENSION number, for capabilities {@link KvmCapability} does not list. */
    public int checkExtension(int capability) {
        ensureOpen();
        return Math.max(LibC.ioctlErrno(fd, KvmAbi.KVM_CHECK_EXTENSION, capability), 0);
    }

    /** Bytes of the per-vCPU kvm_run mapping. */
    public int vcpuMmapSize() { return vcpuMmapSize; }

    /** True when the module behind the device is PVM (software nested virtualization that cannot boot stock kernels). */
    public boolean isPvm() { return pvm; }

    /** KVM_GET_SUPPORTED_CPUID: the leaves this host can give a guest. Asked once, then cached. */
    public List<CpuidEntry> supportedCpuid() {
        List<CpuidEntry> cached = supportedCpuid;
        if (cached != null) return cached;
        ensureOpen();
        int capacity = 64;
        while (true) {
            try (Arena arena = Arena.ofConfined()) {
                long entrySize = KvmAbi.CPUID_ENTRY2.byteSize();
                MemorySegment buf = arena.allocate(KvmAbi.CPUID2.byteSize() + capacity * entrySize, 8);
                buf.set(JAVA_INT, 0, capacity);
                int r = LibC.ioctlErrno(fd, KvmAbi.KVM_GET_SUPPORTED_CPUID, buf);
                if (r == -LibC.E2BIG && capacity < 4096) {
                    capacity *= 2;
                    continue;
                }
                if (r < 0) throw new KvmException("KVM_GET_SUPPORTED_CPUID", -r);
                int n = buf.get(JAVA_INT, 0);
                List<CpuidEntry> entries = new ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    entries.add(CpuidCodec.read(buf.asSlice(KvmAbi.CPUID2.byteSize() + i * entrySize, entrySize)));
                }
                cached = List.copyOf(entries);
                supportedCpuid = cached;
                return cached;
            }
        }
    }

    /**
     * Creates a VM. Where the host needs it (Intel without unrestricted guest), the real-mode TSS is parked at
     * {@code 0xfffbd000}, just below a PC's BIOS ROM; guest memory must stay clear of {@code [0xfffbc000, 0xfffc0000)}.
     */
    public KvmVm createVm() {
        ensureOpen();
        int vmFd = LibC.ioctl(fd, KvmAbi.KVM_CREATE_VM, 0, "KVM_CREATE_VM");
        try {
            if (has(KvmCapability.SET_TSS_ADDR)) {
                LibC.ioctl(vmFd, KvmAbi.KVM_SET_TSS_ADDR, KvmAbi.DEFAULT_TSS_ADDRESS, "KVM_SET_TSS_ADDR");
            }
            return new KvmVm(this, vmFd);
        } catch (RuntimeException e) {
            LibC.close(vmFd);
            throw e;
        }
    }

    private void ensureOpen() {
        if (closed.get()) throw new IllegalStateException(device + " is closed");
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) LibC.close(fd);
    }

    @Override
    public String toString() { return "Kvm[" + device + (pvm ? ", PVM" : "") + "]"; }
}
