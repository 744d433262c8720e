package org.vireo.kvm;

import org.vireo.memory.GuestMemory;

/**
 * Where every test guest keeps its pieces in guest RAM, whichever accelerator runs it: code at {@link #CODE}, the
 * stack below {@link #STACK_TOP}, a GDT at {@link #GDT}, identity page tables from {@link #PML4}, and the helpers
 * that write the GDT, the page tables and IDT gates.
 */
final class GuestLayout {
    static final long CODE = 0x1000;
    static final long STACK_TOP = 0x8000;
    static final long GDT = 0x500;
    static final long PML4 = 0x10000;

    /** Selectors of {@link #writeGdt}: flat 32-bit code, flat data, 64-bit code. */
    static final int CODE32_SELECTOR = 0x08, DATA_SELECTOR = 0x10, CODE64_SELECTOR = 0x18;
    /** GDTR limits for 32-bit protected mode (three entries) and long mode (four). */
    static final int GDT_LIMIT_32 = 3 * 8 - 1, GDT_LIMIT_64 = 4 * 8 - 1;

    private GuestLayout() {}

    /** GDT: null, flat 32-bit code (0x08), flat data (0x10), 64-bit code (0x18). */
    static void writeGdt(GuestMemory memory) {
        memory.writeLong(GDT, 0);
        memory.writeLong(GDT + CODE32_SELECTOR, 0x00CF_9B00_0000_FFFFL);
        memory.writeLong(GDT + DATA_SELECTOR, 0x00CF_9300_0000_FFFFL);
        memory.writeLong(GDT + CODE64_SELECTOR, 0x00AF_9B00_0000_FFFFL);
    }

    /**
     * Identity paging of the first 4 GiB by 2 MiB pages (PML4 at 0x10000, one PDPT, four page directories), so MMIO
     * windows below 4 GiB are reachable at their physical addresses. Needs RAM up to 0x16000.
     */
    static void writeIdentityPaging(GuestMemory memory) {
        long pdpt = PML4 + 0x1000;
        long pd = PML4 + 0x2000;
        memory.writeLong(PML4, pdpt | 0x3);                        // present, writable
        for (int i = 0; i < 4; i++) {
            memory.writeLong(pdpt + i * 8L, (pd + i * 0x1000L) | 0x3);
            for (int j = 0; j < 512; j++) {
                long physical = ((long) i << 30) | ((long) j << 21);
                memory.writeLong(pd + i * 0x1000L + j * 8L, physical | 0x83); // present, writable, 2 MiB page
            }
        }
    }

    /** A 32-bit interrupt gate (present, DPL 0, type 0xE) at {@code idt[vector]} for code selector 0x08. */
    static void writeInterruptGate32(GuestMemory memory, long idt, int vector, long handler) {
        memory.writeLong(idt + vector * 8L, (handler & 0xFFFFL) | ((long) CODE32_SELECTOR << 16) | (0x8E00L << 32)
                | ((handler >>> 16 & 0xFFFFL) << 48));
    }

    /** A 64-bit interrupt gate (16 bytes: present, DPL 0, type 0xE, IST 0) for code selector 0x18. */
    static void writeInterruptGate64(GuestMemory memory, long idt, int vector, long handler) {
        memory.writeLong(idt + vector * 16L, (handler & 0xFFFFL) | ((long) CODE64_SELECTOR << 16) | (0x8E00L << 32)
                | ((handler >>> 16 & 0xFFFFL) << 48));
        memory.writeLong(idt + vector * 16L + 8, handler >>> 32);
    }
}
