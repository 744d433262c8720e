package org.vireo.x86.boot;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.vireo.memory.GuestMemory;
import org.vireo.memory.GuestMemoryException;

/**
 * Puts a Linux kernel, its initrd and command line into guest memory and says how to enter it. An ELF vmlinux is
 * booted through its PVH entry note (Xen's XEN_ELFNOTE_PHYS32_ENTRY). A bzImage whose payload Vireo can unpack
 * ({@link KernelPayload}: LZ4 or gzip) and whose vmlinux has that note is unpacked on the host and booted the same
 * way, so the emulated CPU does not run the kernel's own decompressor (seconds of guest time); any other bzImage,
 * or any bzImage when asked ({@link Unpack#NEVER}), boots through the 64-bit boot protocol.
 */
public final class LinuxLoader {
    private static final long DEFAULT_LOAD_ADDRESS = 0x100_0000;       // 16 MiB, LOAD_PHYSICAL_ADDR
    private static final long HEAP_END_PTR = 0xe000 - 0x200;

    private LinuxLoader() { }

    /** Whether a bzImage's kernel is unpacked on the host and booted through PVH. */
    public enum Unpack {
        /** When the payload's format is one Vireo reads and the vmlinux has a PVH entry (the default). */
        WHEN_POSSIBLE,
        /** Never: the bzImage boots through the 64-bit boot protocol and decompresses itself. */
        NEVER
    }

    /** Loads {@code kernel} (bzImage or ELF with a PVH note), {@code initrd} (or null) and {@code cmdline}. */
    public static BootPlan load(GuestMemory memory, Path kernel, Path initrd, String cmdline) {
        return load(memory, kernel, initrd, cmdline, 0);
    }

    /**
     * As {@link #load(GuestMemory, Path, Path, String)}, telling the kernel where the ACPI RSDP is ({@code rsdp}, 0
     * for none): the zero page's {@code acpi_rsdp_addr} (boot protocol 2.14+) or the PVH start info's
     * {@code rsdp_paddr}. The tables themselves are the caller's to write; a kernel also finds an RSDP in
     * 0xE0000-0xFFFFF by itself.
     */
    public static BootPlan load(GuestMemory memory, Path kernel, Path initrd, String cmdline, long rsdp) {
        return load(memory, kernel, initrd, cmdline, rsdp, Unpack.WHEN_POSSIBLE);
    }

    public static BootPlan load(GuestMemory memory, byte[] kernel, byte[] initrd, String cmdline) {
        return load(memory, kernel, initrd, cmdline, 0);
    }

    public static BootPlan load(GuestMemory memory, byte[] kernel, byte[] initrd, String cmdline, long rsdp) {
        return load(memory, kernel, initrd, cmdline, rsdp, Unpack.WHEN_POSSIBLE);
    }

