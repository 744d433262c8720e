/**
 * An x86-64 CPU emulator: {@link org.vireo.x86.cpu.X86Cpu} runs guest code from a
 * {@link org.vireo.memory.GuestMemory}, with port and memory-mapped I/O on {@link org.vireo.bus.IoBus}es and
 * external interrupts from an {@link org.vireo.x86.cpu.InterruptSource}. Everything not public here is the
 * implementation (package-private so generated code can later be defined as hidden classes in this package).
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.2.0")
package org.vireo.x86.cpu;
