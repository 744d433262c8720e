package org.vireo.bus.pci;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A type-0 PCI configuration header (256 bytes) for device models: identity registers, command and status, memory
 * BARs (32- or 64-bit, sized the usual way by writing all ones and reading back), a capability list, and the
 * interrupt line and pin. Every byte has a write mask, so guest writes can only change what a real function lets
 * them change; reads and writes of any offset and size never throw (out of range reads all ones, writes are dropped).
 * <p>
 * The owner learns about BAR mappings through a {@link BarListener}: a BAR is mapped while memory decoding is enabled
 * in the command register and its address is non-zero, and the listener hears every change of that (relocation,
 * enable, disable) so it can move its register window on the MMIO bus. Capabilities that react to accesses (MSI-X
 * enable, a config-space access window) get a {@link CapabilityHandler}. Listeners and handlers are called without
 * this object's lock held. Thread-safe.
 */
public final class PciConfigSpace implements PciFunction {
    public static final int SIZE = 256;
    /** {@link BarListener} address of a BAR that does not decode. */
    public static final long UNMAPPED = -1L;

    public static final int VENDOR_ID = 0x00;
    public static final int DEVICE_ID = 0x02;
    public static final int COMMAND = 0x04;
    public static final int STATUS = 0x06;
    public static final int REVISION_ID = 0x08;
    public static final int CLASS_CODE = 0x09;
    public static final int CACHE_LINE_SIZE = 0x0c;
    public static final int LATENCY_TIMER = 0x0d;
    public static final int HEADER_TYPE = 0x0e;
    public static final int BAR0 = 0x10;
    public static final int SUBSYSTEM_VENDOR_ID = 0x2c;
    public static final int SUBSYSTEM_ID = 0x2e;
    public static final int EXPANSION_ROM = 0x30;
    public static final int CAPABILITIES_POINTER = 0x34;
    public static final int INTERRUPT_LINE = 0x3c;
    public static final int INTERRUPT_PIN = 0x3d;

    public static final int COMMAND_IO = 0x1;
    public static final int COMMAND_MEMORY = 0x2;
    public static final int COMMAND_BUS_MASTER = 0x4;
    public static final int COMMAND_INTX_DISABLE = 0x400;
    /** Command bits a guest may change: I/O, memory, bus master, parity, SERR, INTx disable. */
    private static final int COMMAND_WRITABLE = 0x1 | 0x2 | 0x4 | 0x40 | 0x100 | 0x400;

    public static final int STATUS_INTERRUPT = 0x8;
    public static final int STATUS_CAPABILITIES = 0x10;

    public static final int CAP_VENDOR = 0x09;
    public static final int CAP_MSIX = 0x11;

    public static final int BAR_COUNT = 6;
    private static final int BAR_MEMORY_64 = 0x4;
    private static final int BAR_PREFETCHABLE = 0x8;
    private static final int FIRST_CAPABILITY = 0x40;

    /** Told when a BAR starts or stops decoding, or moves; addresses are {@link #UNMAPPED} when not decoding. */
    @FunctionalInterface
    public interface BarListener {
        void barMoved(int bar, long oldAddress, long newAddress);
    }

    /** Hooks for one capability; offsets are relative to the capability's first byte (its id). */
    public interface CapabilityHandler {
        /** The value a read of {@code size} bytes at {@code offset} returns; {@code stored} is what the bytes hold. */
        default int read(int offset, int size, int stored) { return stored; }

        /** After a write of {@code size} bytes at {@code offset} was stored (through the capability's write mask). */
        default void written(int offset, int size, int value) {}
    }

    private record Capability(int offset, int length, CapabilityHandler handler) {
        boolean holds(int at, int size) { return at >= offset && at + size <= offset + length; }
    }

    private final byte[] bytes = new byte[SIZE];
    private final byte[] writable = new byte[SIZE];
    private final long[] barSize = new long[BAR_COUNT];
    private final boolean[] barIs64 = new boolean[BAR_COUNT];
    private final List<Capability> capabilities = new CopyOnWriteArrayList<>();
    private int nextCapability = FIRST_CAPABILITY;
    private int lastCapability;

    private final Object publishLock = new Object();
    private final long[] published = {UNMAPPED, UNMAPPED, UNMAPPED, UNMAPPED, UNMAPPED, UNMAPPED};
    private volatile BarListener barListener;

    /**
     * @param classCode the 24-bit class code: base class, subclass, programming interface (e.g. 0x018000)
     */
    public PciConfigSpace(int vendorId, int deviceId, int classCode, int revision) {
        store(VENDOR_ID, 2, vendorId);
        store(DEVICE_ID, 2, deviceId);
        store(REVISION_ID, 1, revision);
        store(CLASS_CODE, 3, classCode);
        store(HEADER_TYPE, 1, 0);
        mask(COMMAND, 2, COMMAND_WRITABLE);
        mask(CACHE_LINE_SIZE, 1, 0xff);
        mask(LATENCY_TIMER, 1, 0xff);
        mask(INTERRUPT_LINE, 1, 0xff);
    }