    /**
     * As {@link #load(GuestMemory, Path, Path, String, long)}, choosing how a bzImage boots. The files are mapped,
     * not read: their bytes go from the page cache straight to guest RAM (reading the 50 MB vmlinux into an
     * array cost ~350 ms of page faults in a fresh JVM).
     */
    public static BootPlan load(GuestMemory memory, Path kernel, Path initrd, String cmdline, long rsdp, Unpack unpack) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment image = map(kernel, "kernel", arena);
            MemorySegment ramdisk = initrd == null ? null : map(initrd, "initrd", arena);
            try {
                return load(memory, image, ramdisk, cmdline, rsdp, unpack);
            } catch (InternalError e) {
                // What the JDK makes of SIGBUS: a mapped file was cut short after it was mapped.
                throw new BootException("the kernel " + kernel + (initrd == null ? "" : " or the initrd " + initrd)
                        + " changed while it was loaded: " + e.getMessage(), e);
            }
        }
    }

    public static BootPlan load(GuestMemory memory, byte[] kernel, byte[] initrd, String cmdline, long rsdp, Unpack unpack) {
        return load(memory, MemorySegment.ofArray(kernel), initrd == null ? null : MemorySegment.ofArray(initrd), cmdline, rsdp, unpack);
    }

    static BootPlan load(GuestMemory memory, MemorySegment kernel, MemorySegment initrd, String cmdline, long rsdp, Unpack unpack) {
        if (rsdp < 0) throw new BootException("negative RSDP address");
        try {
            if (ElfKernel.isElf(kernel)) return loadPvh(memory, ElfKernel.parse(kernel), kernel, initrd, cmdline, rsdp, "");
            if (SetupHeader.isBzImage(kernel)) {
                String why = "";
                if (unpack == Unpack.WHEN_POSSIBLE) {
                    VmlinuxPlacer placer = new VmlinuxPlacer(memory);
                    try {
                        if (KernelPayload.unpack(kernel, placer)) {
                            String version = SetupHeader.parse(kernel).kernelVersion();
                            return finishPvh(memory, placer.finish(), placer.kernelStart(), placer.kernelEnd(), initrd, cmdline, rsdp,
                                    String.format(" unpacked on the host from the bzImage%s", version.isEmpty() ? "" : " \"" + version + "\""));
                        }
                    } catch (VmlinuxPlacer.NotPvh e) {
                        // Not an ELF with a PVH entry (a kernel built without CONFIG_PVH): its own entry boots it.
                        placer.clear();
                    } catch (BootException e) {
                        // The kernel's own decompressor gets its chance; the plan says why Vireo did not unpack it.
                        placer.clear();
                        why = " (not unpacked on the host: " + e.getMessage() + ")";
                    }
                }
                BootPlan plan = loadBzImage(memory, kernel, initrd, cmdline, rsdp);
                return why.isEmpty() ? plan : plan.withDescription(plan.description() + why);
            }
        } catch (GuestMemoryException e) {
            throw new BootException("the kernel does not fit in guest memory: " + e.getMessage(), e);
        }
        throw new BootException("the kernel is neither a bzImage nor an ELF vmlinux");
    }

    /** The file's bytes, mapped for as long as {@code arena} lives; a file that is not a regular one (a pipe) is read. */
    private static MemorySegment map(Path file, String what, Arena arena) {
        try {
            if (!Files.isRegularFile(file)) return MemorySegment.ofArray(Files.readAllBytes(file));
            try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
                return channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size(), arena);
            }
        } catch (IOException e) {
            throw new BootException("cannot read the " + what + " " + file + ": " + e, e);
        }
    }

    // ------------------------------------------------------------------------------------------- bzImage

    static BootPlan loadBzImage(GuestMemory memory, MemorySegment image, MemorySegment initrd, String cmdline, long rsdp) {
        SetupHeader h = SetupHeader.parse(image);
        List<E820Entry> map = LowMemory.memoryMap(memory);
        int offset = h.kernelOffset();
        if (offset >= image.byteSize()) throw new BootException("bzImage is truncated: setup_sects points past the end");
        long kernelSize = image.byteSize() - offset;
        long needed = Math.max(h.initSize(), kernelSize);

        long load = h.prefAddress() != 0 ? h.prefAddress() : DEFAULT_LOAD_ADDRESS;
        if (!LowMemory.isRam(map, load, needed) || load % h.kernelAlignment() != 0) {
            if (!h.relocatable()) {
                throw new BootException(String.format("this kernel is not relocatable and needs 0x%x bytes of RAM at 0x%x", needed, load));
            }
            load = LowMemory.placeHigh(map, needed, LowMemory.alignUp(DEFAULT_LOAD_ADDRESS, h.kernelAlignment()), Long.MAX_VALUE);
            load = load < 0 ? -1 : load & -h.kernelAlignment();
            if (load < 0 || !LowMemory.isRam(map, load, needed)) {
                throw new BootException(String.format("not enough guest memory for the kernel: it needs 0x%x bytes (init_size) from 16 MiB", needed));
            }
        }
        long kernelEnd = load + needed;
        MemorySegment.copy(image, offset, memory.slice(load, kernelSize), 0, kernelSize);

        long zp = LowMemory.ZERO_PAGE;
        memory.fill(zp, 0x1000, (byte) 0);
        long headerLength = h.headerEnd() - SetupHeader.SETUP_SECTS;
        MemorySegment.copy(image, SetupHeader.SETUP_SECTS, memory.slice(zp + SetupHeader.SETUP_SECTS, headerLength), 0, headerLength);
        memory.writeByte(zp + SetupHeader.TYPE_OF_LOADER, (byte) 0xff);
        memory.writeByte(zp + SetupHeader.LOADFLAGS, (byte) (h.loadflags() | SetupHeader.LOADED_HIGH | SetupHeader.CAN_USE_HEAP));
        memory.writeInt(zp + SetupHeader.CODE32_START, (int) load);
        memory.writeShort(zp + SetupHeader.HEAP_END_PTR, (short) HEAP_END_PTR);
        // boot_params.acpi_rsdp_addr is read by kernels of boot protocol 2.14 on; older ones scan for the RSDP.
        if (rsdp != 0 && h.version() >= 0x20e) memory.writeLong(zp + BootParams.ACPI_RSDP_ADDR, rsdp);

        long cmdlineAddress = LowMemory.writeCommandLine(memory, cmdline, h.cmdlineSize());
        memory.writeInt(zp + SetupHeader.CMD_LINE_PTR, (int) cmdlineAddress);
        memory.writeInt(zp + BootParams.EXT_CMD_LINE_PTR, (int) (cmdlineAddress >>> 32));

        long initrdStart = 0, initrdSize = 0;
        if (initrd != null) {
            // initrd_addr_max is the highest address the initrd may occupy.
            long ceiling = Math.min(h.initrdAddrMax() + 1, LowMemory.FOUR_GIB);
            initrdSize = initrd.byteSize();
            initrdStart = LowMemory.placeHigh(map, initrdSize, LowMemory.alignUp(kernelEnd, 0x1000), ceiling);
            if (initrdStart < 0) {
                throw new BootException(String.format("no room for the %d-byte initrd between the kernel's end (0x%x) and 0x%x: give the guest more memory",
                        initrdSize, kernelEnd, ceiling));
            }
            MemorySegment.copy(initrd, 0, memory.slice(initrdStart, initrdSize), 0, initrdSize);
            memory.writeInt(zp + SetupHeader.RAMDISK_IMAGE, (int) initrdStart);
            memory.writeInt(zp + SetupHeader.RAMDISK_SIZE, (int) initrdSize);
            memory.writeInt(zp + BootParams.EXT_RAMDISK_IMAGE, (int) (initrdStart >>> 32));
            memory.writeInt(zp + BootParams.EXT_RAMDISK_SIZE, (int) (initrdSize >>> 32));
        }

        memory.writeByte(zp + BootParams.E820_ENTRIES, (byte) map.size());
        for (int i = 0; i < map.size(); i++) {
            E820Entry e = map.get(i);
            long at = zp + BootParams.E820_TABLE + 20L * i;
            memory.writeLong(at, e.address());
            memory.writeLong(at + 8, e.size());
            memory.writeInt(at + 16, e.type());
        }

        int gdtLimit = LowMemory.writeGdt(memory, true);
        long cr3 = LowMemory.writeIdentityPageTables(memory);
        String what = String.format("bzImage %s (boot protocol %s) at 0x%x, init_size 0x%x%s, command line \"%s\"",
                h.kernelVersion().isEmpty() ? "" : "\"" + h.kernelVersion() + "\"", h.versionString(), load, needed,
                initrd == null ? "" : String.format(", initrd %d bytes at 0x%x", initrdSize, initrdStart), cmdline);
        return new BootPlan(BootPlan.EntryMode.LONG_64, load + 0x200, LowMemory.STACK_TOP, zp, 0, 0x2,
                0x8000_0011L,                        // PG | ET | PE
                cr3, 0x20,                           // PAE
                0x500,                               // LMA | LME
                LowMemory.GDT, gdtLimit,
                BootPlan.SegmentSetup.fromDescriptor(LowMemory.CODE_SELECTOR, LowMemory.CODE64_DESCRIPTOR),
                BootPlan.SegmentSetup.fromDescriptor(LowMemory.DATA_SELECTOR, LowMemory.DATA_DESCRIPTOR),
                map, load, kernelEnd, initrdStart, initrdSize, what);
    }

    // ------------------------------------------------------------------------------------------- PVH

    /** @param origin said after "ELF vmlinux" in the plan's description (where the vmlinux came from), or "" */
    static BootPlan loadPvh(GuestMemory memory, ElfKernel elf, MemorySegment image, MemorySegment initrd, String cmdline, long rsdp, String origin) {
        List<E820Entry> map = LowMemory.memoryMap(memory);
        long kernelStart = Long.MAX_VALUE, kernelEnd = 0;
        for (ElfKernel.Segment s : elf.segments()) {
            if (s.memorySize() == 0) continue;
            checkInRam(map, s);
            MemorySegment.copy(image, s.fileOffset(), memory.slice(s.physicalAddress(), s.fileSize()), 0, s.fileSize());
            memory.fill(s.physicalAddress() + s.fileSize(), s.memorySize() - s.fileSize(), (byte) 0);
            kernelStart = Math.min(kernelStart, s.physicalAddress());
            kernelEnd = Math.max(kernelEnd, s.physicalAddress() + s.memorySize());
        }
        return finishPvh(memory, elf.pvhEntry(), kernelStart, kernelEnd, initrd, cmdline, rsdp, origin);
    }

    /** Refuses a kernel segment outside guest RAM or below 1 MiB (where the loader's own tables are). */
    static void checkInRam(List<E820Entry> map, ElfKernel.Segment s) {
        if (s.physicalAddress() < LowMemory.HIGH_MEMORY || !LowMemory.isRam(map, s.physicalAddress(), s.memorySize())) {
            throw new BootException(String.format("the kernel's segment [0x%x, +0x%x) is not in guest RAM above 1 MiB",
                    s.physicalAddress(), s.memorySize()));
        }
    }

    /** The rest of a PVH boot once the kernel's segments are in guest RAM: command line, initrd, start info, GDT. */
    static BootPlan finishPvh(GuestMemory memory, long pvhEntry, long kernelStart, long kernelEnd, MemorySegment initrd,
                              String cmdline, long rsdp, String origin) {
        if (kernelEnd == 0) throw new BootException("the ELF kernel has nothing to load");
        List<E820Entry> map = LowMemory.memoryMap(memory);
        long cmdlineAddress = LowMemory.writeCommandLine(memory, cmdline, LowMemory.CMDLINE_MAX - 1);
        long initrdStart = 0, initrdSize = 0;
        if (initrd != null) {
            initrdSize = initrd.byteSize();
            initrdStart = LowMemory.placeHigh(map, initrdSize, LowMemory.alignUp(kernelEnd, 0x1000), LowMemory.FOUR_GIB);
            if (initrdStart < 0) {
                throw new BootException(String.format("no room for the %d-byte initrd above the kernel (ends at 0x%x): give the guest more memory",
                        initrdSize, kernelEnd));
            }
            MemorySegment.copy(initrd, 0, memory.slice(initrdStart, initrdSize), 0, initrdSize);
        }

        long si = LowMemory.START_INFO;
        memory.fill(si, LowMemory.MEMMAP + 24L * LowMemory.MAX_E820 - si, (byte) 0);
        memory.writeInt(si, StartInfo.MAGIC);
        memory.writeInt(si + 4, 1);                                  // version
        memory.writeInt(si + 8, 0);                                  // flags
        memory.writeInt(si + 12, initrd == null ? 0 : 1);            // nr_modules
        memory.writeLong(si + 16, initrd == null ? 0 : LowMemory.MODLIST);
        memory.writeLong(si + 24, cmdlineAddress);
        memory.writeLong(si + 32, rsdp);                             // rsdp_paddr (0: none)
        memory.writeLong(si + 40, LowMemory.MEMMAP);
        memory.writeInt(si + 48, map.size());
        if (initrd != null) {
            memory.writeLong(LowMemory.MODLIST, initrdStart);
            memory.writeLong(LowMemory.MODLIST + 8, initrdSize);
            memory.writeLong(LowMemory.MODLIST + 16, 0);             // no module command line
        }
        for (int i = 0; i < map.size(); i++) {
            E820Entry e = map.get(i);
            long at = LowMemory.MEMMAP + 24L * i;
            memory.writeLong(at, e.address());
            memory.writeLong(at + 8, e.size());
            memory.writeInt(at + 16, e.type());
        }

        int gdtLimit = LowMemory.writeGdt(memory, false);
        String what = String.format("ELF vmlinux%s, PVH entry 0x%x, [0x%x, 0x%x)%s, command line \"%s\"", origin, pvhEntry,
                kernelStart, kernelEnd, initrd == null ? "" : String.format(", initrd %d bytes at 0x%x", initrdSize, initrdStart), cmdline);
        return new BootPlan(BootPlan.EntryMode.PROTECTED_32, pvhEntry, LowMemory.STACK_TOP, 0, si, 0x2,
                0x11,                                // ET | PE, paging off
                0, 0, 0, LowMemory.GDT, gdtLimit,
                BootPlan.SegmentSetup.fromDescriptor(LowMemory.CODE_SELECTOR, LowMemory.CODE32_DESCRIPTOR),
                BootPlan.SegmentSetup.fromDescriptor(LowMemory.DATA_SELECTOR, LowMemory.DATA_DESCRIPTOR),
                map, kernelStart, kernelEnd, initrdStart, initrdSize, what);
    }

    /** Offsets in struct boot_params outside the setup header. */
    static final class BootParams {
        static final int ACPI_RSDP_ADDR = 0x070, EXT_RAMDISK_IMAGE = 0x0c0, EXT_RAMDISK_SIZE = 0x0c4, EXT_CMD_LINE_PTR = 0x0c8,
                E820_ENTRIES = 0x1e8, E820_TABLE = 0x2d0;

        private BootParams() { }
    }

    /** struct hvm_start_info (version 1). */
    static final class StartInfo {
        static final int MAGIC = 0x336e_c578;

        private StartInfo() { }
    }
}
