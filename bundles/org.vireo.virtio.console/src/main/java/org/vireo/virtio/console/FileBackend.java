package org.vireo.virtio.console;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.function.Consumer;

/** Backend "file:PATH": guest output appended to a file (created if missing); no input. */
public final class FileBackend implements ConsoleBackend {
    private final Path path;
    private final FileChannel channel;

    /** @throws IOException naming the file when it cannot be opened for appending */
    public FileBackend(Path path) throws IOException {
        this.path = path;
        try {
            this.channel = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new IOException("cannot open console output file " + path + ": " + e, e);
        }
    }

    @Override public void start(Consumer<byte[]> input) {}

    @Override
    public void write(byte[] data, int off, int len) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(data, off, len);
        synchronized (channel) {
            while (b.hasRemaining()) channel.write(b);
        }
    }

    @Override public String describe() { return "file:" + path; }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException e) {
            System.getLogger(FileBackend.class.getName()).log(System.Logger.Level.WARNING, "closing " + path + ": " + e.getMessage());
        }
    }
}
