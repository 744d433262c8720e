package org.vireo.launch;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.stream.Stream;

/**
 * The hot-deploy directory FileInstall watches. A new one is seeded with the demo configuration from the
 * distribution's conf/ folder, so a first {@code vireo shell} shows a machine with devices.
 */
public final class DeployDirectory {
    /** Written in conf/*.cfg where the absolute path of the deploy directory belongs (e.g. disk images). */
    public static final String DEPLOY_DIR_TOKEN = "@DEPLOY_DIR@";
    static final String BLOCK_PID_PREFIX = "org.vireo.virtio.blk-";
    /** Size of the demo disk images: sparse files, so they cost no space until written. */
    static final long DEMO_IMAGE_BYTES = 16L << 20;

    private DeployDirectory() {}

    /**
     * Creates {@code deployDir} when missing and then copies the demo configurations of {@code confDir} into it,
     * creating the raw disk images their block devices name. An existing directory is left exactly as it is.
     *
     * @return the configuration files written (empty when the directory already existed)
     */
    public static List<Path> prepare(Path deployDir, Path confDir) throws IOException {
        if (Files.isDirectory(deployDir)) return List.of();
        Files.createDirectories(deployDir);
        if (!Files.isDirectory(confDir)) return List.of();
        String absoluteDeployDir = deployDir.toAbsolutePath().normalize().toString();
        List<Path> written = new ArrayList<>();
        try (Stream<Path> files = Files.list(confDir)) {
            for (Path source : files.filter(DeployDirectory::isConfiguration).sorted().toList()) {
                String text = Files.readString(source, StandardCharsets.UTF_8).replace(DEPLOY_DIR_TOKEN, absoluteDeployDir);
                Path target = deployDir.resolve(source.getFileName().toString());
                if (source.getFileName().toString().startsWith(BLOCK_PID_PREFIX)) createDemoImage(text);
                Files.writeString(target, text, StandardCharsets.UTF_8);
                written.add(target);
            }
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
        return written;
    }

    static boolean isConfiguration(Path file) {
        String name = file.getFileName().toString();
        return Files.isRegularFile(file) && (name.endsWith(".cfg") || name.endsWith(".config"));
    }

    /** A block device configuration names its image in {@code path}; the demo creates it empty when absent. */
    private static void createDemoImage(String cfgText) throws IOException {
        Properties props = new Properties();
        props.load(new StringReader(cfgText));
        String path = props.getProperty("path");
        if (path == null || path.isBlank()) return;
        Path image = Path.of(path);
        if (Files.exists(image)) return;
        try (RandomAccessFile file = new RandomAccessFile(image.toFile(), "rw")) {
            file.setLength(DEMO_IMAGE_BYTES);
        }
    }
}
