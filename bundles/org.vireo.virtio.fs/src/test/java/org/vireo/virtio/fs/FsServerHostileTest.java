package org.vireo.virtio.fs;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.Test;

/**
 * Requests a hostile guest could send: none may reach outside the shared directory, open a host special file,
 * change a read-only share, grow the tables without bound, or make the server throw.
 */
public class FsServerHostileTest extends FsServerTest {
    private Path outside() throws Exception {
        Path o = tmp.newFolder("outside").toPath();
        Files.writeString(o.resolve("secret"), "host secret");
        return o;
    }

    @Test
    public void unknownNodeidsAndHandlesAreRefused() {
        assertEquals(Fuse.EBADF, c.call(Fuse.GETATTR, 12345, new byte[16]).error());
        assertEquals(Fuse.EBADF, c.call(Fuse.LOOKUP, -1, FuseClient.args().str("x").build()).error());
        assertEquals(Fuse.EBADF, c.call(Fuse.READ, 0, FuseClient.args().u64(999).u64(0).u32(10).u32(0).u64(0).u32(0).u32(0).build()).error());
        assertEquals(Fuse.EBADF, c.call(Fuse.WRITE, 0, FuseClient.args().u64(999).u64(0).u32(1).u32(0).u64(0).u32(0).u32(0).bytes(new byte[1]).build()).error());
        assertEquals(Fuse.EBADF, c.call(Fuse.READDIR, 0, FuseClient.args().u64(999).u64(0).u32(100).u32(0).u64(0).u32(0).u32(0).build()).error());
        // A directory handle is not a file handle and the other way round.
        long d = c.opendir(ROOT);
        assertEquals(Fuse.EBADF, c.call(Fuse.READ, 0, FuseClient.args().u64(d).u64(0).u32(10).u32(0).u64(0).u32(0).u32(0).build()).error());
        c.forget(424242, 1);     // unknown: ignored
        c.forget(ROOT, 1 << 20); // the root is never forgotten
        assertEquals(Fuse.S_IFDIR, c.getattr(ROOT).type());
    }

    @Test
    public void dotDotAndSlashNamesAreRefused() throws Exception {
        outside();
        assertEquals(Fuse.ENOENT, c.call(Fuse.LOOKUP, ROOT, FuseClient.args().str("..").build()).error());
        assertEquals(Fuse.ENOENT, c.call(Fuse.LOOKUP, ROOT, FuseClient.args().str(".").build()).error());
        assertEquals(Fuse.EINVAL, c.call(Fuse.LOOKUP, ROOT, FuseClient.args().str("../outside/secret").build()).error());
        assertEquals(Fuse.EINVAL, c.call(Fuse.LOOKUP, ROOT, FuseClient.args().str("/etc/passwd").build()).error());
        assertEquals(Fuse.ENOENT, c.call(Fuse.LOOKUP, ROOT, FuseClient.args().str("").build()).error());
        assertEquals(Fuse.ENAMETOOLONG, c.call(Fuse.LOOKUP, ROOT, FuseClient.args().str("x".repeat(256)).build()).error());
        assertEquals(Fuse.EINVAL, c.call(Fuse.MKDIR, ROOT, FuseClient.args().u32(0755).u32(0).str("..").build()).error());
        assertEquals(Fuse.EINVAL, c.call(Fuse.CREATE, ROOT, FuseClient.args().u32(0101).u32(0644).u32(0).u32(0).str("../escaped").build()).error());
        assertEquals(Fuse.EINVAL, c.unlink(ROOT, "..").error());
        assertEquals(Fuse.EINVAL, c.rmdir(ROOT, ".").error());
        assertEquals(Fuse.EINVAL, c.rename(ROOT, "..", ROOT, "x").error());
        assertEquals(Fuse.EINVAL, c.call(Fuse.SYMLINK, ROOT, FuseClient.args().str("a/b").str("t").build()).error());
        // Not valid UTF-8, and a name without its NUL.
        assertEquals(Fuse.EINVAL, c.call(Fuse.LOOKUP, ROOT, FuseClient.args().bytes(new byte[] {(byte) 0xff, (byte) 0xfe, 0}).build()).error());
        assertEquals(Fuse.EINVAL, c.call(Fuse.LOOKUP, ROOT, "noterminator".getBytes()).error());
        assertFalse(Files.exists(dir.getParent().resolve("escaped")));
    }

