package org.vireo.virtio.fs;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.CharBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A FUSE server for one host directory, speaking the protocol of the Linux client (fs/fuse) to the guest. It is
 * single-threaded: the device serves every queue under one lock, so guest requests never race each other.
 * <p>
 * <b>Confinement.</b> Nothing the guest sends reaches outside the shared directory:
 * <ul>
 * <li>A node is a path relative to the root, built only from names that were checked (no '/', not '.' or '..',
 *     not empty, at most 255 bytes of valid UTF-8). Every time a node is used, its path is walked from the root one
 *     directory descriptor at a time ({@link HostDirs}: openat with O_NOFOLLOW | O_DIRECTORY), so every ancestor is
 *     a real directory (a symlink there answers ENOTDIR) and stays the one that was checked while the request runs;
 *     java.nio.file then works below it through /proc/self/fd/N/name. The last component must still be the inode the
 *     node was made for (same device and inode number, else ENOENT). Where the descriptors are not available (no
 *     native access), each component is lstat'ed instead.</li>
 * <li>The last component is never followed either: attributes are read with NOFOLLOW_LINKS, files are opened with
 *     O_NOFOLLOW, and only regular files are opened (a directory answers EISDIR, anything else EACCES or ELOOP):
 *     host fifos, sockets and device nodes are never opened. Symlinks reach the guest as symlinks (READLINK) and the
 *     guest resolves them in its own namespace; MKNOD makes only regular files and fifos.</li>
 * <li>The guest cannot race these checks (its requests run one at a time), and with the descriptors neither can a
 *     host process: a directory swapped for a symlink is either not yet entered or already held open. (chmod and
 *     access, which follow a last symlink, go through an O_PATH descriptor of the checked inode.) Without them, a host
 *     process swapping a checked directory for a symlink at the very moment of a request could redirect it.</li>
 * <li>{@code readOnly} answers EROFS to everything that would change the directory, including opens for writing.</li>
 * <li>The node and handle tables are bounded ({@link #maxNodes}, {@link #maxHandles}); when full, requests that
 *     would add to them answer ENFILE. FORGET and RELEASE free their entries; DESTROY and a device reset free all.</li>
 * <li>Every length, offset and count is checked against the request's own bytes and the reply room before use; a
 *     malformed request answers an error (or nothing, when there is no room for an answer) and never throws.</li>
 * </ul>
 * The guest's uid, gid and pid are not used: every request acts as the VMM's own host user.
 */
final class FsServer {
    /** Largest READ or WRITE payload (max_write; with max_pages 256 of 4 KiB pages the client never asks more). */
    static final int MAX_IO = 1 << 20;
    static final int MAX_PAGES = MAX_IO / 4096;
    /** Largest argument block copied for parsing (names and symlink targets fit many times over). */
    static final int MAX_ARGS = 16 * 1024;
    static final int NAME_MAX = 255;
    static final int PATH_MAX = 4096;
    /** Entries a directory listing keeps; beyond, the listing is cut. */
    static final int MAX_DIR_ENTRIES = 1 << 20;
    /** Cache timeouts given to the guest for names and attributes: changes on the host show within a second. */
    static final long VALID_SECONDS = 1;
    static final int DEFAULT_MAX_NODES = 1 << 16;
    static final int DEFAULT_MAX_HANDLES = 4096;

    private static final LinkOption[] NOFOLLOW = {LinkOption.NOFOLLOW_LINKS};

    /** A host inode's identity: device and inode number. */
    private record Key(long dev, long ino) {}

    /** What the server reports of a host file: lstat, in FUSE's fuse_attr terms. */
    record Attr(long dev, long ino, long size, long atime, int atimeNs, long mtime, int mtimeNs, long ctime, int ctimeNs,
                int mode, int nlink, int uid, int gid, int rdev) {
        int type() { return mode & Fuse.S_IFMT; }

        boolean isDir() { return type() == Fuse.S_IFDIR; }

        boolean isRegular() { return type() == Fuse.S_IFREG; }

        boolean isSymlink() { return type() == Fuse.S_IFLNK; }

        Key key() { return new Key(dev, ino); }
    }

    /** An inode the guest knows by nodeid: the path it was last seen at and the guest's lookup count. */
    static final class Node {
        final long id;
        final Key key;
        String path;
        long nlookup;
        Attr last;

        Node(long id, Key key, String path, Attr attr) {
            this.id = id;
            this.key = key;
            this.path = path;
            this.last = attr;
        }
    }

    private sealed interface Handle permits FileHandle, DirHandle {}

    private record FileHandle(Node node, FileChannel channel, boolean writable) implements Handle {}

    private static final class DirHandle implements Handle {
        final Node node;
        List<String> names;

        DirHandle(Node node, List<String> names) {
            this.node = node;
            this.names = names;
        }
    }

    /** A node's path on the host, checked, with the attributes read while checking it. */
    private record Located(Path path, Attr attr) {}

    private final Path root;
    /** The shared directory as an O_PATH descriptor, or -1 when {@link HostDirs} is not available. */
    private final int rootFd;
    /** Descriptors opened while walking for the request being served; closed when it is answered. */
    private final List<Integer> requestFds = new ArrayList<>();
    private final boolean readOnly;
    final int maxNodes;
    final int maxHandles;
    private final Map<Long, Node> nodes = new HashMap<>();
    private final Map<Key, Node> byKey = new HashMap<>();
    private final Map<Long, Handle> handles = new HashMap<>();
    private long nextNodeId = Fuse.ROOT_ID + 1;
    private long nextHandle = 1;
    private boolean initialized;
    private int minor;
    /** Guest errors (malformed requests) for the device to log, one kind at a time. */
    private final ProblemSink problems;

    /** Where the server reports malformed requests (the device rate-limits them). */
    interface ProblemSink {
        void guestError(String kind, String message);

        /** A bug here, not the guest's doing: answered EIO and logged with its stack trace. */
        void internalError(String kind, RuntimeException e);
    }

    /**
     * @param root the shared directory (its own path may go through symlinks; it is resolved once, here)
     */
    FsServer(Path root, boolean readOnly, int maxNodes, int maxHandles, ProblemSink problems) throws IOException {
        this.root = root.toRealPath();
        if (!Files.isDirectory(this.root)) throw new IOException(root + " is not a directory");
        int fd = -1;
        if (HostDirs.available()) {
            try {
                fd = HostDirs.openat(HostDirs.AT_FDCWD, this.root.toString(), HostDirs.O_PATH | HostDirs.O_DIRECTORY);
            } catch (FuseError e) {
                throw new IOException(this.root + ": cannot open (errno " + e.errno + ")");
            }
        }
        this.rootFd = fd;
        this.readOnly = readOnly;
        this.maxNodes = maxNodes;
        this.maxHandles = maxHandles;
        this.problems = problems;
    }

    Path root() { return root; }

    /** Whether paths are walked through directory descriptors (else by lstat of each component). */
    boolean walksDescriptors() { return rootFd >= 0; }

    /** Ends the session and releases the shared directory's descriptor; the server is not used afterwards. */
    synchronized void close() {
        reset();
        if (rootFd >= 0) HostDirs.close(rootFd);
    }

    boolean readOnly() { return readOnly; }

    synchronized int nodeCount() { return nodes.size(); }

    synchronized int handleCount() { return handles.size(); }

    /** Forgets every node and closes every handle: the session is over (DESTROY, device reset, close). */
    synchronized void reset() {
        for (Handle h : handles.values()) {
            if (h instanceof FileHandle f) closeQuietly(f.channel);
        }
        handles.clear();
        nodes.clear();
        byKey.clear();
        initialized = false;
    }

    // ---------------------------------------------------------------- the request loop

    /**
     * Serves one request: reads it from {@code x}, acts, writes the reply. Never throws for anything the guest sent.
     *
     * @return the reply's length (the used length), 0 for requests without a reply
     */
    synchronized int serve(FuseExchange x) {
        try {
            return serveRequest(x);
        } finally {
            for (int fd : requestFds) HostDirs.close(fd);
            requestFds.clear();
        }
    }

    private int serveRequest(FuseExchange x) {
        long inLength = x.inLength();
        if (inLength < Fuse.IN_HEADER) {
            // No trustworthy header: answer with whatever unique there is, so a waiting client is not left hanging.
            long unique = 0;
            if (inLength >= 16) {
                byte[] b = new byte[16];
                x.readIn(0, b, 0, 16);
                unique = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getLong(8);
            }
            problems.guestError("truncated header", "request of " + inLength + " bytes, shorter than the 40-byte header");
            return replyError(x, unique, Fuse.EINVAL);
        }
        byte[] hb = new byte[Fuse.IN_HEADER];
        x.readIn(0, hb, 0, Fuse.IN_HEADER);
        ByteBuffer h = ByteBuffer.wrap(hb).order(ByteOrder.LITTLE_ENDIAN);
        long len = Integer.toUnsignedLong(h.getInt(0));
        int opcode = h.getInt(4);
        long unique = h.getLong(8);
        long nodeid = h.getLong(16);
        if (len < Fuse.IN_HEADER || len > inLength) {
            problems.guestError("bad length", Fuse.opName(opcode) + ": header length " + len + " but " + inLength + " readable bytes");
            return noReply(opcode) ? 0 : replyError(x, unique, Fuse.EINVAL);
        }
        long argLength = len - Fuse.IN_HEADER;
        if (opcode == Fuse.FORGET || opcode == Fuse.BATCH_FORGET || opcode == Fuse.INTERRUPT) {
            forgets(x, opcode, nodeid, argLength);
            return 0;
        }
        Reply reply = new Reply(x, unique);
        try {
            int copy = (int) Math.min(argLength, opcode == Fuse.WRITE ? Fuse.WRITE_IN : MAX_ARGS);
            if (argLength > copy && opcode != Fuse.WRITE) throw new FuseError(Fuse.EINVAL, "arguments of " + argLength + " bytes");
            byte[] ab = new byte[copy];
            x.readIn(Fuse.IN_HEADER, ab, 0, copy);
            Args a = new Args(ByteBuffer.wrap(ab).order(ByteOrder.LITTLE_ENDIAN));
            if (opcode == Fuse.INIT) return init(a, reply);
            if (!initialized) throw new FuseError(Fuse.EIO, "request before INIT");
            return dispatch(opcode, nodeid, a, argLength, x, reply);
        } catch (FuseError e) {
            if (e.getMessage() != null) problems.guestError(Fuse.opName(opcode), Fuse.opName(opcode) + ": " + e.getMessage());
            return replyError(x, unique, e.errno);
        } catch (IOException e) {
            return replyError(x, unique, HostErrors.errno(e));
        } catch (InvalidPathException e) {
            return replyError(x, unique, Fuse.EINVAL);
        } catch (SecurityException | UnsupportedOperationException e) {
            return replyError(x, unique, Fuse.EPERM);
        } catch (org.vireo.memory.GuestMemoryException e) {
            throw e;   // the device's business: the chain itself is bad
        } catch (RuntimeException e) {
            problems.internalError(Fuse.opName(opcode), e);
            return replyError(x, unique, Fuse.EIO);
        }
    }

    private static boolean noReply(int opcode) {
        return opcode == Fuse.FORGET || opcode == Fuse.BATCH_FORGET || opcode == Fuse.INTERRUPT;
    }

    private int dispatch(int opcode, long nodeid, Args a, long argLength, FuseExchange x, Reply r) throws FuseError, IOException {
        return switch (opcode) {
            case Fuse.LOOKUP -> r.entry(lookup(node(nodeid), a.name(0)));
            case Fuse.GETATTR -> getattr(node(nodeid), a, r);
            case Fuse.SETATTR -> setattr(node(nodeid), a, r);
            case Fuse.READLINK -> readlink(node(nodeid), r);
            case Fuse.SYMLINK -> symlink(node(nodeid), a, r);
            case Fuse.MKNOD -> mknod(node(nodeid), a, r);
            case Fuse.MKDIR -> mkdir(node(nodeid), a, r);
            case Fuse.UNLINK -> remove(node(nodeid), a.name(0), false, r);
            case Fuse.RMDIR -> remove(node(nodeid), a.name(0), true, r);
            case Fuse.RENAME -> rename(node(nodeid), a.u64(0), 0, a, 8, r);
            case Fuse.RENAME2 -> rename(node(nodeid), a.u64(0), a.u32(8), a, 16, r);
            case Fuse.LINK -> link(node(nodeid), a, r);
            case Fuse.OPEN -> open(node(nodeid), a.u32(0), r);
            case Fuse.READ -> read(a, x, r);
            case Fuse.WRITE -> write(a, argLength, x, r);
            case Fuse.STATFS -> statfs(r);
            case Fuse.RELEASE, Fuse.RELEASEDIR -> release(a.u64(0), opcode == Fuse.RELEASEDIR, r);
            case Fuse.FSYNC, Fuse.FSYNCDIR -> fsync(a.u64(0), a.u32(8), opcode == Fuse.FSYNCDIR, r);
            case Fuse.FLUSH -> {
                file(a.u64(0));
                yield r.empty();
            }
            case Fuse.OPENDIR -> opendir(node(nodeid), r);
            case Fuse.READDIR -> readdir(a, false, r);
            case Fuse.READDIRPLUS -> readdir(a, true, r);
            case Fuse.ACCESS -> access(node(nodeid), a.u32(0), r);
            case Fuse.CREATE -> create(node(nodeid), a, r);
            case Fuse.DESTROY -> {
                reset();
                yield r.empty();
            }
            case Fuse.FALLOCATE -> fallocate(a, r);
            case Fuse.LSEEK -> lseek(a, r);
            // Extended attributes are not kept: ENOSYS makes the client stop asking (and tell programs EOPNOTSUPP).
            case Fuse.GETXATTR, Fuse.LISTXATTR, Fuse.SETXATTR, Fuse.REMOVEXATTR -> throw new FuseError(Fuse.ENOSYS);
            default -> throw new FuseError(Fuse.ENOSYS, "unknown opcode " + opcode);
        };
    }

    // ---------------------------------------------------------------- session

    private int init(Args a, Reply r) throws FuseError {
        long major = a.u32(0);
        long guestMinor = a.u32(4);
        long maxReadahead = a.u32(8);
        long flags = a.u32(12);
        if (initialized) throw new FuseError(Fuse.EINVAL, "second INIT");
        if (major < Fuse.KERNEL_VERSION || (major == Fuse.KERNEL_VERSION && guestMinor < Fuse.MIN_MINOR_VERSION)) {
            throw new FuseError(Fuse.EPROTO, "protocol " + major + "." + guestMinor + " is too old");
        }
        ByteBuffer o = r.payload(Fuse.INIT_OUT);
        o.putInt(0, Fuse.KERNEL_VERSION);
        if (major > Fuse.KERNEL_VERSION) {
            // A newer major: answer with ours only; the client decides whether to speak it.
            return r.send(8);
        }
        minor = (int) Math.min(guestMinor, Fuse.KERNEL_MINOR_VERSION);
        int offered = Fuse.INIT_ASYNC_READ | Fuse.INIT_BIG_WRITES | Fuse.INIT_AUTO_INVAL_DATA
                | Fuse.INIT_DO_READDIRPLUS | Fuse.INIT_READDIRPLUS_AUTO | Fuse.INIT_MAX_PAGES;
        o.putInt(4, minor);
        o.putInt(8, (int) Math.min(maxReadahead, MAX_IO));
        o.putInt(12, (int) (flags & offered));
        o.putShort(16, (short) 0);            // max_background: the client's default
        o.putShort(18, (short) 0);            // congestion_threshold: the client's default
        o.putInt(20, MAX_IO);                 // max_write
        o.putInt(24, 1);                      // time_gran: nanoseconds
        o.putShort(28, (short) MAX_PAGES);    // max_pages
        initialized = true;
        return r.send(Fuse.INIT_OUT);
    }

    private void forgets(FuseExchange x, int opcode, long nodeid, long argLength) {
        if (opcode == Fuse.INTERRUPT) return;   // requests run to completion one at a time: nothing to interrupt
        if (opcode == Fuse.FORGET) {
            if (argLength < 8) {
                problems.guestError("FORGET", "FORGET without its count");
                return;
            }
            forget(nodeid, readLong(x, Fuse.IN_HEADER));
            return;
        }
        if (argLength < 8) {
            problems.guestError("BATCH_FORGET", "BATCH_FORGET without its count");
            return;
        }
        long count = Integer.toUnsignedLong((int) readLong(x, Fuse.IN_HEADER));
        long present = (argLength - 8) / 16;
        if (count > present) {
            problems.guestError("BATCH_FORGET", "BATCH_FORGET of " + count + " nodes carries " + present);
            count = present;
        }
        for (long i = 0; i < count; i++) {
            long at = Fuse.IN_HEADER + 8 + i * 16;
            forget(readLong(x, at), readLong(x, at + 8));
        }
    }

    private static long readLong(FuseExchange x, long offset) {
        byte[] b = new byte[8];
        x.readIn(offset, b, 0, 8);
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
    }

    private void forget(long nodeid, long n) {
        if (nodeid == Fuse.ROOT_ID) return;
        Node node = nodes.get(nodeid);
        if (node == null) return;
        if (Long.compareUnsigned(n, node.nlookup) >= 0) {
            nodes.remove(nodeid);
            byKey.remove(node.key, node);
        } else {
            node.nlookup -= n;
        }
    }

    // ---------------------------------------------------------------- nodes and paths

    private Node rootNode() throws FuseError, IOException {
        Node r = nodes.get(Fuse.ROOT_ID);
        if (r == null) {
            Attr a = stat(root);
            r = new Node(Fuse.ROOT_ID, a.key(), "", a);
            r.nlookup = 1;
            nodes.put(Fuse.ROOT_ID, r);
            byKey.put(r.key, r);
        }
        return r;
    }

    private Node node(long nodeid) throws FuseError, IOException {
        if (nodeid == Fuse.ROOT_ID) return rootNode();
        Node n = nodes.get(nodeid);
        if (n == null) throw new FuseError(Fuse.EBADF, "unknown nodeid " + nodeid);
        return n;
    }

    /**
     * The node's host path, checked from the root down: every ancestor a directory (not a symlink), the last
     * component still the node's inode.
     */
    private Located locate(Node n) throws FuseError, IOException {
        if (n.path.isEmpty()) {
            Attr a = stat(root);
            n.last = a;
            return new Located(root, a);
        }
        Path p = walkParents(n.path);
        Attr a;
        try {
            a = stat(p);
        } catch (IOException e) {
            throw new FuseError(HostErrors.errno(e));
        }
        if (!a.key().equals(n.key)) throw new FuseError(Fuse.ENOENT);   // replaced behind our back: stale
        n.last = a;
        return new Located(p, a);
    }

    /**
     * root/rel, with every component but the last a directory and not a symlink: walked through descriptors (the
     * result is /proc/self/fd/N/last, N the parent's), or lstat'ed one by one without them.
     */
    private Path walkParents(String rel) throws FuseError, IOException {
        if (rootFd >= 0) {
            int last = rel.lastIndexOf('/');
            int parent = last < 0 ? rootFd : openDirs(rel.substring(0, last));
            return HostDirs.path(parent).resolve(rel.substring(last + 1));
        }
        Path p = root;
        int start = 0;
        while (true) {
            int slash = rel.indexOf('/', start);
            if (slash < 0) return p.resolve(rel.substring(start));
            p = p.resolve(rel.substring(start, slash));
            BasicFileAttributes b;
            try {
                b = Files.readAttributes(p, BasicFileAttributes.class, NOFOLLOW);
            } catch (IOException e) {
                throw new FuseError(HostErrors.errno(e));
            }
            if (!b.isDirectory()) throw new FuseError(Fuse.ENOTDIR);
            start = slash + 1;
        }
    }

    /** Opens every component of {@code rel} (not empty) as a directory below the root, never following a symlink. */
    private int openDirs(String rel) throws FuseError {
        int fd = rootFd;
        int start = 0;
        while (true) {
            int slash = rel.indexOf('/', start);
            String name = slash < 0 ? rel.substring(start) : rel.substring(start, slash);
            try {
                fd = HostDirs.openat(fd, name, HostDirs.O_PATH | HostDirs.O_DIRECTORY | HostDirs.O_NOFOLLOW);
            } catch (FuseError e) {
                throw new FuseError(e.errno == Fuse.ELOOP ? Fuse.ENOTDIR : e.errno);
            }
            requestFds.add(fd);
            if (slash < 0) return fd;
            start = slash + 1;
        }
    }

    /**
     * A path through which {@code p} (last component checked to be the inode {@code key}, and not a symlink) is
     * reached without following anything: /proc/self/fd/N of an O_PATH descriptor of that very inode. Without
     * descriptors, {@code p} itself.
     */
    private Path pinned(Path p, Key key) throws FuseError, IOException {
        if (rootFd < 0) return p;
        int fd = HostDirs.openat(HostDirs.AT_FDCWD, p.toString(), HostDirs.O_PATH | HostDirs.O_NOFOLLOW);
        requestFds.add(fd);
        Path pinned = HostDirs.path(fd);
        Attr a = statFollowing(pinned);
        if (!a.key().equals(key) || a.isSymlink()) throw new FuseError(Fuse.ENOENT);
        return pinned;
    }

    /** A directory node's checked host path. */
    private Located directory(Node n) throws FuseError, IOException {
        if (rootFd < 0 || n.path.isEmpty()) {
            Located l = locate(n);
            if (!l.attr.isDir()) throw new FuseError(Fuse.ENOTDIR);
            return rootFd < 0 ? l : new Located(HostDirs.path(rootFd), l.attr);
        }
        // The directory itself held open: its children are reached through /proc/self/fd/N/name.
        Path p = HostDirs.path(openDirs(n.path));
        Attr a = statFollowing(p);
        if (!a.key().equals(n.key)) throw new FuseError(Fuse.ENOENT);   // replaced behind our back: stale
        n.last = a;
        return new Located(p, a);
    }

    /** stat (following): for /proc/self/fd/N, what descriptor N refers to. */
    private static Attr statFollowing(Path p) throws FuseError {
        try {
            return statWith(p);
        } catch (IOException e) {
            throw new FuseError(HostErrors.errno(e));
        }
    }

    private static String childRel(Node parent, String name) {
        return parent.path.isEmpty() ? name : parent.path + "/" + name;
    }

    /** Counts one more guest reference to the inode at {@code rel}: the same node for the same host inode. */
    private Node intern(String rel, Attr a) throws FuseError {
        Key k = a.key();
        Node n = byKey.get(k);
        if (n == null) {
            if (nodes.size() >= maxNodes) throw new FuseError(Fuse.ENFILE, "node table full (" + maxNodes + ")");
            n = new Node(nextNodeId++, k, rel, a);
            nodes.put(n.id, n);
            byKey.put(k, n);
        } else if (n.id != Fuse.ROOT_ID) {
            n.path = rel;   // a hard link or a move by the host: the name last looked up wins
        }
        n.last = a;
        n.nlookup++;
        return n;
    }

    private Node lookup(Node parent, String name) throws FuseError, IOException {
        if (name.equals(".") || name.equals("..")) throw new FuseError(Fuse.ENOENT, "lookup of '" + name + "'");
        Located dir = directory(parent);
        Path p = dir.path.resolve(name);
        Attr a;
        try {
            a = stat(p);
        } catch (IOException e) {
            throw new FuseError(HostErrors.errno(e));
        }
        return intern(childRel(parent, name), a);
    }

    /** The host path of {@code name} in directory node {@code parent}, for creating or removing it. */
    private Path childPath(Node parent, String name) throws FuseError, IOException {
        if (name.equals(".") || name.equals("..")) throw new FuseError(Fuse.EINVAL, "'" + name + "' as a name to change");
        return directory(parent).path.resolve(name);
    }

    private void writable() throws FuseError {
        if (readOnly) throw new FuseError(Fuse.EROFS);
    }

    static Attr stat(Path p) throws IOException { return statWith(p, NOFOLLOW); }

    private static Attr statWith(Path p, LinkOption... options) throws IOException {
        Map<String, Object> m = Files.readAttributes(p, "unix:*", options);
        Instant at = ((FileTime) m.get("lastAccessTime")).toInstant();
        Instant mt = ((FileTime) m.get("lastModifiedTime")).toInstant();
        Instant ct = ((FileTime) m.get("ctime")).toInstant();
        return new Attr((Long) m.get("dev"), (Long) m.get("ino"), (Long) m.get("size"),
                at.getEpochSecond(), at.getNano(), mt.getEpochSecond(), mt.getNano(), ct.getEpochSecond(), ct.getNano(),
                (Integer) m.get("mode"), (Integer) m.get("nlink"), (Integer) m.get("uid"), (Integer) m.get("gid"),
                (int) (long) (Long) m.get("rdev"));
    }

    // ---------------------------------------------------------------- attributes

    private int getattr(Node n, Args a, Reply r) throws FuseError, IOException {
        long flags = a.u32(0);
        try {
            return r.attr(locate(n).attr);
        } catch (FuseError e) {
            // An open file whose name is gone (unlinked or renamed on the host) still has attributes.
            if ((flags & Fuse.GETATTR_FH) != 0 && handles.get(a.u64(8)) instanceof FileHandle f && f.node == n && n.last != null) {
                Attr l = n.last;
                return r.attr(new Attr(l.dev, l.ino, f.channel.size(), l.atime, l.atimeNs, l.mtime, l.mtimeNs, l.ctime,
                        l.ctimeNs, l.mode, 0, l.uid, l.gid, l.rdev));
            }
            throw e;
        }
    }

    private int setattr(Node n, Args a, Reply r) throws FuseError, IOException {
        long valid = a.u32(0);
        long fh = a.u64(8);
        long size = a.u64(16);
        long atime = a.u64(32);
        long mtime = a.u64(40);
        long atimeNs = a.u32(56);
        long mtimeNs = a.u32(60);
        int mode = (int) a.u32(68);
        int uid = (int) a.u32(76);
        int gid = (int) a.u32(80);
        long changes = valid & (Fuse.FATTR_MODE | Fuse.FATTR_UID | Fuse.FATTR_GID | Fuse.FATTR_SIZE | Fuse.FATTR_ATIME
                | Fuse.FATTR_MTIME | Fuse.FATTR_ATIME_NOW | Fuse.FATTR_MTIME_NOW | Fuse.FATTR_KILL_SUIDGID);
        if (changes != 0) writable();
        Located l = locate(n);
        Path p = l.path;
        if ((valid & Fuse.FATTR_MODE) != 0) {
            chmod(p, l.attr, mode);
        } else if ((valid & Fuse.FATTR_KILL_SUIDGID) != 0 && l.attr.isRegular() && (l.attr.mode & 06000) != 0) {
            chmod(p, l.attr, l.attr.mode & 01777);
        }
        if ((valid & Fuse.FATTR_UID) != 0) Files.setAttribute(p, "unix:uid", uid, NOFOLLOW);
        if ((valid & Fuse.FATTR_GID) != 0) Files.setAttribute(p, "unix:gid", gid, NOFOLLOW);
        if ((valid & Fuse.FATTR_SIZE) != 0) {
            if (l.attr.isDir()) throw new FuseError(Fuse.EISDIR);
            if (!l.attr.isRegular()) throw new FuseError(Fuse.EINVAL);
            if (size < 0) throw new FuseError(Fuse.EINVAL, "size " + Long.toUnsignedString(size));
            if ((valid & Fuse.FATTR_FH) != 0 && handles.get(fh) instanceof FileHandle f && f.writable && f.node == n) {
                resize(f.channel, size);
            } else {
                try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
                    resize(ch, size);
                }
            }
        }
        boolean setA = (valid & (Fuse.FATTR_ATIME | Fuse.FATTR_ATIME_NOW)) != 0;
        boolean setM = (valid & (Fuse.FATTR_MTIME | Fuse.FATTR_MTIME_NOW)) != 0;
        if (setA || setM) {
            FileTime now = FileTime.from(Instant.now());
            FileTime at = !setA ? null : (valid & Fuse.FATTR_ATIME_NOW) != 0 ? now : time(atime, atimeNs);
            FileTime mt = !setM ? null : (valid & Fuse.FATTR_MTIME_NOW) != 0 ? now : time(mtime, mtimeNs);
            Files.getFileAttributeView(p, BasicFileAttributeView.class, NOFOLLOW).setTimes(mt, at, null);
        }
        return r.attr(locate(n).attr);
    }

    /**
     * chmod(2) of a path whose last component was just seen not to be a symlink. (java.nio.file's NOFOLLOW_LINKS
     * variant opens the file to fchmod it: that would block on a fifo and open a host device node.)
     */
    private void chmod(Path p, Attr a, int mode) throws FuseError, IOException {
        if (a.isSymlink()) throw new FuseError(Fuse.EOPNOTSUPP);
        Files.setAttribute(pinned(p, a.key()), "unix:mode", mode & 07777);
    }

    private static FileTime time(long seconds, long nanos) throws FuseError {
        if (nanos >= 1_000_000_000L) throw new FuseError(Fuse.EINVAL, "nanoseconds " + nanos);
        try {
            return FileTime.from(Instant.ofEpochSecond(seconds, nanos));
        } catch (java.time.DateTimeException | ArithmeticException e) {
            throw new FuseError(Fuse.EINVAL, "time " + seconds);
        }
    }

    /** ftruncate: FileChannel.truncate only shrinks, so growing writes the new last byte (a hole before it). */
    private static void resize(FileChannel ch, long size) throws IOException {
        long current = ch.size();
        if (size < current) {
            ch.truncate(size);
        } else if (size > current) {
            ch.write(ByteBuffer.allocate(1), size - 1);
        }
    }

    private int access(Node n, long mask, Reply r) throws FuseError, IOException {
        Located l = locate(n);
        if (mask == 0 || l.attr.isSymlink()) return r.empty();
        if ((mask & Fuse.W_OK) != 0 && readOnly) throw new FuseError(Fuse.EROFS);
        Path p = pinned(l.path, l.attr.key());
        boolean ok = ((mask & Fuse.R_OK) == 0 || Files.isReadable(p))
                && ((mask & Fuse.W_OK) == 0 || Files.isWritable(p))
                && ((mask & Fuse.X_OK) == 0 || Files.isExecutable(p));
        if (!ok) throw new FuseError(Fuse.EACCES);
        return r.empty();
    }

    private int statfs(Reply r) throws FuseError, IOException {
        FileStore s = Files.getFileStore(root);
        long bsize = Math.max(512, s.getBlockSize());
        ByteBuffer o = r.payload(Fuse.STATFS_OUT);
        o.putLong(0, s.getTotalSpace() / bsize);
        o.putLong(8, s.getUnallocatedSpace() / bsize);
        o.putLong(16, s.getUsableSpace() / bsize);
        o.putLong(24, 0);   // files and free files: not known through java.nio.file
        o.putLong(32, 0);
        o.putInt(40, (int) bsize);
        o.putInt(44, NAME_MAX);
        o.putInt(48, (int) bsize);
        return r.send(Fuse.STATFS_OUT);
    }

    // ---------------------------------------------------------------- names

    private int readlink(Node n, Reply r) throws FuseError, IOException {
        Located l = locate(n);
        if (!l.attr.isSymlink()) throw new FuseError(Fuse.EINVAL);
        byte[] target = Files.readSymbolicLink(l.path).toString().getBytes(StandardCharsets.UTF_8);
        return r.bytes(target, target.length);
    }

    private int symlink(Node parent, Args a, Reply r) throws FuseError, IOException {
        String name = a.name(0);
        String target = a.string(a.after(0), PATH_MAX);
        writable();
        if (target.isEmpty()) throw new FuseError(Fuse.ENOENT);
        Path p = childPath(parent, name);
        // The target is stored as the guest wrote it and never followed on the host.
        Files.createSymbolicLink(p, p.getFileSystem().getPath(target));
        return r.entry(lookup(parent, name));
    }

    private int mknod(Node parent, Args a, Reply r) throws FuseError, IOException {
        int mode = (int) a.u32(0);
        String name = a.name(16);
        writable();
        Path p = childPath(parent, name);
        int type = mode & Fuse.S_IFMT;
        if (type == 0 || type == Fuse.S_IFREG) {
            Files.newByteChannel(p, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS).close();
        } else if (type == Fuse.S_IFIFO) {
            if (Files.exists(p, NOFOLLOW)) throw new FuseError(Fuse.EEXIST);
            Fifos.mkfifo(p, 0600);
        } else {
            throw new FuseError(Fuse.EPERM);   // device nodes and sockets are not made on the host
        }
        chmod(p, stat(p), mode);
        return r.entry(lookup(parent, name));
    }

    private int mkdir(Node parent, Args a, Reply r) throws FuseError, IOException {
        int mode = (int) a.u32(0);
        String name = a.name(8);
        writable();
        Path p = childPath(parent, name);
        Files.createDirectory(p);
        chmod(p, stat(p), mode);
        return r.entry(lookup(parent, name));
    }

    private int remove(Node parent, String name, boolean dir, Reply r) throws FuseError, IOException {
        writable();
        Path p = childPath(parent, name);
        Attr a;
        try {
            a = stat(p);
        } catch (IOException e) {
            throw new FuseError(HostErrors.errno(e));
        }
        if (dir && !a.isDir()) throw new FuseError(Fuse.ENOTDIR);
        if (!dir && a.isDir()) throw new FuseError(Fuse.EISDIR);
        Files.delete(p);
        return r.empty();
    }

    private int rename(Node parent, long newDir, long flags, Args a, int namesAt, Reply r) throws FuseError, IOException {
        String from = a.name(namesAt);
        String to = a.name(a.after(namesAt));
        if ((flags & ~Fuse.RENAME_NOREPLACE) != 0) throw new FuseError(Fuse.EINVAL);   // EXCHANGE, WHITEOUT
        writable();
        Node target = node(newDir);
        Path src = childPath(parent, from);
        Path dst = childPath(target, to);
        Attr moved;
        try {
            moved = stat(src);
        } catch (IOException e) {
            throw new FuseError(HostErrors.errno(e));
        }
        if ((flags & Fuse.RENAME_NOREPLACE) != 0 && Files.exists(dst, NOFOLLOW)) throw new FuseError(Fuse.EEXIST);
        // rename(2) itself: replaces the target as POSIX says, never follows a symlink at either end.
        Files.move(src, dst, StandardCopyOption.ATOMIC_MOVE);
        String oldRel = childRel(parent, from);
        String newRel = childRel(target, to);
        Node m = byKey.get(moved.key());
        if (moved.isDir()) {
            String prefix = oldRel + "/";
            for (Node n : nodes.values()) {
                if (n.path.startsWith(prefix)) n.path = newRel + n.path.substring(oldRel.length());
            }
        }
        if (m != null && m.id != Fuse.ROOT_ID) m.path = newRel;
        return r.empty();
    }

    private int link(Node parent, Args a, Reply r) throws FuseError, IOException {
        long oldId = a.u64(0);
        String name = a.name(8);
        writable();
        Node old = node(oldId);
        Located l = locate(old);
        if (l.attr.isDir()) throw new FuseError(Fuse.EPERM);
        Path p = childPath(parent, name);
        Files.createLink(p, l.path);
        return r.entry(lookup(parent, name));
    }

    // ---------------------------------------------------------------- files

    private long addHandle(Handle h) throws FuseError {
        if (handles.size() >= maxHandles) throw new FuseError(Fuse.ENFILE, "handle table full (" + maxHandles + ")");
        long fh = nextHandle++;
        handles.put(fh, h);
        return fh;
    }

    private FileHandle file(long fh) throws FuseError {
        if (handles.get(fh) instanceof FileHandle f) return f;
        throw new FuseError(Fuse.EBADF, "unknown file handle " + fh);
    }

    private static Set<OpenOption> openOptions(long flags) throws FuseError {
        Set<OpenOption> o = new HashSet<>();
        o.add(LinkOption.NOFOLLOW_LINKS);
        switch ((int) (flags & Fuse.O_ACCMODE)) {
            case 0 -> o.add(StandardOpenOption.READ);
            case 1 -> o.add(StandardOpenOption.WRITE);
            case 2 -> {
                o.add(StandardOpenOption.READ);
                o.add(StandardOpenOption.WRITE);
            }
            default -> throw new FuseError(Fuse.EINVAL, "access mode 3");
        }
        if ((flags & Fuse.O_TRUNC) != 0 && o.contains(StandardOpenOption.WRITE)) o.add(StandardOpenOption.TRUNCATE_EXISTING);
        return o;
    }

    private static boolean writes(long flags) {
        return (flags & Fuse.O_ACCMODE) != Fuse.O_RDONLY || (flags & Fuse.O_TRUNC) != 0;
    }

    private void checkOpenable(Attr a) throws FuseError {
        if (a.isDir()) throw new FuseError(Fuse.EISDIR);
        if (a.isSymlink()) throw new FuseError(Fuse.ELOOP);
        if (!a.isRegular()) throw new FuseError(Fuse.EACCES);   // host fifos, sockets and devices are never opened
    }

    private int open(Node n, long flags, Reply r) throws FuseError, IOException {
        if (writes(flags)) writable();
        if (handles.size() >= maxHandles) throw new FuseError(Fuse.ENFILE, "handle table full (" + maxHandles + ")");
        Located l = locate(n);
        checkOpenable(l.attr);
        Set<OpenOption> options = openOptions(flags);
        FileChannel ch = FileChannel.open(l.path, options);
        long fh = addHandle(new FileHandle(n, ch, options.contains(StandardOpenOption.WRITE)));
        return r.open(fh);
    }

    private int create(Node parent, Args a, Reply r) throws FuseError, IOException {
        long flags = a.u32(0);
        int mode = (int) a.u32(4);
        String name = a.name(16);
        writable();
        if (handles.size() >= maxHandles) throw new FuseError(Fuse.ENFILE, "handle table full (" + maxHandles + ")");
        Path p = childPath(parent, name);
        Set<OpenOption> options = openOptions(flags);
        boolean write = options.contains(StandardOpenOption.WRITE);
        FileChannel ch;
        try {
            // A new file is opened read-write whatever the mode says (as open(2) with O_CREAT may), then given its mode.
            ch = FileChannel.open(p, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ, StandardOpenOption.WRITE,
                    LinkOption.NOFOLLOW_LINKS);
            try {
                chmod(p, stat(p), mode);
            } catch (IOException | FuseError e) {
                closeQuietly(ch);
                throw e;
            }
        } catch (java.nio.file.FileAlreadyExistsException e) {
            if ((flags & Fuse.O_EXCL) != 0) throw e;
            Attr existing;
            try {
                existing = stat(p);
            } catch (IOException gone) {
                throw new FuseError(HostErrors.errno(gone));
            }
            checkOpenable(existing);
            ch = FileChannel.open(p, options);
        }
        Node n;
        try {
            n = lookup(parent, name);
        } catch (FuseError | IOException e) {
            closeQuietly(ch);
            throw e;
        }
        long fh = addHandle(new FileHandle(n, ch, write));
        return r.create(n, fh);
    }

    private int read(Args a, FuseExchange x, Reply r) throws FuseError, IOException {
        FileHandle f = file(a.u64(0));
        long offset = a.u64(8);
        long size = a.u32(16);
        if (offset < 0) throw new FuseError(Fuse.EINVAL, "read offset " + Long.toUnsignedString(offset));
        long room = x.outLength() - Fuse.OUT_HEADER;
        if (room < 0) throw new FuseError(Fuse.EINVAL, "no room for a reply");
        int want = (int) Math.min(Math.min(size, MAX_IO), room);
        long done = 0;
        if (want > 0 && offset <= Long.MAX_VALUE - want) {
            for (ByteBuffer b : x.outBuffers(Fuse.OUT_HEADER, want)) {
                while (b.hasRemaining()) {
                    int n = f.channel.read(b, offset + done);
                    if (n <= 0) break;
                    done += n;
                }
                if (b.hasRemaining()) break;   // end of file
            }
        }
        return r.sendRaw((int) done);
    }

    private int write(Args a, long argLength, FuseExchange x, Reply r) throws FuseError, IOException {
        if (argLength < Fuse.WRITE_IN) throw new FuseError(Fuse.EINVAL, "WRITE without its arguments");
        writable();
        FileHandle f = file(a.u64(0));
        long offset = a.u64(8);
        long size = a.u32(16);
        if (size > argLength - Fuse.WRITE_IN) throw new FuseError(Fuse.EINVAL, "WRITE of " + size + " bytes carries " + (argLength - Fuse.WRITE_IN));
        if (size > MAX_IO) throw new FuseError(Fuse.EINVAL, "WRITE of " + size + " bytes (max_write " + MAX_IO + ")");
        if (offset < 0 || offset > Long.MAX_VALUE - size) throw new FuseError(Fuse.EFBIG);
        if (!f.writable) throw new FuseError(Fuse.EBADF);
        long done = 0;
        if (size > 0) {
            for (ByteBuffer b : x.inBuffers(Fuse.IN_HEADER + Fuse.WRITE_IN, size)) {
                while (b.hasRemaining()) done += f.channel.write(b, offset + done);
            }
        }
        ByteBuffer o = r.payload(Fuse.WRITE_OUT);
        o.putInt(0, (int) done);
        return r.send(Fuse.WRITE_OUT);
    }

    private int release(long fh, boolean dir, Reply r) throws FuseError {
        Handle h = handles.get(fh);
        if (h != null && (h instanceof DirHandle) == dir) {
            handles.remove(fh);
            if (h instanceof FileHandle f) closeQuietly(f.channel);
        }
        return r.empty();
    }

    private int fsync(long fh, long flags, boolean dir, Reply r) throws FuseError, IOException {
        Handle h = handles.get(fh);
        if (h == null || (h instanceof DirHandle) != dir) throw new FuseError(Fuse.EBADF, "unknown handle " + fh);
        if (h instanceof FileHandle f) f.channel.force((flags & Fuse.FSYNC_FDATASYNC) == 0);
        return r.empty();
    }

    private int fallocate(Args a, Reply r) throws FuseError, IOException {
        FileHandle f = file(a.u64(0));
        long offset = a.u64(8);
        long length = a.u64(16);
        long mode = a.u32(24);
        writable();
        if (!f.writable) throw new FuseError(Fuse.EBADF);
        if (offset < 0 || length <= 0 || offset > Long.MAX_VALUE - length) throw new FuseError(Fuse.EINVAL);
        if (mode == Fuse.FALLOC_FL_KEEP_SIZE) return r.empty();   // nothing to reserve without fallocate(2)
        if (mode != 0) throw new FuseError(Fuse.EOPNOTSUPP);
        if (offset + length > f.channel.size()) resize(f.channel, offset + length);
        return r.empty();
    }

    private int lseek(Args a, Reply r) throws FuseError, IOException {
        FileHandle f = file(a.u64(0));
        long offset = a.u64(8);
        long whence = a.u32(16);
        long size = f.channel.size();
        if (whence != Fuse.SEEK_DATA && whence != Fuse.SEEK_HOLE) throw new FuseError(Fuse.EINVAL);
        if (offset < 0 || offset >= size) throw new FuseError(Fuse.ENXIO);
        ByteBuffer o = r.payload(Fuse.LSEEK_OUT);
        o.putLong(0, whence == Fuse.SEEK_DATA ? offset : size);   // no hole information: all data, the hole at the end
        return r.send(Fuse.LSEEK_OUT);
    }

    // ---------------------------------------------------------------- directories

    private int opendir(Node n, Reply r) throws FuseError, IOException {
        if (handles.size() >= maxHandles) throw new FuseError(Fuse.ENFILE, "handle table full (" + maxHandles + ")");
        Located l = directory(n);
        long fh = addHandle(new DirHandle(n, list(l.path)));
        return r.open(fh);
    }

    private List<String> list(Path dir) throws IOException {
        List<String> names = new ArrayList<>();
        names.add(".");
        names.add("..");
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
            for (Path p : s) {
                if (names.size() >= MAX_DIR_ENTRIES) {
                    problems.guestError("large directory", "listing of " + dir + " cut at " + MAX_DIR_ENTRIES + " entries");
                    break;
                }
                names.add(p.getFileName().toString());
            }
        }
        return names;
    }

    private int readdir(Args a, boolean plus, Reply r) throws FuseError, IOException {
        long fh = a.u64(0);
        long offset = a.u64(8);
        long size = a.u32(16);
        if (!(handles.get(fh) instanceof DirHandle d)) throw new FuseError(Fuse.EBADF, "unknown directory handle " + fh);
        Located dir = directory(d.node);
        if (offset == 0) d.names = list(dir.path);   // rewinddir sees the directory as it is now
        int room = (int) Math.min(Math.min(size, MAX_IO), Math.max(0, r.x.outLength() - Fuse.OUT_HEADER));
        ByteBuffer out = ByteBuffer.allocate(room).order(ByteOrder.LITTLE_ENDIAN);
        for (long i = offset; i >= 0 && i < d.names.size(); i++) {
            String name = d.names.get((int) i);
            byte[] nb = name.getBytes(StandardCharsets.UTF_8);
            int direntSize = align8(Fuse.DIRENT + nb.length);
            int need = (plus ? Fuse.ENTRY_OUT : 0) + direntSize;
            if (need > out.remaining()) break;
            Attr attr;
            Node child = null;
            if (name.equals(".")) {
                attr = dir.attr;
            } else if (name.equals("..")) {
                attr = d.node.path.isEmpty() ? dir.attr : stat(dir.path.resolve(".."));
            } else {
                try {
                    attr = stat(dir.path.resolve(name));
                } catch (IOException e) {
                    continue;   // gone since the listing
                }
                if (plus) {
                    try {
                        child = intern(childRel(d.node, name), attr);
                    } catch (FuseError full) {
                        if (out.position() == 0) throw full;
                        break;   // the node table is full: what fits is answered, the rest on the next call
                    }
                }
            }
            int at = out.position();
            if (plus) {
                putEntry(out, at, child, attr);
                at += Fuse.ENTRY_OUT;
            }
            out.putLong(at, attr.ino);
            out.putLong(at + 8, i + 1);
            out.putInt(at + 16, nb.length);
            out.putInt(at + 20, attr.type() >>> 12);
            out.put(at + Fuse.DIRENT, nb);
            out.position(at + direntSize);
        }
        return r.bytes(out.array(), out.position());
    }

    private static int align8(int n) { return (n + 7) & ~7; }

    // ---------------------------------------------------------------- replies

    private int replyError(FuseExchange x, long unique, int errno) {
        if (x.outLength() < Fuse.OUT_HEADER) return 0;
        byte[] b = new byte[Fuse.OUT_HEADER];
        ByteBuffer o = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        o.putInt(0, Fuse.OUT_HEADER);
        o.putInt(4, -errno);
        o.putLong(8, unique);
        return x.writeOut(0, b, 0, b.length);
    }

    /** fuse_entry_out at {@code at}: nodeid 0 (with the attributes) when the entry is not counted as a lookup. */
    private static void putEntry(ByteBuffer o, int at, Node n, Attr a) {
        o.putLong(at, n == null ? 0 : n.id);
        o.putLong(at + 8, 0);                 // generation: nodeids are never reused while the device lives
        o.putLong(at + 16, VALID_SECONDS);    // entry_valid
        o.putLong(at + 24, VALID_SECONDS);    // attr_valid
        o.putInt(at + 32, 0);
        o.putInt(at + 36, 0);
        putAttr(o, at + 40, a);
    }

    private static void putAttr(ByteBuffer o, int at, Attr a) {
        o.putLong(at, a.ino);
        o.putLong(at + 8, a.size);
        o.putLong(at + 16, (a.size + 511) / 512);   // blocks: not in java.nio.file; the size in 512-byte units
        o.putLong(at + 24, a.atime);
        o.putLong(at + 32, a.mtime);
        o.putLong(at + 40, a.ctime);
        o.putInt(at + 48, a.atimeNs);
        o.putInt(at + 52, a.mtimeNs);
        o.putInt(at + 56, a.ctimeNs);
        o.putInt(at + 60, a.mode);
        o.putInt(at + 64, a.nlink);
        o.putInt(at + 68, a.uid);
        o.putInt(at + 72, a.gid);
        o.putInt(at + 76, a.rdev);
        o.putInt(at + 80, 4096);              // blksize
        o.putInt(at + 84, 0);                 // flags
    }

    /** One reply: a payload after the 16-byte header, written only if the driver gave room for it. */
    private final class Reply {
        final FuseExchange x;
        final long unique;
        private ByteBuffer payload;

        Reply(FuseExchange x, long unique) {
            this.x = x;
            this.unique = unique;
        }

        ByteBuffer payload(int size) {
            payload = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
            return payload;
        }

        int send(int size) throws FuseError {
            return bytes(payload.array(), size);
        }

        int bytes(byte[] b, int size) throws FuseError {
            if (Fuse.OUT_HEADER + (long) size > x.outLength()) {
                throw new FuseError(Fuse.ERANGE, "reply of " + size + " bytes, room for " + (x.outLength() - Fuse.OUT_HEADER));
            }
            if (size > 0) x.writeOut(Fuse.OUT_HEADER, b, 0, size);
            return sendRaw(size);
        }

        /** The header for a payload already in place. */
        int sendRaw(int size) {
            byte[] h = new byte[Fuse.OUT_HEADER];
            ByteBuffer o = ByteBuffer.wrap(h).order(ByteOrder.LITTLE_ENDIAN);
            o.putInt(0, Fuse.OUT_HEADER + size);
            o.putInt(4, 0);
            o.putLong(8, unique);
            x.writeOut(0, h, 0, h.length);
            return Fuse.OUT_HEADER + size;
        }

        int empty() throws FuseError { return bytes(new byte[0], 0); }

        int entry(Node n) throws FuseError {
            ByteBuffer o = payload(Fuse.ENTRY_OUT);
            putEntry(o, 0, n, n.last);
            return send(Fuse.ENTRY_OUT);
        }

        int attr(Attr a) throws FuseError {
            ByteBuffer o = payload(Fuse.ATTR_OUT);
            o.putLong(0, VALID_SECONDS);
            putAttr(o, 16, a);
            return send(Fuse.ATTR_OUT);
        }

        int open(long fh) throws FuseError {
            ByteBuffer o = payload(Fuse.OPEN_OUT);
            o.putLong(0, fh);
            return send(Fuse.OPEN_OUT);
        }

        int create(Node n, long fh) throws FuseError {
            ByteBuffer o = payload(Fuse.ENTRY_OUT + Fuse.OPEN_OUT);
            putEntry(o, 0, n, n.last);
            o.putLong(Fuse.ENTRY_OUT, fh);
            return send(Fuse.ENTRY_OUT + Fuse.OPEN_OUT);
        }
    }

    // ---------------------------------------------------------------- argument parsing

    /** The argument block, with every read checked against its length. */
    private static final class Args {
        private final ByteBuffer b;

        Args(ByteBuffer b) { this.b = b; }

        private void need(int offset, int size) throws FuseError {
            if (offset < 0 || offset + size > b.capacity()) throw new FuseError(Fuse.EINVAL, "arguments end at " + b.capacity() + " bytes, need " + (offset + size));
        }

        long u32(int offset) throws FuseError {
            need(offset, 4);
            return Integer.toUnsignedLong(b.getInt(offset));
        }

        long u64(int offset) throws FuseError {
            need(offset, 8);
            return b.getLong(offset);
        }

        /** The offset just after the NUL-terminated string at {@code offset}. */
        int after(int offset) throws FuseError {
            return offset + length(offset) + 1;
        }

        private int length(int offset) throws FuseError {
            need(offset, 0);
            for (int i = offset; i < b.capacity(); i++) {
                if (b.get(i) == 0) return i - offset;
            }
            throw new FuseError(Fuse.EINVAL, "string without its terminating NUL");
        }

        String string(int offset, int max) throws FuseError {
            int n = length(offset);
            if (n > max) throw new FuseError(Fuse.ENAMETOOLONG);
            try {
                CharBuffer c = StandardCharsets.UTF_8.newDecoder()
                        .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT)
                        .decode(b.slice(offset, n));
                return c.toString();
            } catch (CharacterCodingException e) {
                throw new FuseError(Fuse.EINVAL, "name is not UTF-8");
            }
        }

        /** A directory entry name: no '/', not empty; '.' and '..' are left to the caller. */
        String name(int offset) throws FuseError {
            String s = string(offset, NAME_MAX);
            if (s.isEmpty()) throw new FuseError(Fuse.ENOENT);
            if (s.indexOf('/') >= 0) throw new FuseError(Fuse.EINVAL, "name with '/'");
            return s;
        }
    }

    private static void closeQuietly(FileChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // closing a host file the guest is done with: nothing to tell anyone
        }
    }
}
