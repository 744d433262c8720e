package org.vireo.kvm;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import org.vireo.bus.InterruptController;
import org.vireo.bus.InterruptLine;
import org.vireo.bus.IoBus;
import org.vireo.kvm.internal.KvmAbi;
import org.vireo.kvm.internal.LibC;
import org.vireo.memory.GuestMemory;
import org.vireo.memory.MemoryRegion;

/**
 * One KVM virtual machine: guest memory slots, in-kernel devices, interrupt lines, ioeventfds, irqfds and vCPUs.
 * Thread-safe. {@link #close()} closes the vCPUs and eventfds it handed out; the guest memory segments stay the
 * caller's and must outlive the VM.
 */
public final class KvmVm implements AutoCloseable {
    public static final long PAGE_SIZE = 4096;

    private static final long MR_SLOT = KvmAbi.offset(KvmAbi.USERSPACE_MEMORY_REGION, "slot");
    private static final long MR_FLAGS = KvmAbi.offset(KvmAbi.USERSPACE_MEMORY_REGION, "flags");
    private static final long MR_GPA = KvmAbi.offset(KvmAbi.USERSPACE_MEMORY_REGION, "guest_phys_addr");
    private static final long MR_SIZE = KvmAbi.offset(KvmAbi.USERSPACE_MEMORY_REGION, "memory_size");
    private static final long MR_UADDR = KvmAbi.offset(KvmAbi.USERSPACE_MEMORY_REGION, "userspace_addr");
    private static final long IRQ_IRQ = KvmAbi.offset(KvmAbi.IRQ_LEVEL, "irq_or_status", "irq");
    private static final long IRQ_LEVEL = KvmAbi.offset(KvmAbi.IRQ_LEVEL, "level");
    private static final long IOE_DATAMATCH = KvmAbi.offset(KvmAbi.IOEVENTFD, "datamatch");
    private static final long IOE_ADDR = KvmAbi.offset(KvmAbi.IOEVENTFD, "addr");
    private static final long IOE_LEN = KvmAbi.offset(KvmAbi.IOEVENTFD, "len");
    private static final long IOE_FD = KvmAbi.offset(KvmAbi.IOEVENTFD, "fd");
    private static final long IOE_FLAGS = KvmAbi.offset(KvmAbi.IOEVENTFD, "flags");
    private static final long IRQFD_FD = KvmAbi.offset(KvmAbi.IRQFD, "fd");
    private static final long IRQFD_GSI = KvmAbi.offset(KvmAbi.IRQFD, "gsi");
    private static final long IRQFD_FLAGS = KvmAbi.offset(KvmAbi.IRQFD, "flags");
    private static final long MSI_ADDRESS_LO = KvmAbi.offset(KvmAbi.MSI, "address_lo");
    private static final long MSI_ADDRESS_HI = KvmAbi.offset(KvmAbi.MSI, "address_hi");
    private static final long MSI_DATA = KvmAbi.offset(KvmAbi.MSI, "data");

    private final Kvm kvm;
    private final int fd;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final List<KvmVcpu> vcpus = new CopyOnWriteArrayList<>();
    private final Set<EventFd> eventFds = ConcurrentHashMap.newKeySet();
    private final Map<Integer, InterruptLine> lines = new ConcurrentHashMap<>();
    private final InterruptController interrupts = new Interrupts();
    private int nextSlot;
    private volatile boolean irqchip;
    private volatile boolean pit;

    KvmVm(Kvm kvm, int fd) {
        this.kvm = kvm;
        this.fd = fd;
    }

    public Kvm kvm() { return kvm; }

    /** KVM_CHECK_EXTENSION on this VM (answers can differ from the system device's, e.g. with a VM type). */
    public int check(KvmCapability capability) {
        ensureOpen();
        return Math.max(LibC.ioctlErrno(fd, KvmAbi.KVM_CHECK_EXTENSION, capability.number()), 0);
    }

    // ---- memory ---------------------------------------------------------------------------------------------------

    /**
     * Maps every region of {@code memory} into the guest, one slot each. Regions must be native segments, with
     * page-aligned host address, guest address and size ({@link GuestMemory#allocate} gives such).
     */
    public synchronized void mapMemory(GuestMemory memory) {
        for (MemoryRegion r : memory.regions()) setMemoryRegion(nextSlot, r.base(), r.segment(), false);
    }