    @Test
    public void hostSymlinkToRootIsAReadableLinkAndNothingMore() throws Exception {
        Files.createSymbolicLink(dir.resolve("escape"), Path.of("/"));
        Path out = outside();
        Files.createSymbolicLink(dir.resolve("out"), out);
        FuseClient.Entry e = c.lookup(ROOT, "escape");
        assertEquals(Fuse.S_IFLNK, e.type());
        assertEquals("/", c.readlink(e.nodeid()));
        long o = c.lookup(ROOT, "out").nodeid();
        // Through the link as a directory: nothing.
        assertEquals(Fuse.ENOTDIR, c.call(Fuse.LOOKUP, e.nodeid(), FuseClient.args().str("etc").build()).error());
        assertEquals(Fuse.ENOTDIR, c.call(Fuse.LOOKUP, o, FuseClient.args().str("secret").build()).error());
        assertEquals(Fuse.ENOTDIR, c.call(Fuse.OPENDIR, o, FuseClient.args().u32(0).u32(0).build()).error());
        assertEquals(Fuse.ENOTDIR, c.call(Fuse.CREATE, o, FuseClient.args().u32(0101).u32(0644).u32(0).u32(0).str("planted").build()).error());
        assertEquals(Fuse.ENOTDIR, c.call(Fuse.MKDIR, o, FuseClient.args().u32(0755).u32(0).str("planted").build()).error());
        assertEquals(Fuse.ENOTDIR, c.call(Fuse.SYMLINK, o, FuseClient.args().str("planted").str("x").build()).error());
        assertEquals(Fuse.ENOTDIR, c.unlink(o, "secret").error());
        assertEquals(Fuse.ENOTDIR, c.rename(ROOT, "escape", o, "moved").error());
        long[] f = c.create(ROOT, "f", 1 | Fuse.O_CREAT, 0644);
        c.release(f[1]);
        assertEquals(Fuse.ENOTDIR, c.call(Fuse.LINK, o, FuseClient.args().u64(f[0]).str("planted").build()).error());
        // The link itself: never opened, truncated or chmod'ed through.
        assertEquals(Fuse.ELOOP, c.call(Fuse.OPEN, o, FuseClient.args().u32(0).u32(0).build()).error());
        assertEquals(Fuse.EINVAL, c.setattr(o, Fuse.FATTR_SIZE, 0, 0, 0, 0).error());
        assertEquals(Fuse.EOPNOTSUPP, c.setattr(o, Fuse.FATTR_MODE, 0, 0, 0777, 0).error());
        assertEquals("host secret", Files.readString(out.resolve("secret")));
        assertEquals(1, Files.list(out).count());
        // Unlinking the link removes the link only.
        assertEquals(0, c.unlink(ROOT, "out").error());
        assertTrue(Files.exists(out.resolve("secret")));
    }

    @Test
    public void absoluteAndDanglingSymlinksAreNotFollowed() throws Exception {
        Path out = outside();
        c.symlink(ROOT, "abs", out.resolve("secret").toString());
        c.symlink(ROOT, "dangling", out.resolve("created-through-link").toString());
        long abs = c.lookup(ROOT, "abs").nodeid();
        assertEquals(Fuse.ELOOP, c.call(Fuse.OPEN, abs, FuseClient.args().u32(2).u32(0).build()).error());
        // O_CREAT (without O_EXCL) on a dangling link must not create its target.
        assertEquals(Fuse.ELOOP, c.call(Fuse.CREATE, ROOT, FuseClient.args().u32(0101).u32(0644).u32(0).u32(0).str("dangling").build()).error());
        assertEquals(Fuse.EEXIST, c.call(Fuse.CREATE, ROOT, FuseClient.args().u32(0301).u32(0644).u32(0).u32(0).str("dangling").build()).error());
        assertEquals(Fuse.EEXIST, c.call(Fuse.MKDIR, ROOT, FuseClient.args().u32(0755).u32(0).str("dangling").build()).error());
        assertFalse(Files.exists(out.resolve("created-through-link"), LinkOption.NOFOLLOW_LINKS));
        // A symlink to a file outside, hard-linked: the link is linked, not its target.
        FuseClient.Reply l = c.call(Fuse.LINK, ROOT, FuseClient.args().u64(abs).str("abs2").build());
        if (l.error() == 0) assertTrue(Files.isSymbolicLink(dir.resolve("abs2")));
        assertEquals("host secret", Files.readString(out.resolve("secret")));
    }

