package org.vireo.x86.platform;

import org.vireo.bus.IoBus;
import org.vireo.bus.IoHandler;
import org.vireo.bus.Registration;
import org.vireo.bus.pci.PciBus;

/**
 * PCI configuration mechanism #1: the address register at 0xcf8 (32-bit accesses only) and the data window at
 * 0xcfc-0xcff (byte, word or dword at any offset), forwarded to a {@link PciBus}, which answers bus 0 itself and
 * routes other bus numbers through its bridges. With the enable bit clear, or for a bus nobody answers, reads
 * return all ones and writes are dropped. An access that straddles the dword is
 * split into bytes rather than refused; one of no bytes, or of more than four, reads all ones and writes nothing. The byte at 0xcf9 is the chipset's reset control register: writing it with
 * bit 2 (reset CPU) set resets the machine, which is Linux's {@code reboot=pci}.
 */
public final class PciHostBridge {
    public static final int ADDRESS_PORT = 0xcf8;
    public static final int DATA_PORT = 0xcfc;
    private static final int ENABLE = 0x8000_0000;

    public static final int RESET_CONTROL_PORT = 0xcf9;
    private static final int RESET_CPU = 0x04;

    private final PciBus bus;
    private final Runnable resetRequest;
    private int address;
    private int resetControl;

    public PciHostBridge(PciBus bus, Runnable resetRequest) {
        this.bus = bus;
        this.resetRequest = resetRequest;
    }

    public PciHostBridge(PciBus bus) { this(bus, () -> { }); }

    public Registration register(IoBus pio) {
        Registration a = pio.register(ADDRESS_PORT, 4, "pci-config-address", new IoHandler() {
            @Override
            public long read(long offset, int size) {
                synchronized (PciHostBridge.this) {
                    if (offset == 0 && size == 4) return address & 0xffff_ffffL;
                    if (offset == 1 && size == 1) return resetControl;
                    return size >= 4 ? 0xffff_ffffL : (1L << (8 * size)) - 1;   // other chipset registers: absent
                }
            }

            @Override
            public void write(long offset, int size, long value) {
                if (offset == 0 && size == 4) {
                    synchronized (PciHostBridge.this) { address = (int) value & 0x80ff_fffc; }
                } else if (offset == 1 && size == 1) {
                    synchronized (PciHostBridge.this) { resetControl = (int) value & 0x0a; }
                    if ((value & RESET_CPU) != 0) resetRequest.run();
                }
            }
        });
        Registration d = pio.register(DATA_PORT, 4, "pci-config-data", new IoHandler() {
            @Override
            public long read(long offset, int size) { return readData((int) offset, size); }

            @Override
            public void write(long offset, int size, long value) { writeData((int) offset, size, (int) value); }
        });
        return () -> { a.close(); d.close(); };
    }

    /** The address register as last written (for tests). */
    public synchronized int address() { return address; }

    /** A read of the data window at {@code offset} (0-3); package-private for tests. */
    long readData(int offset, int size) {
        int a;
        synchronized (this) { a = address; }
        if (size <= 0) return 0;   // nothing to read (and no "reg % size" below)
        if ((a & ENABLE) == 0 || size > 4 || offset < 0 || offset + size > 4) return mask(Math.min(size, 4));
        int reg = (a & 0xfc) + offset;
        if (size != 3 && reg % size == 0) return bus.configRead(busOf(a), deviceOf(a), functionOf(a), reg, size) & mask(size);
        long v = 0;
        for (int i = 0; i < size; i++) {
            v |= (long) (bus.configRead(busOf(a), deviceOf(a), functionOf(a), reg + i, 1) & 0xff) << (8 * i);
        }
        return v;
    }

    /** A write of the data window at {@code offset} (0-3); package-private for tests. */
    void writeData(int offset, int size, int value) {
        int a;
        synchronized (this) { a = address; }
        if ((a & ENABLE) == 0 || size <= 0 || size > 4 || offset < 0 || offset + size > 4) return;
        int reg = (a & 0xfc) + offset;
        if (size != 3 && reg % size == 0) {
            bus.configWrite(busOf(a), deviceOf(a), functionOf(a), reg, size, value);
            return;
        }
        for (int i = 0; i < size; i++) {
            bus.configWrite(busOf(a), deviceOf(a), functionOf(a), reg + i, 1, value >>> (8 * i) & 0xff);
        }
    }

    private static long mask(int size) { return size == 4 ? 0xffff_ffffL : (1L << (8 * size)) - 1; }

    private static int busOf(int a) { return a >>> 16 & 0xff; }

    private static int deviceOf(int a) { return a >>> 11 & 0x1f; }

    private static int functionOf(int a) { return a >>> 8 & 7; }
}
