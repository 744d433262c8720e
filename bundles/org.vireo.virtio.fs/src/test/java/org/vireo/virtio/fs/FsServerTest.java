package org.vireo.virtio.fs;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** Normal requests against a temporary directory: each operation round-trips to the host and back. */
public class FsServerTest {
    static final long ROOT = Fuse.ROOT_ID;

    @Rule public TemporaryFolder tmp = new TemporaryFolder();

    Path dir;
    final List<String> problems = new ArrayList<>();
    FsServer server;
    FuseClient c;

    private final List<FsServer> servers = new ArrayList<>();

    @org.junit.After
    public void closeServers() {
        servers.forEach(FsServer::close);
    }

    FsServer newServer(boolean ro, int maxNodes, int maxHandles) throws Exception {
        FsServer s = new FsServer(dir, ro, maxNodes, maxHandles, new FsServer.ProblemSink() {
            @Override public void guestError(String kind, String message) { problems.add(message); }

            @Override public void internalError(String kind, RuntimeException e) { throw new AssertionError("internal error on " + kind, e); }
        });
        servers.add(s);
        return s;
    }

    @Test
    public void walksThroughDirectoryDescriptorsOnLinux() {
        org.junit.Assume.assumeTrue(System.getProperty("os.name").startsWith("Linux"));
        assertTrue("openat through FFM and /proc/self/fd", server.walksDescriptors());
    }

    @Before
    public void setUp() throws Exception {
        dir = tmp.newFolder("share").toPath();
        server = newServer(false, 1000, 100);
        c = new FuseClient(server);
        c.init();
    }

    static int errno(FuseClient.Reply r) { return r.error(); }

    @Test
    public void initNegotiatesOurMinorAndMaxWrite() throws Exception {
        FsServer s = newServer(false, 10, 10);
        FuseClient k = new FuseClient(s);
        FuseClient.Reply r = k.init();
        assertEquals(7, r.u32(0));
        assertEquals(Fuse.KERNEL_MINOR_VERSION, r.u32(4));
        assertEquals(FsServer.MAX_IO, r.u32(20));
        int flags = r.u32(12);
        assertTrue("readdirplus offered", (flags & Fuse.INIT_DO_READDIRPLUS) != 0);
        assertEquals("no writeback cache, no posix locks", 0, flags & ((1 << 16) | (1 << 1)));
        assertEquals("a second INIT", Fuse.EINVAL, k.call(Fuse.INIT, 0, FuseClient.args().u32(7).u32(38).u32(0).u32(0).build()).error());
        FuseClient old = new FuseClient(newServer(false, 10, 10));
        assertEquals(Fuse.EPROTO, old.call(Fuse.INIT, 0, FuseClient.args().u32(7).u32(5).u32(0).u32(0).build()).error());
    }

    @Test
    public void createWriteReadStatRoundTrip() throws Exception {
        long[] created = c.create(ROOT, "hello.txt", 2 /* O_RDWR */ | Fuse.O_CREAT, 0100640);
        long node = created[0];
        long fh = created[1];
        byte[] data = new byte[300_000];
        new Random(1).nextBytes(data);
        assertEquals(data.length, c.write(fh, 0, data));
        assertEquals(5, c.write(fh, data.length, "tail!".getBytes(StandardCharsets.US_ASCII)));
        byte[] back = c.read(fh, 0, 400_000);
        assertEquals(data.length + 5, back.length);
        assertArrayEquals(data, java.util.Arrays.copyOf(back, data.length));
        assertEquals("read past the end", 0, c.read(fh, 1 << 20, 4096).length);
        c.release(fh);
        Path host = dir.resolve("hello.txt");
        assertEquals(data.length + 5, Files.size(host));
        assertEquals("rw-r-----", PosixFilePermissions.toString(Files.getPosixFilePermissions(host)));
        FuseClient.Entry e = c.getattr(node);
        assertEquals(Fuse.S_IFREG, e.type());
        assertEquals(data.length + 5, e.size());
        assertEquals(Files.getAttribute(host, "unix:ino"), e.ino());
        assertEquals("the same inode, the same node", node, c.lookup(ROOT, "hello.txt").nodeid());
        assertEquals(0, server.handleCount());
    }