    @Test
    public void directorySwappedForASymlinkByTheHostIsNotEntered() throws Exception {
        Path out = outside();
        long sub = c.mkdir(ROOT, "sub", 0755).nodeid();
        long[] f = c.create(sub, "inner", 1 | Fuse.O_CREAT, 0644);
        c.release(f[1]);
        // The host replaces sub by a symlink to a directory outside that has an "inner" too.
        Files.writeString(out.resolve("inner"), "outside inner");
        Files.delete(dir.resolve("sub/inner"));
        Files.delete(dir.resolve("sub"));
        Files.createSymbolicLink(dir.resolve("sub"), out);
        int l = c.call(Fuse.LOOKUP, sub, FuseClient.args().str("inner").build()).error();
        assertTrue("errno " + l, l == Fuse.ENOENT || l == Fuse.ENOTDIR);
        assertTrue(c.call(Fuse.GETATTR, f[0], new byte[16]).error() != 0);
        assertTrue(c.call(Fuse.OPEN, f[0], FuseClient.args().u32(2).u32(0).build()).error() != 0);
        // ENOENT when the link got a new inode number, ENOTDIR when it reused the directory's.
        int e = c.call(Fuse.CREATE, sub, FuseClient.args().u32(0101).u32(0644).u32(0).u32(0).str("new").build()).error();
        assertTrue("errno " + e, e == Fuse.ENOENT || e == Fuse.ENOTDIR);
        assertEquals("outside inner", Files.readString(out.resolve("inner")));
        assertEquals(1, Files.list(out).filter(p -> !p.getFileName().toString().equals("secret")).count());
    }

    @Test
    public void hostSpecialFilesAreNeverOpened() throws Exception {
        Path devNull = Path.of("/dev/null");
        org.junit.Assume.assumeTrue(Files.exists(devNull));
        // A host device node can't be made without privileges; a symlink to one and a fifo stand in for it.
        Files.createSymbolicLink(dir.resolve("null"), devNull);
        long n = c.lookup(ROOT, "null").nodeid();
        assertEquals(Fuse.ELOOP, c.call(Fuse.OPEN, n, FuseClient.args().u32(2).u32(0).build()).error());
        if (Fifos.available()) {
            Fifos.mkfifo(dir.resolve("hostfifo"), 0600);
            FuseClient.Entry fifo = c.lookup(ROOT, "hostfifo");
            assertEquals(Fuse.S_IFIFO, fifo.type());
            assertEquals(Fuse.EACCES, c.call(Fuse.OPEN, fifo.nodeid(), FuseClient.args().u32(0).u32(0).build()).error());
            assertEquals("chmod of a fifo does not open it", 0, c.setattr(fifo.nodeid(), Fuse.FATTR_MODE, 0, 0, 0640, 0).error());
            assertEquals(Fuse.EINVAL, c.setattr(fifo.nodeid(), Fuse.FATTR_SIZE, 0, 0, 0, 0).error());
        }
    }

