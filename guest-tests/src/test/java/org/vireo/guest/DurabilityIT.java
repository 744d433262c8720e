package org.vireo.guest;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * kill -9 after fsync (issue 18): the guest kit boots through the packaged launcher with a data disk and a
 * read-only disk. The guest writes numbered 4 KiB blocks to /dev/vda, each with {@code dd conv=fsync} (a write, then
 * the kernel's FLUSH), and prints {@code dur-synced: N} after each fsync returned. Right after the marker of a randomly
 * chosen block the test SIGKILLs the VMM's JVM ({@code Process.destroyForcibly} on the {@code java} process itself,
 * exit status 137), then reads the image file: every block the guest reported synced must be there, whole, and
 * nothing outside the written range may have changed. Several trials, each with its own image, kill point and data.
 * <p>
 * The read-only disk ({@code --disk FILE,ro}): the guest sees a read-only device ({@code /sys/block/vdb/ro} is 1),
 * reads the host's data from it, a write to it fails, and the image file is unchanged afterwards.
 * <p>
 * {@code -Dvireo.durability.trials=N} (default 3) runs more trials; each is bounded by the boot limit. The kernel boots
 * {@code quiet} (about 35 s a trial on a loaded 2-core machine); warnings and errors still reach the logs.
 */
public class DurabilityIT {
    private static final int TRIALS = Integer.getInteger("vireo.durability.trials", 3);
    private static final int BLOCK = 4096;
    /** The guest writes blocks 1..BLOCKS unless it is killed first (it always is: the kill point is below 64). */
    private static final int BLOCKS = 256;
    private static final int IMAGE_BYTES = 2 * (BLOCKS + 1) * BLOCK;
    private static final int RO_IMAGE_BYTES = 1 << 20;

    @Rule
    public TemporaryFolder folder = new TemporaryFolder();

    @Test
    public void everyBlockTheGuestFsyncedSurvivesASigkillOfTheVmm() throws Exception {
        GuestKit.assumePresent();
        Path home = LauncherProcess.home();
        long seed = System.nanoTime();
        Random random = new Random(seed);
        List<String> summary = new ArrayList<>();
        for (int trial = 1; trial <= TRIALS; trial++) {
            summary.add(trial(home, trial, random.nextLong(), 8 + random.nextInt(56)));
        }
        Files.writeString(GuestKit.logFile("DurabilityIT"), "seed " + Long.toHexString(seed) + "\n" + String.join("\n", summary) + "\n");
    }

