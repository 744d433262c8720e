package org.vireo.difftest;

import java.util.ArrayList;
import java.util.List;

/** Pieces of guest-physical memory to load identically into both CPUs' RAM before they start. */
public final class GuestImage {
    public record Chunk(long address, byte[] data, String what) { }

    private final List<Chunk> chunks = new ArrayList<>();

    public GuestImage add(long address, byte[] data, String what) {
        chunks.add(new Chunk(address, data.clone(), what));
        return this;
    }

    public List<Chunk> chunks() { return List.copyOf(chunks); }
}
