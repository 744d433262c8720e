package org.vireo.virtio.fs;

import java.nio.file.AccessDeniedException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.NotLinkException;
import java.io.IOException;

/**
 * The errno behind a host {@link IOException}. java.nio.file turns errno into exception types for a few values and
 * into the C library's message (strerror) for the rest; both are mapped back here. Anything unknown is EIO.
 */
final class HostErrors {
    private HostErrors() {}

    static int errno(IOException e) {
        if (e instanceof NoSuchFileException) return Fuse.ENOENT;
        if (e instanceof FileAlreadyExistsException) return Fuse.EEXIST;
        if (e instanceof DirectoryNotEmptyException) return Fuse.ENOTEMPTY;
        if (e instanceof AccessDeniedException) return Fuse.EACCES;
        if (e instanceof NotDirectoryException) return Fuse.ENOTDIR;
        if (e instanceof NotLinkException) return Fuse.EINVAL;
        if (e instanceof AtomicMoveNotSupportedException) return Fuse.EXDEV;
        String reason = e instanceof FileSystemException f ? f.getReason() : e.getMessage();
        if (reason == null) return Fuse.EIO;
        if (reason.startsWith("Operation not permitted")) return Fuse.EPERM;
        if (reason.startsWith("No such file or directory")) return Fuse.ENOENT;
        if (reason.startsWith("Permission denied")) return Fuse.EACCES;
        if (reason.startsWith("File exists")) return Fuse.EEXIST;
        if (reason.startsWith("Not a directory")) return Fuse.ENOTDIR;
        if (reason.startsWith("Is a directory")) return Fuse.EISDIR;
        if (reason.startsWith("Invalid argument")) return Fuse.EINVAL;
        if (reason.startsWith("No space left on device")) return Fuse.ENOSPC;
        if (reason.startsWith("Read-only file system")) return Fuse.EROFS;
        if (reason.startsWith("Too many links")) return Fuse.EMLINK;
        if (reason.startsWith("File name too long")) return Fuse.ENAMETOOLONG;
        if (reason.startsWith("Directory not empty")) return Fuse.ENOTEMPTY;
        if (reason.startsWith("Too many levels of symbolic links")) return Fuse.ELOOP;
        if (reason.startsWith("Invalid cross-device link")) return Fuse.EXDEV;
        if (reason.startsWith("File too large")) return Fuse.EFBIG;
        if (reason.startsWith("Disk quota exceeded")) return Fuse.EDQUOT;
        if (reason.startsWith("Device or resource busy")) return Fuse.EBUSY;
        if (reason.startsWith("Text file busy")) return Fuse.ETXTBSY;
        if (reason.startsWith("Operation not supported")) return Fuse.EOPNOTSUPP;
        if (reason.startsWith("No such device or address")) return Fuse.ENXIO;
        if (reason.startsWith("Too many open files")) return Fuse.ENFILE;
        return Fuse.EIO;
    }
}
