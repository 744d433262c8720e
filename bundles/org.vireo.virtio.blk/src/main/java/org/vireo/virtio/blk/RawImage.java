package org.vireo.virtio.blk;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A raw disk image file accessed with positional {@link FileChannel} reads and writes (no mapping of the whole file,
 * so an image may be larger than the address space would like). The image is locked while open: shared when
 * read-only, exclusive otherwise, so two devices cannot write one image. A trailing partial sector is not addressable.
 */
public final class RawImage implements BlockBackend {
    private static final int ZERO_CHUNK = 64 * 1024;
    /** Never written: each writer takes its own duplicate, so one buffer serves every thread. */
    private static final ByteBuffer ZEROES = ByteBuffer.allocateDirect(ZERO_CHUNK).asReadOnlyBuffer();

    private final Path path;
    private final boolean readOnly;
    private final FileChannel channel;
    private final FileLock lock;
    private final long capacitySectors;

    private RawImage(Path path, boolean readOnly, FileChannel channel, FileLock lock, long capacitySectors) {
        this.path = path;
        this.readOnly = readOnly;
        this.channel = channel;
        this.lock = lock;
        this.capacitySectors = capacitySectors;
    }

    /**
     * Opens an existing image.
     *
     * @throws IOException with a message naming the file when it is missing, not a regular file, not accessible or in use
     */
    public static RawImage open(Path path, boolean readOnly) throws IOException {
        if (!Files.exists(path)) throw new NoSuchFileException(path.toString(), null, "disk image does not exist");
        if (!Files.isRegularFile(path)) throw new IOException(path + ": disk image is not a regular file");
        FileChannel channel = readOnly
                ? FileChannel.open(path, StandardOpenOption.READ)
                : FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
        try {
            FileLock lock;
            try {
                lock = channel.tryLock(0, Long.MAX_VALUE, readOnly);
            } catch (OverlappingFileLockException e) {
                lock = null;
            }
            if (lock == null) throw new IOException(path + ": disk image is in use by another device or process");
            return new RawImage(path, readOnly, channel, lock, channel.size() / SECTOR_SIZE);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    public Path path() { return path; }

    @Override public long capacitySectors() { return capacitySectors; }

    @Override public boolean readOnly() { return readOnly; }

    @Override public String location() { return path.toString(); }

    @Override
    public void read(long position, ByteBuffer dst) throws IOException {
        long at = position;
        while (dst.hasRemaining()) {
            int n = channel.read(dst, at);
            if (n < 0) throw new IOException(path + ": unexpected end of image at byte " + at + " (was the file truncated?)");
            at += n;
        }
    }

    @Override
    public void write(long position, ByteBuffer src) throws IOException {
        requireWritable();
        long at = position;
        while (src.hasRemaining()) at += channel.write(src, at);
    }

    @Override
    public void writeZeroes(long position, long length) throws IOException {
        requireWritable();
        // Plain zero writes (no hole punching): portable, and reads return zeroes as the spec demands.
        ByteBuffer zeroes = ZEROES.duplicate();
        long at = position, end = position + length;
        while (at < end) {
            zeroes.clear().limit((int) Math.min(ZERO_CHUNK, end - at));
            while (zeroes.hasRemaining()) at += channel.write(zeroes, at);
        }
    }

    @Override
    public void flush() throws IOException {
        if (!readOnly) channel.force(true);
    }

    private void requireWritable() throws IOException {
        if (readOnly) throw new IOException(path + ": image is read-only");
    }

    @Override
    public void close() throws IOException {
        try {
            if (lock.isValid()) lock.release();
        } finally {
            channel.close();
        }
    }
}