    /** KVM_SET_USER_MEMORY_REGION for {@code slot}; a zero-sized segment deletes the slot. */
    public synchronized void setMemoryRegion(int slot, long guestAddress, MemorySegment segment, boolean readOnly) {
        ensureOpen();
        if (!segment.isNative()) throw new IllegalArgumentException("guest memory for KVM must be a native segment (heap arrays move)");
        if ((segment.address() & (PAGE_SIZE - 1)) != 0) {
            throw new IllegalArgumentException(String.format("guest memory segment at host 0x%x is not page aligned", segment.address()));
        }
        if ((guestAddress & (PAGE_SIZE - 1)) != 0 || (segment.byteSize() & (PAGE_SIZE - 1)) != 0) {
            throw new IllegalArgumentException(String.format("guest memory region [0x%x, +0x%x) is not page aligned", guestAddress, segment.byteSize()));
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment mr = arena.allocate(KvmAbi.USERSPACE_MEMORY_REGION);
            mr.set(JAVA_INT, MR_SLOT, slot);
            mr.set(JAVA_INT, MR_FLAGS, readOnly ? 2 : 0); // KVM_MEM_READONLY
            mr.set(JAVA_LONG, MR_GPA, guestAddress);
            mr.set(JAVA_LONG, MR_SIZE, segment.byteSize());
            mr.set(JAVA_LONG, MR_UADDR, segment.address());
            LibC.ioctl(fd, KvmAbi.KVM_SET_USER_MEMORY_REGION, mr,
                    String.format("KVM_SET_USER_MEMORY_REGION slot %d [0x%x, +0x%x)", slot, guestAddress, segment.byteSize()));
        }
        nextSlot = Math.max(nextSlot, slot + 1);
    }

    // ---- in-kernel devices and interrupts ------------------------------------------------------------------------

    /**
     * Creates the in-kernel irqchip (8259 PICs, IOAPIC, per-vCPU LAPIC) and then the in-kernel PIT where the host
     * offers them; call before creating vCPUs. What the host refused is in the notes, not thrown: a VMM can still
     * run with user-space interrupt injection.
     */
    public synchronized InKernelDevices createInKernelDevices() {
        ensureOpen();
        if (!vcpus.isEmpty()) throw new IllegalStateException("create the in-kernel irqchip before the vCPUs");
        List<String> notes = new ArrayList<>();
        if (!irqchip) {
            if (check(KvmCapability.IRQCHIP) <= 0) {
                notes.add("no in-kernel irqchip (KVM_CAP_IRQCHIP absent)");
            } else {
                int r = LibC.ioctlErrno(fd, KvmAbi.KVM_CREATE_IRQCHIP, 0);
                if (r < 0) notes.add(new KvmException("KVM_CREATE_IRQCHIP", -r).getMessage());
                else irqchip = true;
            }
        }
        if (irqchip && !pit) {
            if (check(KvmCapability.PIT2) <= 0) {
                notes.add("no in-kernel PIT (KVM_CAP_PIT2 absent)");
            } else {
                try (Arena arena = Arena.ofConfined()) {
                    MemorySegment config = arena.allocate(KvmAbi.PIT_CONFIG); // flags 0: no speaker port emulation
                    int r = LibC.ioctlErrno(fd, KvmAbi.KVM_CREATE_PIT2, config);
                    if (r < 0) notes.add(new KvmException("KVM_CREATE_PIT2", -r).getMessage());
                    else pit = true;
                }
            }
        } else if (!irqchip) {
            notes.add("no in-kernel PIT (it needs the in-kernel irqchip)");
        }
        return new InKernelDevices(irqchip, pit, notes);
    }

    public boolean hasIrqchip() { return irqchip; }

    public boolean hasPit() { return pit; }

