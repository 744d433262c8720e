package org.vireo.x86.boot;

import java.util.List;

/**
 * The CPU state a loaded kernel expects at its first instruction, plus where things were put (for messages and
 * tests). The machine applies it to its CPU: general registers, RFLAGS, control registers, EFER, GDTR and the
 * segment registers (CS from {@link #code()}, DS/ES/SS/FS/GS from {@link #data()}). Interrupts are disabled.
 *
 * @param mode         which entry convention
 * @param rip          entry point: load address + 0x200 ({@code startup_64}) or the PVH entry
 * @param rsp          a usable stack pointer (neither entry relies on it)
 * @param rsi          64-bit boot protocol: the zero page (struct boot_params); 0 for PVH
 * @param rbx          PVH: the hvm_start_info; 0 for the 64-bit protocol
 * @param code         CS as a loaded descriptor cache
 * @param data         DS, ES, SS, FS and GS
 * @param memoryMap    the e820 / PVH memory map handed to the kernel
 * @param kernelStart  guest-physical start of the loaded kernel
 * @param kernelEnd    end of the memory the kernel needs there (init_size for a bzImage, the highest segment for ELF)
 * @param initrdStart  where the initrd was put (0 without one)
 * @param initrdSize   its length
 * @param description  one line for the console: what was loaded where
 */
public record BootPlan(EntryMode mode, long rip, long rsp, long rsi, long rbx, long rflags,
                       long cr0, long cr3, long cr4, long efer, long gdtBase, int gdtLimit,
                       SegmentSetup code, SegmentSetup data, List<E820Entry> memoryMap,
                       long kernelStart, long kernelEnd, long initrdStart, long initrdSize, String description) {

    public BootPlan {
        memoryMap = List.copyOf(memoryMap);
    }

    /** The same plan with another description. */
    public BootPlan withDescription(String text) {
        return new BootPlan(mode, rip, rsp, rsi, rbx, rflags, cr0, cr3, cr4, efer, gdtBase, gdtLimit, code, data, memoryMap,
                kernelStart, kernelEnd, initrdStart, initrdSize, text);
    }

    public enum EntryMode {
        /** 64-bit boot protocol: long mode, identity-mapped paging, RSI = boot_params. */
        LONG_64,
        /** PVH: 32-bit protected mode, paging off, EBX = hvm_start_info. */
        PROTECTED_32
    }

    /**
     * A segment register's selector and descriptor cache. {@code attributes} uses the VMX/KVM layout: descriptor
     * bits 40-47 (type, S, DPL, P) in bits 0-7 and bits 52-55 (AVL, L, D/B, G) in bits 12-15; {@code limit} is in
     * bytes (already scaled by G).
     */
    public record SegmentSetup(int selector, long base, int limit, int attributes) {
        /** The cache a CPU would load from the 8-byte descriptor {@code descriptor} for {@code selector}. */
        public static SegmentSetup fromDescriptor(int selector, long descriptor) {
            long base = (descriptor >>> 16 & 0xff_ffffL) | (descriptor >>> 56 & 0xff) << 24;
            int rawLimit = (int) (descriptor & 0xffff) | (int) (descriptor >>> 48 & 0xf) << 16;
            int attributes = (int) (descriptor >>> 40 & 0xff) | (int) (descriptor >>> 52 & 0xf) << 12;
            int limit = (attributes & 0x8000) != 0 ? rawLimit << 12 | 0xfff : rawLimit;
            return new SegmentSetup(selector, base, limit, attributes);
        }
    }
}
