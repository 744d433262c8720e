package org.vireo.bus.pci;

import java.time.Duration;
import java.util.Objects;
import org.vireo.bus.InterruptLine;

/**
 * A PCI Express Root Port with one hot-plug slot, for a guest whose kernel runs native PCIe hot-plug (Linux's
 * pciehp): a type-1 header whose secondary bus holds at most one function (device 0), a memory window fixed by the
 * machine (the guest may reprogram it), no I/O or prefetchable window, and a PCI Express capability with Slot
 * Implemented, a hot-plug capable slot with attention button, power controller and indicators, no command-completed
 * notifications, and Data Link Layer Link Active reporting. Hot-plug events interrupt through INTx (pin A on the
 * given line), since a guest without a local APIC has no MSI.
 * <p>
 * {@link #insert} puts a function on the secondary bus and reports presence and link up (Presence Detect Changed
 * and Data Link Layer State Changed). {@link #remove} presses the attention button and waits for the guest to power
 * the slot off (its orderly removal, after its drivers let go of the function), then takes the function away; if
 * the guest does not answer in time, or never powered the slot on, the function goes at once (surprise removal).
 * Guest writes can only change what the registers let them change. Thread-safe.
 */
public final class PcieRootPort implements PciBridge {
    private boolean guestStopped;   // guarded by this
    /** Red Hat's id for a generic PCIe root port, which guests know as such. */
    public static final int VENDOR_ID = 0x1b36;
    public static final int DEVICE_ID = 0x000c;
    public static final int CLASS_CODE = 0x060400;

    public static final int PRIMARY_BUS = 0x18;
    public static final int SECONDARY_BUS = 0x19;
    public static final int SUBORDINATE_BUS = 0x1a;
    public static final int MEMORY_BASE = 0x20;
    public static final int MEMORY_LIMIT = 0x22;
    public static final int BRIDGE_CONTROL = 0x3e;
    /** Where the PCI Express capability sits. */
    public static final int PCIE_CAP = 0x40;
    public static final int LINK_CAPABILITIES = PCIE_CAP + 0x0c;
    public static final int LINK_STATUS = PCIE_CAP + 0x12;
    public static final int SLOT_CAPABILITIES = PCIE_CAP + 0x14;
    public static final int SLOT_CONTROL = PCIE_CAP + 0x18;
    public static final int SLOT_STATUS = PCIE_CAP + 0x1a;
    public static final int ROOT_CONTROL = PCIE_CAP + 0x1c;
    private static final int PCIE_CAP_LENGTH = 0x3c;

    public static final int SLOT_CAP_ATTENTION_BUTTON = 0x1;
    public static final int SLOT_CAP_POWER_CONTROLLER = 0x2;
    public static final int SLOT_CAP_ATTENTION_INDICATOR = 0x8;
    public static final int SLOT_CAP_POWER_INDICATOR = 0x10;
    public static final int SLOT_CAP_HOT_PLUG_CAPABLE = 0x40;
    public static final int SLOT_CAP_NO_COMMAND_COMPLETED = 0x4_0000;

    public static final int SLOT_CTL_ATTENTION_BUTTON_ENABLE = 0x1;
    public static final int SLOT_CTL_POWER_FAULT_ENABLE = 0x2;
    public static final int SLOT_CTL_MRL_ENABLE = 0x4;
    public static final int SLOT_CTL_PRESENCE_ENABLE = 0x8;
    public static final int SLOT_CTL_COMMAND_COMPLETED_ENABLE = 0x10;
    public static final int SLOT_CTL_HOT_PLUG_INTERRUPT_ENABLE = 0x20;
    public static final int SLOT_CTL_POWER_OFF = 0x400;
    public static final int SLOT_CTL_LINK_STATE_ENABLE = 0x1000;

    public static final int SLOT_STA_ATTENTION_BUTTON = 0x1;
    public static final int SLOT_STA_POWER_FAULT = 0x2;
    public static final int SLOT_STA_MRL_CHANGED = 0x4;
    public static final int SLOT_STA_PRESENCE_CHANGED = 0x8;
    public static final int SLOT_STA_COMMAND_COMPLETED = 0x10;
    public static final int SLOT_STA_PRESENCE = 0x40;
    public static final int SLOT_STA_LINK_STATE_CHANGED = 0x100;
    /** The write-1-to-clear event bits of Slot Status. */
    private static final int SLOT_EVENTS = 0x11f;

