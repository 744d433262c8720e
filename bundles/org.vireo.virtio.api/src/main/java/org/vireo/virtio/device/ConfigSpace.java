package org.vireo.virtio.device;

/**
 * A little-endian byte array backing a device's config space, for devices to implement
 * {@link VirtioDevice#readConfig}/{@link VirtioDevice#writeConfig}. Thread-safe.
 */
public final class ConfigSpace {
    private final byte[] bytes;

    public ConfigSpace(int size) { this.bytes = new byte[size]; }

    public int size() { return bytes.length; }

    public synchronized int read(int offset, int size) {
        if (offset < 0 || size < 0 || offset + size > bytes.length) return 0;
        int v = 0;
        for (int i = 0; i < size; i++) v |= (bytes[offset + i] & 0xff) << (8 * i);
        return v;
    }

    public synchronized void write(int offset, int size, long value) {
        if (offset < 0 || size < 0 || offset + size > bytes.length) return;
        for (int i = 0; i < size; i++) bytes[offset + i] = (byte) (value >>> (8 * i));
    }

    public void put8(int offset, int v) { write(offset, 1, v); }

    public void put16(int offset, int v) { write(offset, 2, v); }

    public void put32(int offset, int v) { write(offset, 4, v); }

    public void put64(int offset, long v) { write(offset, 8, v); }
}
