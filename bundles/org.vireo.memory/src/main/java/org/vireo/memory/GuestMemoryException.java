package org.vireo.memory;

/** A guest-physical access that falls outside guest RAM. Guest-controlled, so devices turn it into an error status. */
public final class GuestMemoryException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final long address;
    private final long length;

    public GuestMemoryException(long address, long length) {
        super(String.format("guest access [0x%x, +0x%x) is outside guest memory", address, length));
        this.address = address;
        this.length = length;
    }

    public long address() { return address; }

    public long length() { return length; }
}