    public static final int LINK_STA_ACTIVE = 0x2000;
    /** 2.5 GT/s, x1. */
    private static final int LINK_STA_TRAINED = 0x0011;

    private static final int COMMAND_INTX_DISABLE = 0x400;
    private static final int STATUS_INTERRUPT = 0x8;

    private final byte[] bytes = new byte[PciConfigSpace.SIZE];
    private final byte[] writable = new byte[PciConfigSpace.SIZE];
    private final byte[] clearable = new byte[PciConfigSpace.SIZE];
    private final PciBus secondary = new PciBus();
    private final InterruptLine line;
    private PciFunction card;
    private boolean removing;
    private boolean interrupting;

    /**
     * @param slotNumber   the physical slot number the guest names the slot by (1..8191)
     * @param windowBase   the memory window's base (1 MiB aligned), where functions behind the port get their BARs
     * @param windowSize   the window's size (a multiple of 1 MiB)
     * @param gsi          the INTx line number the guest reads from the interrupt line register
     * @param line         that line
     */
    public PcieRootPort(int slotNumber, long windowBase, long windowSize, int gsi, InterruptLine line) {
        if (slotNumber < 1 || slotNumber > 0x1fff) throw new IllegalArgumentException("bad slot number " + slotNumber);
        if ((windowBase & 0xf_ffff) != 0 || windowSize < 0x10_0000 || (windowSize & 0xf_ffff) != 0
                || windowBase + windowSize > 0x1_0000_0000L) {
            throw new IllegalArgumentException(String.format("bad memory window 0x%x+0x%x", windowBase, windowSize));
        }
        this.line = Objects.requireNonNull(line);
        put(PciConfigSpace.VENDOR_ID, 2, VENDOR_ID);
        put(PciConfigSpace.DEVICE_ID, 2, DEVICE_ID);
        put(PciConfigSpace.CLASS_CODE, 3, CLASS_CODE);
        put(PciConfigSpace.HEADER_TYPE, 1, 0x01);
        put(PciConfigSpace.STATUS, 2, PciConfigSpace.STATUS_CAPABILITIES);
        mask(PciConfigSpace.COMMAND, 2, 0x1 | 0x2 | 0x4 | 0x40 | 0x100 | COMMAND_INTX_DISABLE);
        mask(PciConfigSpace.CACHE_LINE_SIZE, 1, 0xff);
        // Firmware's bus numbers and window; the guest may renumber and move them. I/O and prefetchable windows
        // are not implemented: their registers read zero and ignore writes, which is how a guest learns that.
        put(PRIMARY_BUS, 1, 0);
        put(SECONDARY_BUS, 1, 1);
        put(SUBORDINATE_BUS, 1, 1);
        mask(PRIMARY_BUS, 4, 0xff_ff_ff_ff);
        put(MEMORY_BASE, 2, (int) (windowBase >>> 16) & 0xfff0);
        put(MEMORY_LIMIT, 2, (int) ((windowBase + windowSize - 1) >>> 16) & 0xfff0);
        mask(MEMORY_BASE, 2, 0xfff0);
        mask(MEMORY_LIMIT, 2, 0xfff0);
        put(PciConfigSpace.CAPABILITIES_POINTER, 1, PCIE_CAP);
        put(PciConfigSpace.INTERRUPT_LINE, 1, gsi & 0xff);
        mask(PciConfigSpace.INTERRUPT_LINE, 1, 0xff);
        put(PciConfigSpace.INTERRUPT_PIN, 1, 1);
        mask(BRIDGE_CONTROL, 2, 0x5f);   // parity, SERR, ISA, VGA, VGA 16-bit, secondary bus reset

        put(PCIE_CAP, 1, 0x10);                     // PCI Express capability, last in the list
        put(PCIE_CAP + 0x02, 2, 0x2 | 0x4 << 4 | 0x100);   // version 2, Root Port, Slot Implemented
        mask(PCIE_CAP + 0x08, 2, 0x7fff & ~0x7000);  // device control, except max read request size
        put(LINK_CAPABILITIES, 4, 0x1 | 0x1 << 4 | 1 << 20 | slotNumber << 24);   // 2.5 GT/s, x1, DLL active reporting
        mask(PCIE_CAP + 0x10, 2, 0x0fcf);            // link control, except link disable and retrain
        put(LINK_STATUS, 2, LINK_STA_TRAINED);
        put(SLOT_CAPABILITIES, 4, SLOT_CAP_ATTENTION_BUTTON | SLOT_CAP_POWER_CONTROLLER | SLOT_CAP_ATTENTION_INDICATOR
                | SLOT_CAP_POWER_INDICATOR | SLOT_CAP_HOT_PLUG_CAPABLE | SLOT_CAP_NO_COMMAND_COMPLETED | slotNumber << 19);
        // An empty slot comes out of reset powered off, both indicators off.
        put(SLOT_CONTROL, 2, SLOT_CTL_POWER_OFF | 0x3 << 8 | 0x3 << 6);
        mask(SLOT_CONTROL, 2, 0x1fff);
        clear(SLOT_STATUS, 2, SLOT_EVENTS);
        mask(ROOT_CONTROL, 2, 0x000f);
    }