    @Test
    public void readOnlyShareRefusesEveryWrite() throws Exception {
        Files.writeString(dir.resolve("file"), "content");
        Files.createDirectory(dir.resolve("d"));
        FuseClient ro = new FuseClient(newServer(true, 100, 100));
        ro.init();
        long file = ro.lookup(ROOT, "file").nodeid();
        long d = ro.lookup(ROOT, "d").nodeid();
        FuseClient.Args create = FuseClient.args().u32(0101).u32(0644).u32(0).u32(0).str("new");
        assertEquals(Fuse.EROFS, ro.call(Fuse.CREATE, ROOT, create.build()).error());
        assertEquals(Fuse.EROFS, ro.call(Fuse.MKDIR, ROOT, FuseClient.args().u32(0755).u32(0).str("new").build()).error());
        assertEquals(Fuse.EROFS, ro.call(Fuse.MKNOD, ROOT, FuseClient.args().u32(Fuse.S_IFREG | 0644).u32(0).u32(0).u32(0).str("new").build()).error());
        assertEquals(Fuse.EROFS, ro.call(Fuse.SYMLINK, ROOT, FuseClient.args().str("new").str("t").build()).error());
        assertEquals(Fuse.EROFS, ro.call(Fuse.LINK, ROOT, FuseClient.args().u64(file).str("new").build()).error());
        assertEquals(Fuse.EROFS, ro.unlink(ROOT, "file").error());
        assertEquals(Fuse.EROFS, ro.rmdir(ROOT, "d").error());
        assertEquals(Fuse.EROFS, ro.rename(ROOT, "file", ROOT, "new").error());
        assertEquals(Fuse.EROFS, ro.setattr(file, Fuse.FATTR_SIZE, 0, 0, 0, 0).error());
        assertEquals(Fuse.EROFS, ro.setattr(file, Fuse.FATTR_MODE, 0, 0, 0777, 0).error());
        assertEquals(Fuse.EROFS, ro.setattr(file, Fuse.FATTR_MTIME_NOW, 0, 0, 0, 0).error());
        assertEquals(Fuse.EROFS, ro.call(Fuse.OPEN, file, FuseClient.args().u32(1).u32(0).build()).error());
        assertEquals(Fuse.EROFS, ro.call(Fuse.OPEN, file, FuseClient.args().u32(2).u32(0).build()).error());
        assertEquals(Fuse.EROFS, ro.call(Fuse.OPEN, file, FuseClient.args().u32(Fuse.O_TRUNC).u32(0).build()).error());
        assertEquals(Fuse.EROFS, ro.call(Fuse.ACCESS, file, FuseClient.args().u32(Fuse.W_OK).u32(0).build()).error());
        long fh = ro.open(file, 0);
        assertEquals("content", new String(ro.read(fh, 0, 100)));
        assertEquals(Fuse.EROFS, ro.call(Fuse.WRITE, 0, FuseClient.args().u64(fh).u64(0).u32(1).u32(0).u64(0).u32(0).u32(0).bytes(new byte[1]).build()).error());
        assertEquals(Fuse.EROFS, ro.call(Fuse.FALLOCATE, 0, FuseClient.args().u64(fh).u64(0).u64(100).u32(0).u32(0).build()).error());
        ro.release(fh);
        assertEquals("content", Files.readString(dir.resolve("file")));
        assertEquals(2, Files.list(dir).count());
        assertEquals(2 + 2, ro.list(d).size() + 2);
    }

    @Test
    public void tablesAreBoundedAndFreed() throws Exception {
        for (int i = 0; i < 10; i++) Files.writeString(dir.resolve("f" + i), "x");
        FuseClient small = new FuseClient(newServer(false, 4, 2));
        small.init();
        long[] ids = new long[3];
        for (int i = 0; i < 3; i++) ids[i] = small.lookup(ROOT, "f" + i).nodeid();   // root + 3 = 4
        assertEquals(Fuse.ENFILE, small.call(Fuse.LOOKUP, ROOT, FuseClient.args().str("f3").build()).error());
        assertEquals("the same inode again costs nothing", ids[0], small.lookup(ROOT, "f0").nodeid());
        small.forget(ids[1], 1);
        long f3 = small.lookup(ROOT, "f3").nodeid();
        // Two lookups of f0: one FORGET of 1 keeps it, a second frees it.
        small.forget(ids[0], 1);
        assertEquals(Fuse.ENFILE, small.call(Fuse.LOOKUP, ROOT, FuseClient.args().str("f4").build()).error());
        small.forget(ids[0], 1);
        small.lookup(ROOT, "f4");
        // BATCH_FORGET with a count larger than the entries it carries: the carried ones are forgotten.
        small.call(Fuse.BATCH_FORGET, 0, FuseClient.args().u32(1000).u32(0).u64(f3).u64(1).build());
        small.lookup(ROOT, "f5");

        long h1 = small.open(ids[2], 0);
        small.opendir(ROOT);
        assertEquals(Fuse.ENFILE, small.call(Fuse.OPEN, ids[2], FuseClient.args().u32(0).u32(0).build()).error());
        assertEquals(Fuse.ENFILE, small.call(Fuse.OPENDIR, ROOT, FuseClient.args().u32(0).u32(0).build()).error());
        small.release(h1);
        small.open(ids[2], 0);
    }

