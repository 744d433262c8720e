package org.vireo.virtio.fs;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Builds FUSE requests as the Linux client lays them out and reads the replies; drives an {@link FsServer} directly. */
final class FuseClient {
    /** One reply: errno (positive, 0 for success) and the payload after the header. */
    record Reply(int used, int error, long unique, ByteBuffer payload) {
        long u64(int at) { return payload.getLong(at); }

        int u32(int at) { return payload.getInt(at); }
    }

    /** fuse_entry_out / fuse_attr, the fields tests look at. */
    record Entry(long nodeid, long ino, long size, int mode, int nlink) {
        int type() { return mode & Fuse.S_IFMT; }
    }

    record Dirent(long ino, long off, int type, String name, long nodeid) {}

    /** An exchange over arrays: {@code in} readable, {@code outCapacity} writable bytes. */
    static final class ArrayExchange implements FuseExchange {
        final byte[] in;
        final byte[] out;

        ArrayExchange(byte[] in, int outCapacity) {
            this.in = in;
            this.out = new byte[outCapacity];
        }

        @Override public long inLength() { return in.length; }

        @Override
        public int readIn(long offset, byte[] dst, int off, int len) {
            int n = (int) Math.max(0, Math.min(len, in.length - offset));
            System.arraycopy(in, (int) offset, dst, off, n);
            return n;
        }

        @Override public long outLength() { return out.length; }

        @Override
        public int writeOut(long offset, byte[] src, int off, int len) {
            int n = (int) Math.max(0, Math.min(len, out.length - offset));
            System.arraycopy(src, off, out, (int) offset, n);
            return n;
        }

        @Override
        public List<ByteBuffer> inBuffers(long offset, long len) {
            // Two pieces, to exercise the scatter-gather loops.
            return split(ByteBuffer.wrap(in, (int) offset, (int) len).slice());
        }

        @Override
        public List<ByteBuffer> outBuffers(long offset, long len) {
            return split(ByteBuffer.wrap(out, (int) offset, (int) len).slice());
        }

        private static List<ByteBuffer> split(ByteBuffer b) {
            int half = b.remaining() / 2;
            List<ByteBuffer> l = new ArrayList<>();
            l.add(b.slice(0, half));
            l.add(b.slice(half, b.remaining() - half));
            return l;
        }
    }

    private final FsServer server;
    private long unique = 100;
    int outCapacity = 1 << 21;

    FuseClient(FsServer server) { this.server = server; }

    static byte[] request(int opcode, long unique, long nodeid, byte[] args) {
        ByteBuffer b = ByteBuffer.allocate(Fuse.IN_HEADER + args.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(Fuse.IN_HEADER + args.length).putInt(opcode).putLong(unique).putLong(nodeid)
                .putInt(0).putInt(0).putInt(1).putShort((short) 0).putShort((short) 0);
        b.put(args);
        return b.array();
    }

    Reply raw(byte[] in, int outCapacity) {
        ArrayExchange x = new ArrayExchange(in, outCapacity);
        int used = server.serve(x);
        if (used < Fuse.OUT_HEADER) return new Reply(used, -1, -1, ByteBuffer.allocate(0));
        ByteBuffer o = ByteBuffer.wrap(x.out, 0, used).order(ByteOrder.LITTLE_ENDIAN);
        int len = o.getInt(0);
        if (len != used) throw new AssertionError("header length " + len + " but used length " + used);
        return new Reply(used, -o.getInt(4), o.getLong(8),
                ByteBuffer.wrap(x.out, Fuse.OUT_HEADER, used - Fuse.OUT_HEADER).slice().order(ByteOrder.LITTLE_ENDIAN));
    }

    Reply call(int opcode, long nodeid, byte[] args) {
        long u = ++unique;
        Reply r = raw(request(opcode, u, nodeid, args), outCapacity);
        if (r.used > 0 && r.unique != u) throw new AssertionError("reply for unique " + r.unique + ", sent " + u);
        return r;
    }

    static Args args() { return new Args(); }

    /** Little-endian argument builder. */
    static final class Args {
        private final ByteBuffer b = ByteBuffer.allocate(1 << 21).order(ByteOrder.LITTLE_ENDIAN);

        Args u32(long v) { b.putInt((int) v); return this; }

        Args u64(long v) { b.putLong(v); return this; }

        Args str(String s) { b.put(s.getBytes(StandardCharsets.UTF_8)).put((byte) 0); return this; }

        Args bytes(byte[] v) { b.put(v); return this; }

        byte[] build() { return java.util.Arrays.copyOf(b.array(), b.position()); }
    }

    // ---- operations; each returns the reply or what it carries, and throws FuseFailure on an error

    static final class FuseFailure extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final int errno;

        FuseFailure(int errno, String op) {
            super(op + " failed with errno " + errno);
            this.errno = errno;
        }
    }

    Reply ok(Reply r, String op) {
        if (r.error != 0) throw new FuseFailure(r.error, op);
        return r;
    }

    Reply init() {
        return ok(call(Fuse.INIT, 0, args().u32(7).u32(38).u32(131072).u32(0xffff_ffffL).u32(0).bytes(new byte[44]).build()), "INIT");
    }

    static Entry entry(ByteBuffer p, int at) {
        return new Entry(p.getLong(at), p.getLong(at + 40), p.getLong(at + 48), p.getInt(at + 40 + 60), p.getInt(at + 40 + 64));
    }