    @Test
    public void hostFileIsReadAndChangesOnTheHostShow() throws Exception {
        Files.writeString(dir.resolve("host.txt"), "made on the host");
        FuseClient.Entry e = c.lookup(ROOT, "host.txt");
        long fh = c.open(e.nodeid(), 0);
        assertEquals("made on the host", new String(c.read(fh, 0, 4096), StandardCharsets.UTF_8));
        Files.writeString(dir.resolve("host.txt"), "changed by the host, longer");
        assertEquals("changed by the host, longer", new String(c.read(fh, 0, 4096), StandardCharsets.UTF_8));
        assertEquals(27, c.getattr(e.nodeid()).size());
        c.release(fh);
    }

    @Test
    public void mkdirReaddirRenameUnlinkRmdir() throws Exception {
        long sub = c.mkdir(ROOT, "sub", 0755).nodeid();
        assertTrue(Files.isDirectory(dir.resolve("sub")));
        for (int i = 0; i < 50; i++) c.release(c.create(sub, "f" + i, 1 | Fuse.O_CREAT, 0644)[1]);
        List<String> names = c.list(sub);
        assertEquals(52, names.size());
        assertEquals(".", names.get(0));
        assertEquals("..", names.get(1));
        assertTrue(names.contains("f49"));
        // READDIRPLUS counts a lookup for each entry but . and ..
        long fh = c.opendir(sub);
        List<FuseClient.Dirent> plus = c.readdir(fh, 0, 1 << 16, true);
        c.releasedir(fh);
        assertEquals(52, plus.size());
        assertEquals(0, plus.get(0).nodeid());
        assertEquals(0, plus.get(1).nodeid());
        assertEquals(c.lookup(sub, "f7").nodeid(), plus.stream().filter(d -> d.name().equals("f7")).findFirst().orElseThrow().nodeid());

        assertEquals(0, c.rename(sub, "f1", ROOT, "moved").error());
        assertTrue(Files.exists(dir.resolve("moved")));
        assertFalse(Files.exists(dir.resolve("sub/f1")));
        assertEquals("rename over an existing file replaces it", 0, c.rename(sub, "f2", ROOT, "moved").error());
        assertEquals(Fuse.EEXIST, c.rename2(sub, "f3", sub, "f4", Fuse.RENAME_NOREPLACE).error());
        assertEquals("RENAME_EXCHANGE is not supported", Fuse.EINVAL, c.rename2(sub, "f3", sub, "f4", 2).error());
        // A renamed directory's children keep working through their nodeids.
        long f5 = c.lookup(sub, "f5").nodeid();
        assertEquals(0, c.rename(ROOT, "sub", ROOT, "sub2").error());
        assertEquals(0, c.getattr(f5).size());
        long h5 = c.open(f5, 1);
        c.write(h5, 0, new byte[] {1, 2, 3});
        c.release(h5);
        assertEquals(3, Files.size(dir.resolve("sub2/f5")));

        assertEquals(Fuse.ENOTEMPTY, c.rmdir(ROOT, "sub2").error());
        assertEquals(Fuse.EISDIR, c.unlink(ROOT, "sub2").error());
        assertEquals(Fuse.ENOTDIR, c.rmdir(ROOT, "moved").error());
        for (String n : c.list(sub)) {
            if (!n.startsWith(".")) assertEquals(n, 0, c.unlink(sub, n).error());
        }
        assertEquals(0, c.rmdir(ROOT, "sub2").error());
        assertFalse(Files.exists(dir.resolve("sub2")));
        assertEquals(Fuse.ENOENT, c.unlink(ROOT, "nothing").error());
    }

