package org.vireo.guest;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * virtio-fs with the Debian kernel's own virtiofs driver, through the packaged launcher ({@code vireo run --share},
 * so the device is an org.vireo.virtio.fs configuration plugged by the pci transport): the guest mounts a host
 * directory, reads a host-made file, writes a large file the host then finds, makes, renames, links and removes
 * files and directories, writes many small files, sees a change the host makes while it runs, cannot follow a host
 * symlink out of the share, and cannot change a read-only share. The guest's script comes through the share itself.
 * Prints the guest's sequential write and read throughput (dd, 32 MiB, caches dropped before the read).
 */
public class FsShareIT {
    private static final int HOST_FILE = 1 << 20;
    private static final int SEQ_LINES = 100000;
    private static final int BIG_MIB = 32;
    private static final int MANY = 400;

    @Rule public TemporaryFolder folder = new TemporaryFolder();

    private static final String SCRIPT = """
            up() { cut -d' ' -f1 /proc/uptime; }
            echo fs-mounted: $(grep -c 'hostshare /mnt virtiofs' /proc/mounts)
            echo fs-read: $(md5sum </mnt/host.bin)
            seq 1 %d >/mnt/seq.txt
            t0=$(up); dd if=/dev/zero of=/mnt/big.bin bs=1M count=%d conv=fsync 2>/dev/null; t1=$(up)
            echo fs-write-seconds: $t0 $t1
            sync; echo 3 >/proc/sys/vm/drop_caches
            t0=$(up); dd if=/mnt/big.bin of=/dev/null bs=1M 2>/dev/null; t1=$(up)
            echo fs-read-seconds: $t0 $t1
            mkdir /mnt/d && echo one >/mnt/d/a && mv /mnt/d/a /mnt/d/b && ln -s b /mnt/d/lnk && ln /mnt/d/b /mnt/d/hard
            echo tmp >/mnt/d/gone && rm /mnt/d/gone && mkdir /mnt/d/e /mnt/d/f && rmdir /mnt/d/e && mv /mnt/d/f /mnt/d/g
            chmod 640 /mnt/d/b
            echo fs-ls: $(ls -a /mnt/d | tr '\\n' ' ')
            echo fs-link: $(readlink /mnt/d/lnk) $(cat /mnt/d/lnk) $(stat -c '%%h %%a %%s %%F' /mnt/d/b)
            mkdir /mnt/many; i=1; while [ $i -le %d ]; do echo file$i >/mnt/many/f$i; i=$((i+1)); done
            echo fs-many: $(ls /mnt/many | wc -l) $(cat /mnt/many/* | wc -l)
            rm /mnt/many/f1*; echo fs-many-removed: $(ls /mnt/many | wc -l)
            echo fs-escape: $(cat /mnt/hostlink/secret 2>/dev/null || echo not-followed)
            echo fs-please-change
            i=0; while ! grep -q changed-by-host /mnt/changing && [ $i -lt 60 ]; do sleep 1; i=$((i+1)); done
            echo fs-host-change: $(cat /mnt/changing) $(cat /mnt/host-new)
            mkdir -p /ro && mount -t virtiofs rosh /ro
            echo fs-ro: $(cat /ro/readme) $(touch /ro/x 2>&1 | grep -o 'Read-only file system')
            umount /ro && umount /mnt && echo fs-umount: ok
            """;