    // ---- identity and interrupts ----

    public synchronized void setSubsystem(int subsystemVendorId, int subsystemId) {
        store(SUBSYSTEM_VENDOR_ID, 2, subsystemVendorId);
        store(SUBSYSTEM_ID, 2, subsystemId);
    }

    /** 0 for none, 1..4 for INTA..INTD. */
    public synchronized void setInterruptPin(int pin) { store(INTERRUPT_PIN, 1, pin); }

    public synchronized void setInterruptLine(int line) { store(INTERRUPT_LINE, 1, line); }

    public synchronized int interruptLine() { return load(INTERRUPT_LINE, 1); }

    /** Reflects a pending INTx in the status register's interrupt bit. */
    public synchronized void setInterruptStatus(boolean pending) {
        int s = load(STATUS, 1);
        store(STATUS, 1, pending ? s | STATUS_INTERRUPT : s & ~STATUS_INTERRUPT);
    }

    public synchronized int command() { return load(COMMAND, 2); }

    public boolean memoryEnabled() { return (command() & COMMAND_MEMORY) != 0; }

    public boolean busMasterEnabled() { return (command() & COMMAND_BUS_MASTER) != 0; }

    public boolean intxDisabled() { return (command() & COMMAND_INTX_DISABLE) != 0; }

    // ---- BARs ----

    /**
     * Declares a memory BAR of {@code size} bytes (a power of two, at least 16). A 64-bit BAR also takes slot
     * {@code bar + 1} for its high half.
     */
    public synchronized void addMemoryBar(int bar, long size, boolean is64, boolean prefetchable) {
        int slots = is64 ? 2 : 1;
        if (bar < 0 || bar + slots > BAR_COUNT) throw new IllegalArgumentException("no BAR slot " + bar + (is64 ? " (64-bit)" : ""));
        if (size < 16 || Long.bitCount(size) != 1 || (!is64 && size > 0x8000_0000L)) throw new IllegalArgumentException("bad BAR size " + size);
        for (int i = bar; i < bar + slots; i++) {
            if (barSize[i] != 0 || (i > 0 && barIs64[i - 1])) throw new IllegalStateException("BAR slot " + i + " is taken");
        }
        barSize[bar] = size;
        barIs64[bar] = is64;
        int flags = (is64 ? BAR_MEMORY_64 : 0) | (prefetchable ? BAR_PREFETCHABLE : 0);
        int at = BAR0 + 4 * bar;
        store(at, 4, flags);
        mask(at, 4, (int) ~(size - 1) & ~0xf);
        if (is64) mask(at + 4, 4, (int) (~(size - 1) >>> 32));
    }

    /** Places a BAR (firmware's job); {@code address} is aligned down to the BAR size. */
    public void setBarAddress(int bar, long address) {
        synchronized (this) {
            requireBar(bar);
            int at = BAR0 + 4 * bar;
            long aligned = address & ~(barSize[bar] - 1);
            store(at, 4, ((int) aligned & ~0xf) | (load(at, 4) & 0xf));
            if (barIs64[bar]) store(at + 4, 4, (int) (aligned >>> 32));
        }
        publishMappings();
    }

    /** The address programmed into a BAR (whether or not it decodes). */
    public synchronized long barAddress(int bar) {
        requireBar(bar);
        return programmed(bar);
    }

    public synchronized long barSize(int bar) {
        requireBar(bar);
        return barSize[bar];
    }

    /** Where the BAR decodes now, or {@link #UNMAPPED}. */
    public synchronized long mappedAddress(int bar) {
        requireBar(bar);
        return effective(bar);
    }

    public void setBarListener(BarListener listener) {
        barListener = listener;
        publishMappings();
    }

    private void requireBar(int bar) {
        if (bar < 0 || bar >= BAR_COUNT || barSize[bar] == 0) throw new IllegalArgumentException("BAR " + bar + " is not declared");
    }

    private long programmed(int bar) {
        int at = BAR0 + 4 * bar;
        long low = load(at, 4) & 0xffff_fff0L;
        return barIs64[bar] ? low | ((long) load(at + 4, 4) << 32) : low;
    }

    private long effective(int bar) {
        if ((load(COMMAND, 2) & COMMAND_MEMORY) == 0) return UNMAPPED;
        long address = programmed(bar);
        // Zero is "not assigned"; addresses with bit 63 set are beyond any physical address width.
        return address <= 0 || address + barSize[bar] - 1 < address ? UNMAPPED : address;
    }

