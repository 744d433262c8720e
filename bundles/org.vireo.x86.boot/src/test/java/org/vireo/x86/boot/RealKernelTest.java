package org.vireo.x86.boot;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assume.assumeTrue;

import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.Test;
import org.vireo.memory.GuestMemory;

/** Loads the guest kit's kernel (scripts/guest-kit), when it has been built on this machine. */
public class RealKernelTest {
    private static Path kit() {
        String dir = System.getenv("VIREO_GUEST_KIT");
        if (dir != null && !dir.isEmpty()) return Path.of(dir);
        String cache = System.getenv("XDG_CACHE_HOME");
        return (cache != null && !cache.isEmpty() ? Path.of(cache) : Path.of(System.getProperty("user.home"), ".cache"))
                .resolve("vireo/guest-kit");
    }

    private static Path need(String name) {
        Path p = kit().resolve(name);
        if (!Files.isRegularFile(p)) System.out.println("RealKernelTest: skipped, no " + p + " (run scripts/guest-kit)");
        assumeTrue("no " + p + ": run scripts/guest-kit to build the guest kit", Files.isRegularFile(p));
        return p;
    }

    @Test
    public void loadsTheGuestKitBzImage() {
        Path bz = need("bzImage");
        Path initrd = need("initramfs.cpio.gz");
        try (Arena arena = Arena.ofConfined()) {
            GuestMemory m = GuestMemory.allocate(arena, 128L << 20);
            BootPlan plan = LinuxLoader.load(m, bz, initrd, "console=ttyS0 acpi=off", 0, LinuxLoader.Unpack.NEVER);
            assertEquals(BootPlan.EntryMode.LONG_64, plan.mode());
            assertEquals(0x100_0200L, plan.rip());
            assertTrue(plan.description(), plan.description().contains("6.1."));
            assertTrue(plan.initrdStart() >= plan.kernelEnd());
            assertTrue(plan.initrdStart() + plan.initrdSize() <= 128L << 20);
            assertEquals("the gzip magic of the initramfs", 0x8b1f, m.readShort(plan.initrdStart()) & 0xffff);
        }
    }

    @Test
    public void unpacksTheGuestKitBzImageOnTheHostAndEntersItThroughPvhAsItsVmlinux() throws Exception {
        Path bz = need("bzImage");
        byte[] vmlinux = KernelPayload.decompress(Files.readAllBytes(bz)).orElseThrow();
        assertTrue("an ELF", ElfKernel.isElf(vmlinux));
        try (Arena arena = Arena.ofConfined()) {
            GuestMemory m = GuestMemory.allocate(arena, 128L << 20);
            BootPlan unpacked = LinuxLoader.load(m, bz, null, "console=ttyS0");
            assertEquals(BootPlan.EntryMode.PROTECTED_32, unpacked.mode());
            assertTrue(unpacked.description(), unpacked.description().contains("unpacked on the host from the bzImage \"6.1."));
            Path kitVmlinux = kit().resolve("vmlinux");
            if (Files.isRegularFile(kitVmlinux)) {
                GuestMemory d = GuestMemory.allocate(arena, 128L << 20);
                BootPlan direct = LinuxLoader.load(d, kitVmlinux, null, "console=ttyS0");
                assertEquals("the same entry as the kit's own vmlinux", direct.rip(), unpacked.rip());
                assertEquals(direct.kernelEnd(), unpacked.kernelEnd());
                int length = (int) (direct.kernelEnd() - direct.kernelStart());
                byte[] expected = new byte[length], actual = new byte[length];
                d.read(direct.kernelStart(), expected, 0, length);
                m.read(unpacked.kernelStart(), actual, 0, length);
                assertTrue("the bytes unpacked into guest RAM are those of the kit's vmlinux", java.util.Arrays.equals(expected, actual));
            }
        }
    }

    @Test
    public void loadsTheGuestKitVmlinuxThroughPvh() {
        Path vmlinux = need("vmlinux");
        try (Arena arena = Arena.ofConfined()) {
            GuestMemory m = GuestMemory.allocate(arena, 128L << 20);
            BootPlan plan = LinuxLoader.load(m, vmlinux, null, "console=ttyS0");
            assertEquals(BootPlan.EntryMode.PROTECTED_32, plan.mode());
            assertEquals(0x100_0000L, plan.kernelStart());
            assertTrue("the entry lies in the kernel", plan.rip() > plan.kernelStart() && plan.rip() < plan.kernelEnd());
            assertTrue(plan.rip() < 1L << 32);
        }
    }
}