    @Test
    public void theKernelsVirtiofsDriverUsesTheShare() throws Exception {
        GuestKit.assumePresent();
        Path home = LauncherProcess.home();
        Path share = folder.newFolder("share").toPath();
        Path ro = folder.newFolder("ro").toPath();
        Path secret = folder.newFolder("secret-" + Long.toHexString(System.nanoTime())).toPath();
        Files.writeString(secret.resolve("secret"), "host secret");
        Files.createSymbolicLink(share.resolve("hostlink"), secret);
        byte[] host = new byte[HOST_FILE];
        new Random(16).nextBytes(host);
        Files.write(share.resolve("host.bin"), host);
        Files.writeString(share.resolve("changing"), "original");
        Files.createDirectory(share.resolve("ctl"));
        Files.writeString(share.resolve("ctl/test.sh"), String.format(SCRIPT, SEQ_LINES, BIG_MIB, MANY));
        Files.writeString(ro.resolve("readme"), "read-only-share");
        Path deploy = folder.newFolder("deploy").toPath();
        Path log = GuestKit.logFile("FsShareIT");
        String command = "mkdir -p /mnt && mount -t virtiofs hostshare /mnt && cp /mnt/ctl/test.sh /tmp/t.sh && sh /tmp/t.sh";
        long started = System.nanoTime();
        try (LauncherProcess vm = LauncherProcess.start(home, deploy, log, "run", "--timeout", Integer.toString(GuestKit.RUN_SECONDS),
                "--share", share + ",tag=hostshare", "--share", ro + ",tag=rosh,ro",
                "--append", "console=ttyS0 vireo.cmd=\"" + command + "\"")) {
            String asked = vm.await(l -> l.startsWith("fs-please-change"), GuestKit.RUN_SECONDS);
            assertNotNull("the guest got to the host-change step" + GuestKit.tail(vm.output(), 60), asked);
            Files.writeString(share.resolve("changing"), "changed-by-host");   // in place: same inode
            Files.writeString(share.resolve("host-new"), "new-from-host");
            boolean ended = vm.waitFor(GuestKit.RUN_SECONDS);
            String out = vm.output();
            String context = GuestKit.tail(out, 60);
            assertTrue("vireo run ended" + context, ended);
            assertEquals("exit code (0: the guest rebooted)" + context, 0, vm.process().exitValue());
            assertTrue("/init finished" + context, out.contains("VIREO-INIT-DONE"));

            assertEquals("mounted" + context, "1", GuestKit.field(out, "fs-mounted"));
            assertEquals("md5 of the host's file read in the guest" + context, GuestKit.md5(host) + " -", GuestKit.field(out, "fs-read"));
            assertArrayEquals("the guest's seq output is on the host", GuestKit.seq(SEQ_LINES), Files.readAllBytes(share.resolve("seq.txt")));
            assertEquals("the large file is on the host", (long) BIG_MIB << 20, Files.size(share.resolve("big.bin")));
            assertEquals(". .. b g hard lnk", GuestKit.field(out, "fs-ls"));
            assertEquals("readlink, cat through it, then links, mode, size and type" + context,
                    "b one 2 640 4 regular file", GuestKit.field(out, "fs-link"));
            assertTrue(Files.isSymbolicLink(share.resolve("d/lnk")));
            assertEquals("b", Files.readSymbolicLink(share.resolve("d/lnk")).toString());
            assertEquals(Files.getAttribute(share.resolve("d/b"), "unix:ino"), Files.getAttribute(share.resolve("d/hard"), "unix:ino"));
            assertTrue(Files.isDirectory(share.resolve("d/g")));
            assertFalse(Files.exists(share.resolve("d/e")) || Files.exists(share.resolve("d/gone")) || Files.exists(share.resolve("d/a")));
            assertEquals("many small files" + context, MANY + " " + MANY, GuestKit.field(out, "fs-many"));
            // f1, f10..f19, f100..f199: 111 removed.
            assertEquals(MANY - 111 + "", GuestKit.field(out, "fs-many-removed"));
            try (Stream<Path> s = Files.list(share.resolve("many"))) {
                assertEquals(MANY - 111, s.count());
            }
            assertEquals("file400\n", Files.readString(share.resolve("many/f400")));
            assertEquals("a host symlink out of the share is not followed on the host" + context, "not-followed", GuestKit.field(out, "fs-escape"));
            assertEquals("the host's change is seen" + context, "changed-by-host new-from-host", GuestKit.field(out, "fs-host-change"));
            assertEquals("the read-only share" + context, "read-only-share Read-only file system", GuestKit.field(out, "fs-ro"));
            assertFalse(Files.exists(ro.resolve("x"), LinkOption.NOFOLLOW_LINKS));
            assertEquals("ok", GuestKit.field(out, "fs-umount"));
            assertEquals("host secret", Files.readString(secret.resolve("secret")));

            double write = mibPerSecond(GuestKit.field(out, "fs-write-seconds"));
            double read = mibPerSecond(GuestKit.field(out, "fs-read-seconds"));
            System.out.printf("FsShareIT: guest dd through virtio-fs, %d MiB: write (conv=fsync) %.1f MiB/s, read (caches dropped) %.1f MiB/s; run %d s%n",
                    BIG_MIB, write, read, (System.nanoTime() - started) / 1_000_000_000L);
            Files.writeString(GuestKit.logFile("FsShareIT-throughput"), String.format("write %.1f MiB/s, read %.1f MiB/s%n", write, read), StandardCharsets.UTF_8);
        }
    }

    private static double mibPerSecond(String times) {
        assertNotNull("timings", times);
        String[] t = times.split(" ");
        double seconds = Double.parseDouble(t[1]) - Double.parseDouble(t[0]);
        return BIG_MIB / Math.max(seconds, 0.01);
    }
}
