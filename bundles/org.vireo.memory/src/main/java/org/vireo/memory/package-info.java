/** Guest physical memory: regions backed by {@link java.lang.foreign.MemorySegment}, bounds-checked access. */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.1.0")
package org.vireo.memory;