    Entry lookup(long parent, String name) {
        return entry(ok(call(Fuse.LOOKUP, parent, args().str(name).build()), "LOOKUP").payload, 0);
    }

    Entry getattr(long node) {
        Reply r = ok(call(Fuse.GETATTR, node, args().u32(0).u32(0).u64(0).build()), "GETATTR");
        ByteBuffer p = r.payload;
        return new Entry(node, p.getLong(16), p.getLong(24), p.getInt(16 + 60), p.getInt(16 + 64));
    }

    Entry mkdir(long parent, String name, int mode) {
        return entry(ok(call(Fuse.MKDIR, parent, args().u32(mode).u32(022).str(name).build()), "MKDIR").payload, 0);
    }

    /** CREATE: the entry and the file handle. */
    long[] create(long parent, String name, int flags, int mode) {
        Reply r = ok(call(Fuse.CREATE, parent, args().u32(flags).u32(mode).u32(022).u32(0).str(name).build()), "CREATE");
        return new long[] {r.u64(0), r.u64(Fuse.ENTRY_OUT)};
    }

    long open(long node, int flags) {
        return ok(call(Fuse.OPEN, node, args().u32(flags).u32(0).build()), "OPEN").u64(0);
    }

    long opendir(long node) {
        return ok(call(Fuse.OPENDIR, node, args().u32(0).u32(0).build()), "OPENDIR").u64(0);
    }

    int write(long fh, long offset, byte[] data) {
        return ok(call(Fuse.WRITE, 0, args().u64(fh).u64(offset).u32(data.length).u32(0).u64(0).u32(0).u32(0).bytes(data).build()), "WRITE").u32(0);
    }

    byte[] read(long fh, long offset, int size) {
        Reply r = ok(call(Fuse.READ, 0, args().u64(fh).u64(offset).u32(size).u32(0).u64(0).u32(0).u32(0).build()), "READ");
        byte[] b = new byte[r.payload.remaining()];
        r.payload.get(b);
        return b;
    }

    void release(long fh) { ok(call(Fuse.RELEASE, 0, args().u64(fh).u32(0).u32(0).u64(0).build()), "RELEASE"); }

    void releasedir(long fh) { ok(call(Fuse.RELEASEDIR, 0, args().u64(fh).u32(0).u32(0).u64(0).build()), "RELEASEDIR"); }

    List<Dirent> readdir(long fh, long offset, int size, boolean plus) {
        Reply r = ok(call(plus ? Fuse.READDIRPLUS : Fuse.READDIR, 0, args().u64(fh).u64(offset).u32(size).u32(0).u64(0).u32(0).u32(0).build()), "READDIR");
        List<Dirent> out = new ArrayList<>();
        ByteBuffer p = r.payload;
        int at = 0;
        while (at < p.limit()) {
            long nodeid = 0;
            if (plus) {
                nodeid = p.getLong(at);
                at += Fuse.ENTRY_OUT;
            }
            int namelen = p.getInt(at + 16);
            byte[] nb = new byte[namelen];
            p.get(at + Fuse.DIRENT, nb);
            out.add(new Dirent(p.getLong(at), p.getLong(at + 8), p.getInt(at + 20), new String(nb, StandardCharsets.UTF_8), nodeid));
            at += (Fuse.DIRENT + namelen + 7) & ~7;
        }
        return out;
    }

    /** All names of a directory, through OPENDIR/READDIR/RELEASEDIR in small pieces. */
    List<String> list(long dir) {
        long fh = opendir(dir);
        List<String> names = new ArrayList<>();
        long off = 0;
        while (true) {
            List<Dirent> d = readdir(fh, off, 256, false);
            if (d.isEmpty()) break;
            for (Dirent e : d) names.add(e.name());
            off = d.get(d.size() - 1).off();
        }
        releasedir(fh);
        return names;
    }

    Reply unlink(long parent, String name) { return call(Fuse.UNLINK, parent, args().str(name).build()); }

    Reply rmdir(long parent, String name) { return call(Fuse.RMDIR, parent, args().str(name).build()); }

    Reply rename(long parent, String from, long newParent, String to) {
        return call(Fuse.RENAME, parent, args().u64(newParent).str(from).str(to).build());
    }

    Reply rename2(long parent, String from, long newParent, String to, int flags) {
        return call(Fuse.RENAME2, parent, args().u64(newParent).u32(flags).u32(0).str(from).str(to).build());
    }

    Entry symlink(long parent, String name, String target) {
        return entry(ok(call(Fuse.SYMLINK, parent, args().str(name).str(target).build()), "SYMLINK").payload, 0);
    }

    String readlink(long node) {
        Reply r = ok(call(Fuse.READLINK, node, new byte[0]), "READLINK");
        byte[] b = new byte[r.payload.remaining()];
        r.payload.get(b);
        return new String(b, StandardCharsets.UTF_8);
    }

    void forget(long node, long n) {
        Reply r = call(Fuse.FORGET, node, args().u64(n).build());
        if (r.used != 0) throw new AssertionError("FORGET answered");
    }

    Reply setattr(long node, int valid, long fh, long size, int mode, long mtime) {
        return call(Fuse.SETATTR, node, args().u32(valid).u32(0).u64(fh).u64(size).u64(0).u64(0).u64(mtime).u64(0)
                .u32(0).u32(0).u32(0).u32(mode).u32(0).u32(0).u32(0).u32(0).build());
    }
}