    @Test
    public void symlinksAreStoredAndReadBackNotFollowed() throws Exception {
        FuseClient.Entry l = c.symlink(ROOT, "link", "../../etc/passwd");
        assertEquals(Fuse.S_IFLNK, l.type());
        assertTrue(Files.isSymbolicLink(dir.resolve("link")));
        assertEquals("../../etc/passwd", Files.readSymbolicLink(dir.resolve("link")).toString());
        assertEquals("../../etc/passwd", c.readlink(l.nodeid()));
        assertEquals(Fuse.EINVAL, c.call(Fuse.READLINK, ROOT, new byte[0]).error());
    }

    @Test
    public void hardLinkIsTheSameNode() throws Exception {
        long[] f = c.create(ROOT, "a", 1 | Fuse.O_CREAT, 0644);
        c.release(f[1]);
        FuseClient.Reply r = c.ok(c.call(Fuse.LINK, ROOT, FuseClient.args().u64(f[0]).str("b").build()), "LINK");
        FuseClient.Entry b = FuseClient.entry(r.payload(), 0);
        assertEquals(f[0], b.nodeid());
        assertEquals(2, b.nlink());
        long d = c.mkdir(ROOT, "d", 0755).nodeid();
        assertEquals("no hard links to directories", Fuse.EPERM, c.call(Fuse.LINK, ROOT, FuseClient.args().u64(d).str("d2").build()).error());
    }