    /** Tells the listener about every BAR whose decoding changed; serialised so the listener sees changes in order. */
    private void publishMappings() {
        synchronized (publishLock) {
            BarListener listener = barListener;
            for (int bar = 0; bar < BAR_COUNT; bar++) {
                long now;
                synchronized (this) {
                    if (barSize[bar] == 0) continue;
                    now = effective(bar);
                }
                long before = published[bar];
                if (now == before || listener == null) continue;
                published[bar] = now;
                try {
                    listener.barMoved(bar, before, now);
                } catch (RuntimeException e) {
                    System.getLogger(PciConfigSpace.class.getName()).log(System.Logger.Level.ERROR, "BAR listener failed", e);
                }
            }
        }
    }

    // ---- capabilities ----

    /**
     * Appends a capability to the list and returns its offset. {@code body} is everything after the id and next
     * pointer; {@code bodyWritable} (same length, or null for read-only) masks the bits a guest may write.
     */
    public int addCapability(int id, byte[] body, byte[] bodyWritable, CapabilityHandler handler) {
        if (bodyWritable != null && bodyWritable.length != body.length) throw new IllegalArgumentException("mask length differs from body");
        synchronized (this) {
            int offset = nextCapability;
            int length = 2 + body.length;
            if (offset + length > SIZE) throw new IllegalStateException("no room for a " + length + "-byte capability");
            store(offset, 1, id);
            store(offset + 1, 1, 0);
            for (int i = 0; i < body.length; i++) {
                bytes[offset + 2 + i] = body[i];
                if (bodyWritable != null) writable[offset + 2 + i] = bodyWritable[i];
            }
            if (lastCapability == 0) {
                store(CAPABILITIES_POINTER, 1, offset);
                store(STATUS, 1, load(STATUS, 1) | STATUS_CAPABILITIES);
            } else {
                store(lastCapability + 1, 1, offset);
            }
            lastCapability = offset;
            nextCapability = (offset + length + 3) & ~3;
            capabilities.add(new Capability(offset, length, handler));
            return offset;
        }
    }

    /** Raw read of stored bytes (no handlers, no masks), for the owner and its capability handlers. */
    public synchronized int peek(int offset, int size) {
        return inRange(offset, size) ? load(offset, size) : 0;
    }

    /** Raw store bypassing write masks, for the owner and its capability handlers (e.g. read-only status bits). */
    public void poke(int offset, int size, int value) {
        synchronized (this) {
            if (!inRange(offset, size)) return;
            store(offset, size, value);
        }
        if (touchesDecoding(offset, size)) publishMappings();
    }

    // ---- guest accesses ----

    @Override
    public int configRead(int offset, int size) {
        if (!validAccess(offset, size)) return size == 1 || size == 2 ? (1 << (size * 8)) - 1 : -1;
        int stored;
        synchronized (this) {
            stored = load(offset, size);
        }
        for (Capability c : capabilities) {
            if (c.handler != null && c.holds(offset, size)) {
                try {
                    return c.handler.read(offset - c.offset, size, stored);
                } catch (RuntimeException e) {
                    System.getLogger(PciConfigSpace.class.getName()).log(System.Logger.Level.ERROR, "capability read failed", e);
                    return stored;
                }
            }
        }
        return stored;
    }

    @Override
    public void configWrite(int offset, int size, int value) {
        if (!validAccess(offset, size)) return;
        synchronized (this) {
            for (int i = 0; i < size; i++) {
                int at = offset + i;
                int m = writable[at];
                bytes[at] = (byte) ((bytes[at] & ~m) | ((value >>> (8 * i)) & m));
            }
        }
        if (touchesDecoding(offset, size)) publishMappings();
        for (Capability c : capabilities) {
            if (c.handler != null && c.holds(offset, size)) {
                try {
                    c.handler.written(offset - c.offset, size, value);
                } catch (RuntimeException e) {
                    System.getLogger(PciConfigSpace.class.getName()).log(System.Logger.Level.ERROR, "capability write failed", e);
                }
                break;
            }
        }
    }

    private static boolean validAccess(int offset, int size) {
        return (size == 1 || size == 2 || size == 4) && inRange(offset, size);
    }

    private static boolean inRange(int offset, int size) {
        return size >= 1 && size <= 4 && offset >= 0 && offset <= SIZE - size;
    }

    private static boolean touchesDecoding(int offset, int size) {
        int end = offset + size;
        return (offset < COMMAND + 2 && end > COMMAND) || (offset < BAR0 + 4 * BAR_COUNT && end > BAR0);
    }

    private int load(int offset, int size) {
        int v = 0;
        for (int i = 0; i < size; i++) v |= (bytes[offset + i] & 0xff) << (8 * i);
        return v;
    }

    private void store(int offset, int size, int value) {
        for (int i = 0; i < size; i++) bytes[offset + i] = (byte) (value >>> (8 * i));
    }

    private void mask(int offset, int size, int value) {
        for (int i = 0; i < size; i++) writable[offset + i] = (byte) (value >>> (8 * i));
    }
}
