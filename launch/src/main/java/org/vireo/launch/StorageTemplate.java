package org.vireo.launch;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.List;
import java.util.stream.Stream;

/**
 * Felix's storage with the distribution's bundles already installed, kept beside vireo.jar in {@code felix-cache/KEY}
 * (issue 12): installing copies every jar into the storage and records it, about 80-110 ms a start. Each run still gets
 * a storage of its own, fresh, in a temporary directory (two runs at once never share one, and nothing a run does,
 * configurations or bundles it installs, reaches the next); it is made from the template by hard-linking the files
 * Felix writes once per bundle revision (the jar's copy, its location) and copying the rest (bundle.info).
 * <p>
 * The template holds the bundles installed and not started, as the first run that finds none saves it between
 * installing and starting. Its identity, kept in it, is path, size and modification time of Felix's and every
 * bundle's jar ({@code KEY} is a hash of it), so a rebuild or another bundle set makes a new template (and removes the
 * old ones). A template is made in a
 * scratch directory and renamed into place, so a run sees a whole one or none. Anything wrong (a read-only
 * distribution, a copy that fails) means a start without it, never a failure.
 */
final class StorageTemplate {
    static final String DIRECTORY = "felix-cache";
    /**
     * Felix's files of one revision of a bundle, inside {@code bundleN/versionM.R/}: its copy of the jar and where it
     * came from, written once, when the revision is made. Linked, not copied; everything else (bundle.info, rewritten
     * as the bundle's state changes) is copied.
     */
    private static final java.util.Set<String> WRITTEN_ONCE = java.util.Set.of("bundle.jar", "revision.location");

    /** In the template: the identity it was made for, compared whole (the directory name is only a hash of it). */
    static final String IDENTITY_FILE = "vireo.identity";

    private final Path root;
    private final String key;
    private final String identity;

    private StorageTemplate(Path root, String key, String identity) {
        this.root = root;
        this.key = key;
        this.identity = identity;
    }

    /** The template place for the jars of {@code home}'s lib/ and bundle/ (not its subfolders, e.g. bundle/http/). */
    static StorageTemplate of(Path home) throws IOException {
        StringBuilder identity = new StringBuilder("vireo-felix-storage 1\n");
        for (String folder : List.of("lib", "bundle")) {
            try (Stream<Path> files = Files.list(home.resolve(folder))) {
                for (Path jar : files.filter(f -> f.getFileName().toString().endsWith(".jar")).sorted().toList()) {
                    BasicFileAttributes a = Files.readAttributes(jar, BasicFileAttributes.class);
                    identity.append(jar.toAbsolutePath()).append(' ').append(a.size()).append(' ')
                            .append(a.lastModifiedTime().toMillis()).append('\n');
                }
            }
        }
        // Named by a cheap hash (a digest's provider lookup costs tens of ms at start); the identity file inside decides.
        String text = identity.toString();
        return new StorageTemplate(home.resolve(DIRECTORY), String.format("%08x%08x", text.hashCode(), text.length()), text);
    }

    Path directory() {
        return root.resolve(key);
    }

    /**
     * Fills the empty {@code storage} from the template, if there is one.
     *
     * @return whether it did; on false {@code storage} is gone (Felix makes it anew) and the bundles are to be installed
     */
    boolean fill(Path storage) {
        Path template = directory();
        if (!Files.isDirectory(template)) return false;
        try {
            if (!identity.equals(Files.readString(template.resolve(IDENTITY_FILE), StandardCharsets.UTF_8))) return false;
            copyTree(template, storage, (file, target) -> {
                if (file.getParent().equals(template) && file.getFileName().toString().equals(IDENTITY_FILE)) return;
                if (WRITTEN_ONCE.contains(file.getFileName().toString())) {
                    try {
                        Files.createLink(target, file);
                        return;
                    } catch (IOException | UnsupportedOperationException e) {
                        // another file system, or no hard links: a copy does as well
                    }
                }
                Files.copy(file, target);
            });
            return true;
        } catch (IOException | RuntimeException e) {
            clear(storage);
            return false;
        }
    }

    /**
     * Saves {@code storage}, whose bundles are installed and not yet started, as the template, unless there is one
     * already; removes the templates of other keys. Quietly does nothing when the distribution cannot be written.
     */
    void save(Path storage) {
        Path template = directory();
        if (Files.isDirectory(template)) return;
        Path scratch = null;
        try {
            Files.createDirectories(root);
            scratch = Files.createTempDirectory(root, "new-");
            copyTree(storage, scratch, (file, target) -> {
                // Not Felix's lock file: each storage made from the template gets its own.
                if (!file.getFileName().toString().equals("cache.lock")) Files.copy(file, target, StandardCopyOption.COPY_ATTRIBUTES);
            });
            Files.writeString(scratch.resolve(IDENTITY_FILE), identity, StandardCharsets.UTF_8);
            Files.move(scratch, template, StandardCopyOption.ATOMIC_MOVE);
            scratch = null;
            removeOthers();
        } catch (IOException | RuntimeException e) {
            // read-only, full, or another run saved it first: the next start installs again or uses theirs
        } finally {
            if (scratch != null) clear(scratch);
        }
    }

    /** What {@link #copyTree} does with each file: {@code target} is where it goes, its directory made. */
    private interface FileCopy {
        void copy(Path file, Path target) throws IOException;
    }

    /** Walks {@code from}, making each directory under {@code to} and handing each file to {@code copy}. */
    private static void copyTree(Path from, Path to, FileCopy copy) throws IOException {
        Files.walkFileTree(from, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
                Files.createDirectories(to.resolve(from.relativize(dir).toString()));
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                copy.copy(file, to.resolve(from.relativize(file).toString()));
                return FileVisitResult.CONTINUE;
            }
        });
    }

    /** Templates of other keys (older builds); scratch directories of runs that died while saving are left alone. */
    private void removeOthers() throws IOException {
        try (Stream<Path> entries = Files.list(root)) {
            for (Path other : entries.filter(p -> !p.getFileName().toString().equals(key) && !p.getFileName().toString().startsWith("new-")).toList()) {
                clear(other);
            }
        }
    }

    private static void clear(Path dir) {
        VireoFramework.deleteRecursively(dir);
    }
}