    @Test
    public void hugeSizesAndOffsets() throws Exception {
        long[] f = c.create(ROOT, "big", 2 | Fuse.O_CREAT, 0644);
        c.write(f[1], 0, new byte[10]);
        // READ of 4 GiB - 1: bounded by the reply room and MAX_IO.
        c.outCapacity = 4096 + Fuse.OUT_HEADER;
        assertEquals(10, c.read(f[1], 0, -1).length);
        c.outCapacity = 1 << 21;
        assertEquals(Fuse.EINVAL, c.call(Fuse.READ, 0, FuseClient.args().u64(f[1]).u64(-1).u32(100).u32(0).u64(0).u32(0).u32(0).build()).error());
        assertEquals(0, c.read(f[1], Long.MAX_VALUE - 5, 100).length);
        // WRITE claiming more bytes than it carries, or beyond max_write.
        assertEquals(Fuse.EINVAL, c.call(Fuse.WRITE, 0, FuseClient.args().u64(f[1]).u64(0).u32(1 << 30).u32(0).u64(0).u32(0).u32(0).bytes(new byte[8]).build()).error());
        assertEquals(Fuse.EINVAL, c.call(Fuse.WRITE, 0, FuseClient.args().u64(f[1]).u64(0).u32(FsServer.MAX_IO + 1).u32(0).u64(0).u32(0).u32(0).bytes(new byte[FsServer.MAX_IO + 1]).build()).error());
        assertEquals(Fuse.EFBIG, c.call(Fuse.WRITE, 0, FuseClient.args().u64(f[1]).u64(-10).u32(8).u32(0).u64(0).u32(0).u32(0).bytes(new byte[8]).build()).error());
        assertEquals(Fuse.EFBIG, c.call(Fuse.WRITE, 0, FuseClient.args().u64(f[1]).u64(Long.MAX_VALUE - 2).u32(8).u32(0).u64(0).u32(0).u32(0).bytes(new byte[8]).build()).error());
        assertEquals(Fuse.EINVAL, c.setattr(f[0], Fuse.FATTR_SIZE, 0, -1, 0, 0).error());
        int e = c.setattr(f[0], Fuse.FATTR_SIZE, 0, Long.MAX_VALUE, 0, 0).error();
        assertTrue("a size the host refuses: " + e, e == Fuse.EFBIG || e == Fuse.EINVAL);
        assertEquals(Fuse.EINVAL, c.call(Fuse.FALLOCATE, 0, FuseClient.args().u64(f[1]).u64(Long.MAX_VALUE).u64(Long.MAX_VALUE).u32(0).u32(0).build()).error());
        assertEquals("a file handle is no directory handle", Fuse.EBADF, c.call(Fuse.READDIR, 0, FuseClient.args().u64(f[1]).u64(0).u32(100).build()).error());
        long d = c.opendir(ROOT);
        assertEquals(0, c.readdir(d, Long.MAX_VALUE, 4096, false).size());
        assertEquals(0, c.readdir(d, -5, 4096, true).size());
        assertEquals("a READDIR with no room for one entry", 0, c.readdir(d, 0, 10, false).size());
        c.release(f[1]);
        assertEquals(10, Files.size(dir.resolve("big")));
    }