    // ---- bridge ----

    @Override public synchronized int secondaryBusNumber() { return load(SECONDARY_BUS, 1); }

    @Override public synchronized int subordinateBusNumber() { return load(SUBORDINATE_BUS, 1); }

    @Override public PciBus secondaryBus() { return secondary; }

    /** The memory window as programmed, {base, limit} inclusive; base > limit when closed. */
    public synchronized long[] memoryWindow() {
        return new long[] {(long) (load(MEMORY_BASE, 2) & 0xfff0) << 16, (long) (load(MEMORY_LIMIT, 2) & 0xfff0) << 16 | 0xf_ffff};
    }

    // ---- hot-plug ----

    /** Whether the guest listens for hot-plug interrupts and the slot is free: a function inserted now is seen. */
    public synchronized boolean accepting() {
        int control = load(SLOT_CONTROL, 2);
        return card == null && !removing && (control & SLOT_CTL_HOT_PLUG_INTERRUPT_ENABLE) != 0
                && (control & (SLOT_CTL_LINK_STATE_ENABLE | SLOT_CTL_PRESENCE_ENABLE)) != 0;
    }

    public synchronized boolean occupied() { return card != null; }

    /** The guest's view of slot power (the power controller's control bit). */
    public synchronized boolean poweredOn() { return (load(SLOT_CONTROL, 2) & SLOT_CTL_POWER_OFF) == 0; }

    /**
     * Puts {@code function} in the slot (device 0 of the secondary bus) and tells the guest: card present, link up.
     *
     * @throws IllegalStateException when the slot holds a function
     */
    public void insert(PciFunction function) {
        synchronized (this) {
            if (card != null || removing) throw new IllegalStateException("hot-plug slot is occupied");
            secondary.attach(0, function);
            card = function;
            put(SLOT_STATUS, 2, load(SLOT_STATUS, 2) | SLOT_STA_PRESENCE | SLOT_STA_PRESENCE_CHANGED | SLOT_STA_LINK_STATE_CHANGED);
            put(LINK_STATUS, 2, load(LINK_STATUS, 2) | LINK_STA_ACTIVE);
            updateInterrupt();
        }
    }

