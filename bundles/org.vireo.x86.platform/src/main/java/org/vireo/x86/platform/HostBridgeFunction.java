package org.vireo.x86.platform;

import org.vireo.bus.pci.PciFunction;

/**
 * The host bridge's own PCI function at 00:00.0, an Intel 440FX-like bridge (8086:1237, class 06 00 00) with no
 * BARs. Only the command register takes writes; everything else reads as the chip would after firmware.
 */
public final class HostBridgeFunction implements PciFunction {
    public static final int VENDOR_ID = 0x8086;
    public static final int DEVICE_ID = 0x1237;
    public static final int CLASS_CODE = 0x060000;

    private final byte[] config = new byte[256];

    public HostBridgeFunction() {
        put(0x00, 2, VENDOR_ID);
        put(0x02, 2, DEVICE_ID);
        put(0x04, 2, 0x0006);            // command: memory space, bus master
        put(0x06, 2, 0x0280);            // status: fast back-to-back capable, medium DEVSEL timing
        put(0x08, 4, CLASS_CODE << 8 | 0x02);   // class code and revision 02
        put(0x0e, 1, 0x00);              // header type 0, single function
    }

    private void put(int offset, int size, int value) {
        for (int i = 0; i < size; i++) config[offset + i] = (byte) (value >>> (8 * i));
    }

    @Override
    public synchronized int configRead(int offset, int size) {
        int v = 0;
        for (int i = 0; i < size && offset + i < config.length; i++) v |= (config[offset + i] & 0xff) << (8 * i);
        return v;
    }

    @Override
    public synchronized void configWrite(int offset, int size, int value) {
        for (int i = 0; i < size; i++) {
            int at = offset + i;
            if (at == 0x04) config[at] = (byte) (value >>> (8 * i) & 0x47);   // I/O, memory, bus master, parity
            else if (at == 0x05) config[at] = (byte) (value >>> (8 * i) & 0x01);
        }
    }
}