    @Test
    public void malformedRequestsAreAnsweredNotThrown() throws Exception {
        // Truncated header: an error with the unique that was there.
        byte[] full = FuseClient.request(Fuse.GETATTR, 77, ROOT, new byte[16]);
        FuseClient.Reply r = c.raw(Arrays.copyOf(full, 20), 64);
        assertEquals(Fuse.EINVAL, r.error());
        assertEquals(77, r.unique());
        assertEquals(Fuse.EINVAL, c.raw(new byte[3], 64).error());
        assertEquals("no room for any answer", 0, c.raw(new byte[3], 8).used());
        // Header length beyond the readable bytes, or below the header size.
        byte[] lying = full.clone();
        ByteBuffer.wrap(lying).order(ByteOrder.LITTLE_ENDIAN).putInt(0, 1 << 30);
        assertEquals(Fuse.EINVAL, c.raw(lying, 256).error());
        ByteBuffer.wrap(lying).order(ByteOrder.LITTLE_ENDIAN).putInt(0, 8);
        assertEquals(Fuse.EINVAL, c.raw(lying, 256).error());
        // Unknown opcodes, and opcodes this server does not implement.
        for (int op : new int[] {0, 7, 19, 31, 32, 37, 39, 40, 47, 48, 51, 999, 4096, -1}) {
            assertEquals("opcode " + op, Fuse.ENOSYS, c.call(op, ROOT, new byte[64]).error());
        }
        // Arguments shorter than their structure.
        assertEquals(Fuse.EINVAL, c.call(Fuse.SETATTR, ROOT, new byte[10]).error());
        assertEquals(Fuse.EINVAL, c.call(Fuse.OPEN, ROOT, new byte[2]).error());
        assertEquals(Fuse.EINVAL, c.call(Fuse.RENAME, ROOT, new byte[4]).error());
        assertEquals(Fuse.EINVAL, c.call(Fuse.WRITE, 0, new byte[20]).error());
        assertEquals(Fuse.EINVAL, c.call(Fuse.INIT, 0, new byte[4]).error());
        assertEquals(Fuse.EINVAL, c.call(Fuse.LOOKUP, ROOT, new byte[(FsServer.MAX_ARGS) + 1]).error());
        assertEquals("FORGET without a count: no reply", 0, c.call(Fuse.FORGET, ROOT, new byte[0]).used());
        assertEquals("INTERRUPT: no reply", 0, c.call(Fuse.INTERRUPT, 0, new byte[8]).used());
        // A reply larger than the room given: ERANGE in the header.
        c.outCapacity = 40;
        assertEquals(Fuse.ERANGE, c.call(Fuse.GETATTR, ROOT, new byte[16]).error());
        c.outCapacity = 1 << 21;
        // Before INIT, nothing but INIT.
        FuseClient fresh = new FuseClient(newServer(false, 10, 10));
        assertEquals(Fuse.EIO, fresh.call(Fuse.GETATTR, ROOT, new byte[16]).error());
        assertEquals(Fuse.EIO, fresh.call(Fuse.LOOKUP, ROOT, FuseClient.args().str("x").build()).error());
        // Still serving.
        assertEquals(Fuse.S_IFDIR, c.getattr(ROOT).type());
    }

    @Test
    public void randomBytesNeverThrow() throws Exception {
        java.util.Random rnd = new java.util.Random(16);
        Files.writeString(dir.resolve("a"), "a");
        c.lookup(ROOT, "a");
        for (int i = 0; i < 20_000; i++) {
            int op = rnd.nextInt(50);
            byte[] args = new byte[rnd.nextInt(120)];
            rnd.nextBytes(args);
            if (op == Fuse.DESTROY || op == Fuse.INIT) continue;
            long nodeid = rnd.nextInt(4);
            byte[] req = FuseClient.request(op, i, nodeid, args);
            if (rnd.nextInt(10) == 0) req = Arrays.copyOf(req, rnd.nextInt(req.length + 1));
            c.raw(req, rnd.nextInt(10) == 0 ? rnd.nextInt(64) : 8192);
        }
        // Nothing escaped the directory.
        try (var s = Files.walk(dir.getParent())) {
            s.forEach(p -> assertTrue(p.toString(), p.startsWith(dir) || p.equals(dir.getParent())));
        }
    }

    @Test
    public void walkingLeavesNoDescriptorsOpen() throws Exception {
        Path fds = Path.of("/proc/self/fd");
        org.junit.Assume.assumeTrue(Files.isDirectory(fds));
        long a = c.mkdir(ROOT, "a", 0755).nodeid();
        long b = c.mkdir(a, "b", 0755).nodeid();
        long deep = c.mkdir(b, "c", 0755).nodeid();
        c.release(c.create(deep, "f", 1 | Fuse.O_CREAT, 0644)[1]);
        long before;
        try (var s = Files.list(fds)) {
            before = s.count();
        }
        for (int i = 0; i < 200; i++) {
            long f = c.lookup(deep, "f").nodeid();
            c.getattr(f);
            c.setattr(f, Fuse.FATTR_MODE, 0, 0, 0600, 0);
            c.call(Fuse.ACCESS, f, FuseClient.args().u32(Fuse.R_OK).u32(0).build());
            c.list(deep);
            c.call(Fuse.LOOKUP, deep, FuseClient.args().str("missing").build());
            c.forget(f, 1);
        }
        long after;
        try (var s = Files.list(fds)) {
            after = s.count();
        }
        assertTrue("descriptors before " + before + ", after " + after, after <= before + 2);
    }
}
