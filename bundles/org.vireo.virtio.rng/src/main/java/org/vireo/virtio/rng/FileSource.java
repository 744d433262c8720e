package org.vireo.virtio.rng;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** Entropy read from a file or character device such as /dev/urandom; a regular file is consumed once, front to back. */
public final class FileSource implements EntropySource {
    private final Path path;
    private final FileChannel channel;

    /** @throws IOException naming the file when it cannot be opened */
    public FileSource(Path path) throws IOException {
        this.path = path;
        try {
            this.channel = FileChannel.open(path, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new IOException("entropy source " + path + " does not exist", e);
        } catch (IOException e) {
            throw new IOException("cannot open entropy source " + path + ": " + e, e);
        }
    }

    @Override
    public int read(byte[] buf, int off, int len) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(buf, off, len);
        synchronized (channel) {
            while (b.hasRemaining()) {
                if (channel.read(b) < 0) break;
            }
        }
        return b.position() - off;
    }

    @Override public String describe() { return path.toString(); }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException e) {
            System.getLogger(FileSource.class.getName()).log(System.Logger.Level.WARNING, "closing " + path + ": " + e.getMessage());
        }
    }
}