    @Test
    public void setattrModeSizeTimes() throws Exception {
        long[] f = c.create(ROOT, "s", 2 | Fuse.O_CREAT, 0644);
        c.write(f[1], 0, new byte[1000]);
        assertEquals(0, c.setattr(f[0], Fuse.FATTR_SIZE | Fuse.FATTR_FH, f[1], 10, 0, 0).error());
        assertEquals(10, Files.size(dir.resolve("s")));
        assertEquals(0, c.setattr(f[0], Fuse.FATTR_SIZE, 0, 5000, 0, 0).error());
        assertEquals(5000, Files.size(dir.resolve("s")));
        assertEquals(0, c.setattr(f[0], Fuse.FATTR_MODE, 0, 0, 0600, 0).error());
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("s"))));
        assertEquals(0, c.setattr(f[0], Fuse.FATTR_MTIME, 0, 0, 0, 1_000_000_000L).error());
        assertEquals(1_000_000_000_000L, Files.getLastModifiedTime(dir.resolve("s")).toMillis());
        long dirNode = c.mkdir(ROOT, "dd", 0755).nodeid();
        assertEquals(Fuse.EISDIR, c.setattr(dirNode, Fuse.FATTR_SIZE, 0, 0, 0, 0).error());
        c.release(f[1]);
    }

    @Test
    public void statfsFsyncFlushLseekFallocateAccess() throws Exception {
        FuseClient.Reply s = c.ok(c.call(Fuse.STATFS, ROOT, new byte[0]), "STATFS");
        assertTrue(s.u64(0) > 0);
        assertEquals(255, s.u32(44));
        long[] f = c.create(ROOT, "x", 2 | Fuse.O_CREAT, 0644);
        c.write(f[1], 0, new byte[100]);
        assertEquals(0, c.call(Fuse.FSYNC, f[0], FuseClient.args().u64(f[1]).u32(0).u32(0).build()).error());
        assertEquals(0, c.call(Fuse.FLUSH, f[0], FuseClient.args().u64(f[1]).u32(0).u32(0).u64(0).build()).error());
        FuseClient.Reply data = c.call(Fuse.LSEEK, f[0], FuseClient.args().u64(f[1]).u64(10).u32(Fuse.SEEK_DATA).u32(0).build());
        assertEquals(10, data.u64(0));
        FuseClient.Reply hole = c.call(Fuse.LSEEK, f[0], FuseClient.args().u64(f[1]).u64(10).u32(Fuse.SEEK_HOLE).u32(0).build());
        assertEquals(100, hole.u64(0));
        assertEquals(Fuse.ENXIO, c.call(Fuse.LSEEK, f[0], FuseClient.args().u64(f[1]).u64(100).u32(Fuse.SEEK_DATA).u32(0).build()).error());
        assertEquals(0, c.call(Fuse.FALLOCATE, f[0], FuseClient.args().u64(f[1]).u64(0).u64(4096).u32(0).u32(0).build()).error());
        assertEquals(4096, Files.size(dir.resolve("x")));
        assertEquals(Fuse.EOPNOTSUPP, c.call(Fuse.FALLOCATE, f[0], FuseClient.args().u64(f[1]).u64(0).u64(10).u32(3).u32(0).build()).error());
        assertEquals(0, c.call(Fuse.ACCESS, f[0], FuseClient.args().u32(Fuse.R_OK | Fuse.W_OK).u32(0).build()).error());
        assertEquals(Fuse.ENOSYS, c.call(Fuse.GETXATTR, f[0], FuseClient.args().u32(100).u32(0).str("user.x").build()).error());
        assertEquals(Fuse.ENOSYS, c.call(Fuse.LISTXATTR, f[0], FuseClient.args().u32(100).u32(0).build()).error());
        long d = c.opendir(ROOT);
        assertEquals(0, c.call(Fuse.FSYNCDIR, ROOT, FuseClient.args().u64(d).u32(0).u32(0).build()).error());
        c.releasedir(d);
        c.release(f[1]);
    }

    @Test
    public void mknodMakesFifosAndRegularFilesOnly() throws Exception {
        org.junit.Assume.assumeTrue("mkfifo through FFM", Fifos.available());
        FuseClient.Reply r = c.call(Fuse.MKNOD, ROOT, FuseClient.args().u32(Fuse.S_IFIFO | 0644).u32(0).u32(022).u32(0).str("fifo").build());
        assertEquals(0, r.error());
        assertEquals(Fuse.S_IFIFO, FuseClient.entry(r.payload(), 0).type());
        assertTrue(Files.readAttributes(dir.resolve("fifo"), java.nio.file.attribute.BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).isOther());
        assertEquals(0, c.call(Fuse.MKNOD, ROOT, FuseClient.args().u32(Fuse.S_IFREG | 0600).u32(0).u32(022).u32(0).str("reg").build()).error());
        assertTrue(Files.isRegularFile(dir.resolve("reg"), LinkOption.NOFOLLOW_LINKS));
        assertEquals("no device nodes", Fuse.EPERM,
                c.call(Fuse.MKNOD, ROOT, FuseClient.args().u32(Fuse.S_IFCHR | 0600).u32(0x0103).u32(0).u32(0).str("null").build()).error());
        assertFalse(Files.exists(dir.resolve("null"), LinkOption.NOFOLLOW_LINKS));
        // Opening the fifo on the host would block the device: refused.
        long node = FuseClient.entry(r.payload(), 0).nodeid();
        assertEquals(Fuse.EACCES, c.call(Fuse.OPEN, node, FuseClient.args().u32(0).u32(0).build()).error());
    }

    @Test
    public void destroyForgetsEverything() throws Exception {
        long[] f = c.create(ROOT, "x", 2 | Fuse.O_CREAT, 0644);
        assertEquals(1, server.handleCount());
        assertEquals(0, c.call(Fuse.DESTROY, 0, new byte[0]).error());
        assertEquals(0, server.handleCount());
        assertEquals(0, server.nodeCount());
        assertEquals("requests after DESTROY need a new INIT", Fuse.EIO, c.call(Fuse.GETATTR, f[0], new byte[16]).error());
        c.init();
        assertNotEquals(0, c.lookup(ROOT, "x").nodeid());
    }

    static void expect(int errno, Runnable r) {
        try {
            r.run();
            fail("expected errno " + errno);
        } catch (FuseClient.FuseFailure e) {
            assertEquals(e.getMessage(), errno, e.errno);
        }
    }
}