    /**
     * Takes {@code function} out of the slot. While the guest has the slot powered on, presses the attention button
     * and waits up to {@code timeout} for the guest to power the slot off; then (or at once when the slot is
     * off) the function leaves the bus ({@link PciFunction#detached()}) and the guest sees the card gone.
     *
     * @return true for an orderly removal (the guest powered the slot off or never powered it on), false when it
     *         timed out or was interrupted and the function was pulled from under the guest
     */
    public boolean remove(PciFunction function, Duration timeout) {
        boolean orderly;
        synchronized (this) {
            if (card != function || removing) throw new IllegalStateException("not in the hot-plug slot: " + function);
            removing = true;
            orderly = !poweredOn();
            if (!orderly) put(SLOT_STATUS, 2, load(SLOT_STATUS, 2) | SLOT_STA_ATTENTION_BUTTON);
            updateInterrupt();
        }
        if (!orderly) orderly = awaitPowerOff(timeout);
        synchronized (this) {
            secondary.detach(0);
            card = null;
            removing = false;
            put(SLOT_STATUS, 2, load(SLOT_STATUS, 2) & ~SLOT_STA_PRESENCE | SLOT_STA_PRESENCE_CHANGED | SLOT_STA_LINK_STATE_CHANGED);
            put(LINK_STATUS, 2, load(LINK_STATUS, 2) & ~LINK_STA_ACTIVE);
            updateInterrupt();
        }
        return orderly;
    }

    /**
     * The guest's CPU has stopped for good: nobody will answer the attention button any more, so removals from now
     * on take the card out at once instead of waiting for a power-off that cannot come.
     */
    public synchronized void guestStopped() {
        guestStopped = true;
        notifyAll();
    }

    private synchronized boolean awaitPowerOff(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        try {
            while (poweredOn() && !guestStopped) {
                long left = deadline - System.nanoTime();
                if (left <= 0) return false;
                wait(Math.max(1, left / 1_000_000));
            }
            return !poweredOn();   // false when the guest stopped with the slot still on: the card is pulled
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    // ---- configuration space ----

    @Override
    public int configRead(int offset, int size) {
        if (!valid(offset, size)) return size == 4 ? -1 : (1 << (size * 8)) - 1;
        synchronized (this) {
            return load(offset, size);
        }
    }

    @Override
    public void configWrite(int offset, int size, int value) {
        if (!valid(offset, size)) return;
        synchronized (this) {
            for (int i = 0; i < size; i++) {
                int at = offset + i;
                int b = value >>> (8 * i) & 0xff;
                int kept = bytes[at] & ~writable[at] & ~(b & clearable[at]);
                bytes[at] = (byte) (kept | b & writable[at]);
            }
            updateInterrupt();
            notifyAll();   // a power-off ends a removal
        }
    }

    /** The line follows: hot-plug interrupts enabled, INTx not disabled, and an enabled event pending. */
    private void updateInterrupt() {
        boolean level;
        synchronized (this) {   // callers hold the lock already, so registers and line change together
            int control = load(SLOT_CONTROL, 2);
            int status = load(SLOT_STATUS, 2);
            int enabled = (control & 0x1f) | ((control & SLOT_CTL_LINK_STATE_ENABLE) != 0 ? SLOT_STA_LINK_STATE_CHANGED : 0);
            level = (control & SLOT_CTL_HOT_PLUG_INTERRUPT_ENABLE) != 0 && (status & enabled & SLOT_EVENTS) != 0;
            int pciStatus = load(PciConfigSpace.STATUS, 2);
            put(PciConfigSpace.STATUS, 2, level ? pciStatus | STATUS_INTERRUPT : pciStatus & ~STATUS_INTERRUPT);
            if ((load(PciConfigSpace.COMMAND, 2) & COMMAND_INTX_DISABLE) != 0) level = false;
            if (level == interrupting) return;
            interrupting = level;
            // Set under the lock so two threads cannot leave the line opposite to the registers.
            line.set(level);
        }
    }

    private static boolean valid(int offset, int size) {
        return (size == 1 || size == 2 || size == 4) && offset >= 0 && offset + size <= PciConfigSpace.SIZE;
    }

    private int load(int offset, int size) {
        int v = 0;
        for (int i = 0; i < size; i++) v |= (bytes[offset + i] & 0xff) << (8 * i);
        return v;
    }

    private void put(int offset, int size, int value) {
        for (int i = 0; i < size; i++) bytes[offset + i] = (byte) (value >>> (8 * i));
    }

    private void mask(int offset, int size, int value) {
        for (int i = 0; i < size; i++) writable[offset + i] = (byte) (value >>> (8 * i));
    }

    private void clear(int offset, int size, int value) {
        for (int i = 0; i < size; i++) clearable[offset + i] = (byte) (value >>> (8 * i));
    }
}
