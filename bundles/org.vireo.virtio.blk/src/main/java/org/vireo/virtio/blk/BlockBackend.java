package org.vireo.virtio.blk;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * The host storage behind a virtio-blk device, addressed in bytes. Positions and lengths reaching the backend are
 * already checked against {@link #capacitySectors()}. Calls may come from several threads.
 */
public interface BlockBackend extends AutoCloseable {
    int SECTOR_SIZE = 512;

    /** Whole 512-byte sectors the guest may address. */
    long capacitySectors();

    boolean readOnly();

    /** Fills {@code dst} completely from {@code position}; a short read is an error. */
    void read(long position, ByteBuffer dst) throws IOException;

    /** Writes all of {@code src} at {@code position}. */
    void write(long position, ByteBuffer src) throws IOException;

    /** Makes {@code [position, position+length)} read back as zeroes. */
    void writeZeroes(long position, long length) throws IOException;

    /** Makes completed writes durable. */
    void flush() throws IOException;

    /** Where the data lives, for {@link org.vireo.virtio.device.VirtioDevice#describe()}: e.g. the image path. */
    String location();

    @Override
    void close() throws IOException;
}