    /** One boot, killed after the guest reported block {@code killAfter} synced; returns a line for the summary log. */
    private String trial(Path home, int trial, long seed, int killAfter) throws Exception {
        String nonce = Long.toHexString(seed);
        Random random = new Random(seed);
        Path dir = folder.newFolder("trial-" + trial).toPath();
        byte[] original = new byte[IMAGE_BYTES];
        random.nextBytes(original);
        Path image = dir.resolve("data.img");
        Files.write(image, original);
        byte[] readOnly = new byte[RO_IMAGE_BYTES];
        random.nextBytes(readOnly);
        Path roImage = dir.resolve("ro.img");
        Files.write(roImage, readOnly);
        Path deploy = Files.createDirectories(dir.resolve("deploy")); // exists, so the launcher adds no demo configuration
        Path log = GuestKit.logFile("DurabilityIT-" + trial);

        // Double quotes cannot appear inside vireo.cmd="...": the guest's /init reads them as the value's delimiters.
        String command = String.join("; ",
                "echo dur-ro: $(cat /sys/block/vdb/ro) $(md5sum </dev/vdb)",
                "dd if=/dev/zero of=/dev/vdb bs=4096 count=1 conv=fsync 2>/dev/null; echo dur-ro-write: $?",
                "i=1",
                "while [ $i -le " + BLOCKS + " ]; do yes vireo-" + nonce + "-$i | head -c " + BLOCK + " >/tmp/b"
                        + " && dd if=/tmp/b of=/dev/vda bs=" + BLOCK + " seek=$i count=1 conv=fsync 2>/dev/null"
                        + " && echo dur-synced: $i || { echo dur-failed: $i; break; }; i=$((i+1)); done");
        String marker = "dur-synced: " + killAfter;
        String killedLine;
        int exit;
        List<String> lines;
        String context;
        try (LauncherProcess vmm = LauncherProcess.start(home, deploy, log, "run", "--timeout", Integer.toString(GuestKit.RUN_SECONDS),
                "--disk", image.toString(), "--disk", roImage + ",ro",
                "--append", "console=ttyS0 acpi=off quiet vireo.cmd=\"" + command + "\"")) {
            String java = vmm.process().info().command().orElse("");
            assertTrue("the process to kill is the VMM's JVM itself, not a wrapper: " + java, java.endsWith("/java"));
            killedLine = vmm.await(l -> l.equals(marker) || l.startsWith("dur-failed:"), GuestKit.RUN_SECONDS);
            vmm.process().destroyForcibly();
            assertTrue("the VMM died after SIGKILL", vmm.waitFor(30));
            exit = vmm.process().exitValue();
            lines = vmm.lines();
            context = GuestKit.tail(vmm.output(), 60);
        }
        assertNotNull("trial " + trial + ": the guest did not report block " + killAfter + " synced within " + GuestKit.RUN_SECONDS + " s"
                + context, killedLine);
        assertEquals("trial " + trial + ": the guest's writes to the data disk succeed" + context, marker, killedLine);
        assertEquals("trial " + trial + ": exit status of the JVM (128 + SIGKILL)" + context, 137, exit);

        // The read-only disk.
        String ro = GuestKit.field(String.join("\n", lines), "dur-ro");
        assertEquals("trial " + trial + ": the guest sees vdb read-only and reads the host's data" + context,
                "1 " + GuestKit.md5(readOnly) + " -", ro);
        String roWrite = GuestKit.field(String.join("\n", lines), "dur-ro-write");
        assertNotNull("trial " + trial + ": the write to vdb was tried" + context, roWrite);
        assertNotEquals("trial " + trial + ": a write to the read-only disk fails in the guest" + context, "0", roWrite);
        assertArrayEquals("trial " + trial + ": the read-only image file is unchanged", readOnly, Files.readAllBytes(roImage));

        // Every block the guest reported synced (all markers read, also those that arrived after the kill) is in the image.
        int synced = 0;
        for (String l : lines) {
            if (!l.startsWith("dur-synced: ")) continue;
            int n = Integer.parseInt(l.substring("dur-synced: ".length()).strip());
            assertEquals("trial " + trial + ": markers in order" + context, synced + 1, n);
            synced = n;
        }
        assertTrue("trial " + trial + ": " + synced + " blocks reported, the kill came after " + killAfter, synced >= killAfter);
        byte[] after = Files.readAllBytes(image.toAbsolutePath());
        assertEquals("trial " + trial + ": the image's size", IMAGE_BYTES, after.length);
        for (int b = 1; b <= synced; b++) {
            byte[] expected = block(nonce, b);
            byte[] found = Arrays.copyOfRange(after, b * BLOCK, (b + 1) * BLOCK);
            assertArrayEquals("trial " + trial + ": block " + b + " (reported synced, " + synced + " were; killed after "
                    + killAfter + ") is in the image file", expected, found);
        }
        assertArrayEquals("trial " + trial + ": block 0 is unchanged", Arrays.copyOfRange(original, 0, BLOCK), Arrays.copyOfRange(after, 0, BLOCK));
        assertArrayEquals("trial " + trial + ": nothing past the blocks the guest writes changed",
                Arrays.copyOfRange(original, (BLOCKS + 1) * BLOCK, IMAGE_BYTES), Arrays.copyOfRange(after, (BLOCKS + 1) * BLOCK, IMAGE_BYTES));
        // Blocks past the last marker were in flight: whole, partly there or not at all. Count the whole ones.
        int inFlight = 0;
        for (int b = synced + 1; b <= BLOCKS; b++) {
            if (Arrays.equals(block(nonce, b), Arrays.copyOfRange(after, b * BLOCK, (b + 1) * BLOCK))) inFlight++;
        }
        try (RandomAccessFile check = new RandomAccessFile(image.toFile(), "rw")) {
            assertFalse("trial " + trial + ": the image is free again (no lock left behind)", check.getChannel().tryLock() == null);
        }
        return String.format("trial %d: SIGKILL on the marker of block %d; %d blocks reported synced (the last %d after the kill"
                + " point, still in the pipe) and all found; %d more written whole; vdb ro=1, write refused (status %s), image unchanged",
                trial, killAfter, synced, synced - killAfter, inFlight, roWrite);
    }

    /** What the guest writes as block {@code n}: "vireo-NONCE-N\n" repeated, cut at 4 KiB (busybox yes | head -c). */
    private static byte[] block(String nonce, int n) {
        byte[] line = ("vireo-" + nonce + "-" + n + "\n").getBytes(StandardCharsets.US_ASCII);
        byte[] block = new byte[BLOCK];
        for (int i = 0; i < BLOCK; i++) block[i] = line[i % line.length];
        return block;
    }
}