    /** KVM_IRQ_LINE: sets the level of in-kernel irqchip input {@code gsi} (0-15 PIC and IOAPIC, 16-23 IOAPIC). */
    public void setIrqLine(int gsi, boolean level) {
        ensureOpen();
        if (!irqchip) throw new IllegalStateException("KVM_IRQ_LINE needs the in-kernel irqchip; none was created");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(KvmAbi.IRQ_LEVEL);
            s.set(JAVA_INT, IRQ_IRQ, gsi);
            s.set(JAVA_INT, IRQ_LEVEL, level ? 1 : 0);
            LibC.ioctl(fd, KvmAbi.KVM_IRQ_LINE, s, "KVM_IRQ_LINE gsi " + gsi);
        }
    }

    /** KVM_SIGNAL_MSI: delivers a message-signalled interrupt through the in-kernel LAPICs. */
    public void signalMsi(long address, int data) {
        ensureOpen();
        if (!irqchip) throw new IllegalStateException("KVM_SIGNAL_MSI needs the in-kernel irqchip; none was created");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(KvmAbi.MSI);
            s.set(JAVA_INT, MSI_ADDRESS_LO, (int) address);
            s.set(JAVA_INT, MSI_ADDRESS_HI, (int) (address >>> 32));
            s.set(JAVA_INT, MSI_DATA, data);
            LibC.ioctl(fd, KvmAbi.KVM_SIGNAL_MSI, s, String.format("KVM_SIGNAL_MSI 0x%x/0x%x", address, data));
        }
    }

    /** The in-kernel irqchip as the bus API's interrupt controller, for devices and transports. */
    public InterruptController interruptController() { return interrupts; }

    private final class Interrupts implements InterruptController {
        @Override
        public InterruptLine line(int gsi) {
            return lines.computeIfAbsent(gsi, g -> level -> setIrqLine(g, level));
        }

        @Override
        public void sendMsi(long address, int data) { signalMsi(address, data); }
    }

    // ---- ioeventfd / irqfd ----------------------------------------------------------------------------------------

    /**
     * Registers an ioeventfd: a guest write of {@code length} bytes (1, 2, 4, 8; 0 for any width) to {@code address}
     * in {@code space}, and with {@code datamatch} present only a write of that value, signals the returned eventfd
     * inside the kernel instead of exiting to user space. Other accesses still exit as usual.
     */
    public IoEventFd ioeventfd(IoSpace space, long address, int length, OptionalLong datamatch) {
        ensureOpen();
        if (length != 0 && length != 1 && length != 2 && length != 4 && length != 8) {
            throw new IllegalArgumentException("ioeventfd length must be 0, 1, 2, 4 or 8: " + length);
        }
        if (datamatch.isPresent() && length == 0) throw new IllegalArgumentException("datamatch needs an access length");
        IoEventFd efd = new IoEventFd(this, space, address, length, datamatch);
        try {
            ioeventfdIoctl(efd, false);
            eventFds.add(efd);
            return efd;
        } catch (RuntimeException e) {
            efd.close();
            throw e;
        }
    }

    private void ioeventfdIoctl(IoEventFd efd, boolean deassign) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(KvmAbi.IOEVENTFD);
            int flags = (efd.space() == IoSpace.PIO ? KvmAbi.IOEVENTFD_FLAG_PIO : 0)
                    | (efd.datamatch().isPresent() ? KvmAbi.IOEVENTFD_FLAG_DATAMATCH : 0)
                    | (deassign ? KvmAbi.IOEVENTFD_FLAG_DEASSIGN : 0);
            s.set(JAVA_LONG, IOE_DATAMATCH, efd.datamatch().orElse(0));
            s.set(JAVA_LONG, IOE_ADDR, efd.address());
            s.set(JAVA_INT, IOE_LEN, efd.length());
            s.set(JAVA_INT, IOE_FD, efd.fd());
            s.set(JAVA_INT, IOE_FLAGS, flags);
            LibC.ioctl(fd, KvmAbi.KVM_IOEVENTFD, s, (deassign ? "KVM_IOEVENTFD deassign " : "KVM_IOEVENTFD ") + efd);
        }
    }

    /** Wires a new eventfd to in-kernel irqchip input {@code gsi}: signalling it raises an edge there. */
    public IrqFd irqfd(int gsi) {
        ensureOpen();
        if (!irqchip) throw new IllegalStateException("KVM_IRQFD needs the in-kernel irqchip; none was created");
        IrqFd efd = new IrqFd(this, gsi);
        try {
            irqfdIoctl(efd, false);
            eventFds.add(efd);
            return efd;
        } catch (RuntimeException e) {
            efd.close();
            throw e;
        }
    }

    private void irqfdIoctl(IrqFd efd, boolean deassign) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(KvmAbi.IRQFD);
            s.set(JAVA_INT, IRQFD_FD, efd.fd());
            s.set(JAVA_INT, IRQFD_GSI, efd.gsi());
            s.set(JAVA_INT, IRQFD_FLAGS, deassign ? KvmAbi.IRQFD_FLAG_DEASSIGN : 0);
            LibC.ioctl(fd, KvmAbi.KVM_IRQFD, s, (deassign ? "KVM_IRQFD deassign gsi " : "KVM_IRQFD gsi ") + efd.gsi());
        }
    }

    /** Called by an eventfd's close: detaches it from KVM if it was attached and the VM is still open. */
    void deassign(EventFd efd) {
        if (!eventFds.remove(efd) || closed.get()) return;
        try {
            if (efd instanceof IoEventFd io) ioeventfdIoctl(io, true);
            else if (efd instanceof IrqFd irq) irqfdIoctl(irq, true);
        } catch (KvmException e) {
            System.getLogger(KvmVm.class.getName()).log(System.Logger.Level.WARNING, "detaching " + efd + ": " + e.getMessage());
        }
    }

    // ---- vCPUs ----------------------------------------------------------------------------------------------------

    /**
     * Creates vCPU {@code id}, whose port and memory-mapped I/O exits go to {@code pio} and {@code mmio}. It starts in
     * the architectural reset state (real mode at f000:fff0); set registers before the first run.
     */
    public KvmVcpu createVcpu(int id, IoBus pio, IoBus mmio) {
        ensureOpen();
        int vcpuFd = LibC.ioctl(fd, KvmAbi.KVM_CREATE_VCPU, id, "KVM_CREATE_VCPU " + id);
        try {
            KvmVcpu vcpu = new KvmVcpu(this, id, vcpuFd, pio, mmio);
            vcpus.add(vcpu);
            return vcpu;
        } catch (RuntimeException e) {
            LibC.close(vcpuFd);
            throw e;
        }
    }

    void removed(KvmVcpu vcpu) { vcpus.remove(vcpu); }

    public List<KvmVcpu> vcpus() { return List.copyOf(vcpus); }

    private void ensureOpen() {
        if (closed.get()) throw new IllegalStateException("VM is closed");
    }

    /** Closes the vCPUs (waiting for running ones to stop), the eventfds, and the VM. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) return;
        for (KvmVcpu v : vcpus) v.close();
        for (EventFd e : List.copyOf(eventFds)) e.close();
        eventFds.clear();
        LibC.close(fd);
    }
}
