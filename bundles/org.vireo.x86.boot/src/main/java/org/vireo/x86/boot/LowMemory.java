package org.vireo.x86.boot;

import java.util.ArrayList;
import java.util.List;
import org.vireo.memory.GuestMemory;
import org.vireo.memory.MemoryRegion;

/**
 * Where the loader puts its boot structures in the first megabyte, and the structures common to both entries:
 * the e820 map, the GDT and identity page tables. All of it lies in the first 640 KiB, which the map calls RAM
 * and which Linux keeps out of its allocator until it has taken what it needs.
 */
final class LowMemory {
    static final long GDT = 0x1000;
    static final long START_INFO = 0x6000;         // PVH hvm_start_info, then its module list and memory map
    static final long MODLIST = 0x6040;
    static final long MEMMAP = 0x6100;
    static final long ZERO_PAGE = 0x7000;
    static final long STACK_TOP = 0x8ff0;
    static final long PML4 = 0x9000;
    static final long PDPT = 0xa000;
    static final long PAGE_DIRECTORIES = 0xb000;    // four, for 4 GiB
    static final long CMDLINE = 0x20000;
    static final long CMDLINE_MAX = 0x10000;

    static final long EBDA_START = 0x9fc00;
    static final long HIGH_MEMORY = 0x10_0000;
    static final long FOUR_GIB = 1L << 32;
    static final int MAX_E820 = 128;

    static final int CODE_SELECTOR = 0x10;          // __BOOT_CS
    static final int DATA_SELECTOR = 0x18;          // __BOOT_DS
    static final long CODE64_DESCRIPTOR = 0x00af_9b00_0000_ffffL;
    static final long CODE32_DESCRIPTOR = 0x00cf_9b00_0000_ffffL;
    static final long DATA_DESCRIPTOR = 0x00cf_9300_0000_ffffL;

    private LowMemory() { }

    /** The guest's RAM as e820 entries, with the EBDA and BIOS area [0x9fc00, 1 MiB) reserved as on a PC. */
    static List<E820Entry> memoryMap(GuestMemory memory) {
        List<E820Entry> map = new ArrayList<>();
        boolean lowRam = false;
        for (MemoryRegion r : memory.regions()) {
            long start = r.base(), end = r.end();
            if (start < EBDA_START) {
                map.add(new E820Entry(start, Math.min(end, EBDA_START) - start, E820Entry.RAM));
                lowRam = true;
            }
            if (end > HIGH_MEMORY) {
                long s = Math.max(start, HIGH_MEMORY);
                map.add(new E820Entry(s, end - s, E820Entry.RAM));
            }
        }
        if (!lowRam) throw new BootException("guest RAM must start at address 0 (the boot structures live below 640 KiB)");
        map.add(new E820Entry(EBDA_START, HIGH_MEMORY - EBDA_START, E820Entry.RESERVED));
        map.sort((a, b) -> Long.compare(a.address(), b.address()));
        if (map.size() > MAX_E820) throw new BootException("too many memory regions for the e820 map: " + map.size());
        return map;
    }

    /** A flat GDT: null, null, code at 0x10 (64-bit or 32-bit), data at 0x18. Returns its limit. */
    static int writeGdt(GuestMemory memory, boolean longMode) {
        memory.writeLong(GDT, 0);
        memory.writeLong(GDT + 8, 0);
        memory.writeLong(GDT + CODE_SELECTOR, longMode ? CODE64_DESCRIPTOR : CODE32_DESCRIPTOR);
        memory.writeLong(GDT + DATA_SELECTOR, DATA_DESCRIPTOR);
        return 4 * 8 - 1;
    }

    /** Identity-maps the first 4 GiB with 2 MiB pages; returns CR3. */
    static long writeIdentityPageTables(GuestMemory memory) {
        final long present = 0x1, writable = 0x2, largePage = 0x80;
        memory.fill(PML4, 0x1000, (byte) 0);
        memory.fill(PDPT, 0x1000, (byte) 0);
        memory.writeLong(PML4, PDPT | present | writable);
        for (int g = 0; g < 4; g++) {
            long pd = PAGE_DIRECTORIES + g * 0x1000L;
            memory.writeLong(PDPT + g * 8L, pd | present | writable);
            for (int i = 0; i < 512; i++) {
                long physical = ((long) g << 30) + ((long) i << 21);
                memory.writeLong(pd + i * 8L, physical | present | writable | largePage);
            }
        }
        return PML4;
    }

    /** Writes the NUL-terminated command line; returns its address. */
    static long writeCommandLine(GuestMemory memory, String cmdline, long maxLength) {
        byte[] bytes = cmdline.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        if (bytes.length > Math.min(maxLength, CMDLINE_MAX - 1)) {
            throw new BootException("the kernel command line is " + bytes.length + " bytes; this kernel takes at most "
                    + Math.min(maxLength, CMDLINE_MAX - 1));
        }
        memory.write(CMDLINE, bytes, 0, bytes.length);
        memory.writeByte(CMDLINE + bytes.length, (byte) 0);
        return CMDLINE;
    }

    /**
     * The highest page-aligned place for {@code size} bytes in RAM, at or above {@code floor} and ending at or below
     * {@code ceiling}; as loaders do, the initrd goes high so the kernel's own allocations below stay clear.
     */
    static long placeHigh(List<E820Entry> map, long size, long floor, long ceiling) {
        long best = -1;
        for (E820Entry e : map) {
            if (e.type() != E820Entry.RAM) continue;
            long end = Math.min(e.end(), ceiling);
            long start = Math.max(e.address(), floor);
            long at = (end - size) & ~0xfffL;
            if (end - start >= size && at >= start && at > best) best = at;
        }
        return best;
    }

    static long alignUp(long v, long alignment) { return (v + alignment - 1) & -alignment; }

    static boolean isRam(List<E820Entry> map, long address, long size) {
        for (E820Entry e : map) {
            if (e.type() == E820Entry.RAM && address >= e.address() && address + size <= e.end() && size >= 0) return true;
        }
        return false;
    }
}
