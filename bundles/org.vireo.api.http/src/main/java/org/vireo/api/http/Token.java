package org.vireo.api.http;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The API token: the configured one, else one generated on first use (32 random bytes in hex) and kept in a file
 * created with mode 0600, so it survives restarts and the user can read it. Only needed when the API listens beyond
 * loopback; {@link #announce} says once, as a warning, where it is.
 */
final class Token {
    private static final System.Logger LOG = System.getLogger(Token.class.getName());
    private final String configured;
    private final Path file;
    private final AtomicBoolean announced = new AtomicBoolean();
    private volatile String value;

    Token(String configured, Path file) {
        this.configured = configured == null ? "" : configured.strip();
        this.file = file;
    }

    Path file() { return file; }

    String value() {
        String v = value;
        if (v != null) return v;
        synchronized (this) {
            if (value == null) value = configured.isEmpty() ? readOrCreate() : configured;
            return value;
        }
    }

    void announce(String endpoint) {
        if (announced.compareAndSet(false, true)) {
            try {
                value();
            } catch (UncheckedIOException e) {
                LOG.log(System.Logger.Level.ERROR, "The HTTP API listens beyond loopback (" + endpoint + ") but " + e.getMessage()
                        + " (" + e.getCause() + "): every mutating call will be refused until a token is configured in " + ApiServlet.PID);
                return;
            }
            LOG.log(System.Logger.Level.WARNING, "The HTTP API listens beyond loopback (" + endpoint + "): mutating calls need"
                    + " 'Authorization: Bearer TOKEN'" + (configured.isEmpty() ? " with the token in " + file : " with the configured token") + ".");
        }
    }

    private String readOrCreate() {
        try {
            if (Files.isRegularFile(file)) {
                String existing = Files.readString(file, StandardCharsets.UTF_8).strip();
                if (existing.length() >= 16) return existing;
            }
            Files.createDirectories(file.getParent());
            byte[] random = new byte[32];
            new SecureRandom().nextBytes(random);
            String token = HexFormat.of().formatHex(random);
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp" + ProcessHandle.current().pid());
            Files.deleteIfExists(tmp);
            try {
                Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            } catch (UnsupportedOperationException | FileAlreadyExistsException e) {
                Files.deleteIfExists(tmp);
                Files.createFile(tmp);
            }
            Files.writeString(tmp, token + "\n", StandardCharsets.UTF_8, StandardOpenOption.TRUNCATE_EXISTING);
            Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            return token;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot keep the API token in " + file, e);
        }
    }
}
