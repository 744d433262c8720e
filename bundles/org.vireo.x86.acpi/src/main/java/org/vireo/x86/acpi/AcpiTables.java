package org.vireo.x86.acpi;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The ACPI tables of a PC without firmware, built as one block of bytes the machine copies into guest memory at
 * {@link Config#base()}: RSDP (revision 2) first, so Linux's scan of 0xE0000-0xFFFFF finds it on a 16-byte
 * boundary, then the XSDT, FADT (revision 6), FACS, DSDT and, on a machine with APICs, the MADT. No MCFG (no ECAM).
 *
 * <p>The DSDT describes {@code \_S5_} (power-off through PM1a control), the PCI root bridge (PNP0A03) with its
 * windows and a _PRT that routes each bus-0 function's INTx pin to the PIC line it uses, and every virtio-mmio
 * device ({@code LNRO0005}) with its window and interrupt.
 */
public final class AcpiTables {
    /** Where the tables of a PC go: the BIOS area, reserved in the e820 map and scanned by Linux for the RSDP. */
    public static final long DEFAULT_BASE = 0xE_0000;
    /** The room the BIOS area gives: 0xE0000-0xFFFFF. */
    public static final int MAX_SIZE = 0x2_0000;
    /** The SLP_TYP value of S5 in PM1 control (the DSDT's \_S5_ says so). */
    public static final int S5_SLP_TYP = 5;

    public static final int FADT_REVISION = 6, FADT_LENGTH = 276, FACS_LENGTH = 64, HEADER_LENGTH = 36;
    static final int RSDP_LENGTH = 36;
    static final String OEM_ID = "VIREO ", OEM_TABLE_ID = "VIREOPC ", CREATOR_ID = "VIRO";

    // FADT flags (ACPI 6.5 table 5.10)
    static final int WBINVD = 1, PROC_C1 = 1 << 2, SLP_BUTTON = 1 << 5, TMR_VAL_EXT = 1 << 8, RESET_REG_SUP = 1 << 10;
    // IA-PC boot architecture flags (table 5.11)
    static final int LEGACY_DEVICES = 1, I8042 = 1 << 1, VGA_NOT_PRESENT = 1 << 2, MSI_NOT_SUPPORTED = 1 << 3,
            PCIE_ASPM_CONTROLS = 1 << 4;

    /** A PCI function's INTx pin (1 = INTA .. 4 = INTD) wired to an interrupt line (a PIC line here). */
    public record PciRoute(int slot, int pin, int gsi) {
        public PciRoute {
            if (slot < 0 || slot > 31) throw new IllegalArgumentException("PCI slot 0-31, not " + slot);
            if (pin < 1 || pin > 4) throw new IllegalArgumentException("INTx pin 1-4, not " + pin);
            if (gsi < 0) throw new IllegalArgumentException("negative interrupt " + gsi);
        }
    }

    /** A virtio-mmio device: its register window and its level-triggered, active-high interrupt. */
    public record MmioDevice(long base, long size, int gsi) {
        public MmioDevice {
            if (base < 0 || size <= 0 || base + size > 1L << 32) throw new IllegalArgumentException("mmio window below 4 GiB");
            if (gsi < 0) throw new IllegalArgumentException("negative interrupt " + gsi);
        }
    }

    /**
     * What the tables describe.
     *
     * @param base         guest-physical address of the block (16-byte aligned, below 4 GiB)
     * @param pm1aEvent    I/O port of the PM1a event block (status and enable, 2 + 2 bytes)
     * @param pm1aControl  I/O port of the PM1a control register (2 bytes)
     * @param pmTimer      I/O port of the 32-bit PM timer (4 bytes)
     * @param sci          the SCI's interrupt line
     * @param resetPort    I/O port of the reset register (byte), e.g. 0xcf9
     * @param resetValue   the value that resets the machine there
     * @param pciMmioBase  first byte of the PCI memory window (the 32-bit hole)
     * @param pciMmioEnd   end (exclusive) of the PCI memory window
     * @param pciRoutes    the INTx routes of bus 0 (empty: no _PRT)
     * @param mmioDevices  virtio-mmio devices to describe
     * @param apics        the interrupt controllers the MADT lists, or null for a machine with the 8259 only (no MADT)
     */
    public record Config(long base, int pm1aEvent, int pm1aControl, int pmTimer, int sci, int resetPort, int resetValue,
                         long pciMmioBase, long pciMmioEnd, List<PciRoute> pciRoutes, List<MmioDevice> mmioDevices,
                         Apics apics) {
        /** A machine without APICs: no MADT. */
        public Config(long base, int pm1aEvent, int pm1aControl, int pmTimer, int sci, int resetPort, int resetValue,
                      long pciMmioBase, long pciMmioEnd, List<PciRoute> pciRoutes, List<MmioDevice> mmioDevices) {
            this(base, pm1aEvent, pm1aControl, pmTimer, sci, resetPort, resetValue, pciMmioBase, pciMmioEnd, pciRoutes, mmioDevices,
                    null);
        }

        public Config {
            if ((base & 0xf) != 0 || base < 0 || base + MAX_SIZE > 1L << 32) throw new IllegalArgumentException("tables at a 16-byte boundary below 4 GiB");
            if (sci < 0 || sci > 255) throw new IllegalArgumentException("SCI line 0-255, not " + sci);
            if (pciMmioEnd <= pciMmioBase || pciMmioEnd > 1L << 32) throw new IllegalArgumentException("PCI window below 4 GiB");
            pciRoutes = List.copyOf(pciRoutes);
            mmioDevices = List.copyOf(mmioDevices);
        }
    }

    /**
     * An ISA interrupt that does not arrive at the IOAPIC pin of its own number, or not edge-triggered active-high
     * (MADT interrupt source override).
     *
     * @param flags MPS INTI flags: polarity in bits 0-1 (1 high, 3 low), trigger mode in bits 2-3 (1 edge, 3 level)
     */
    public record InterruptOverride(int isaIrq, int gsi, int flags) {
        /** Active high, level-triggered: the SCI. */
        public static final int LEVEL_HIGH = 0x000d;
    }

    /**
     * The APICs of the machine for the MADT.
     *
     * @param localApicAddress the local APICs' register page
     * @param apicIds          one local APIC per processor, its ACPI processor UID the list index
     * @param ioApicId         the IOAPIC's ID
     * @param ioApicAddress    the IOAPIC's registers
     * @param overrides        ISA interrupts routed elsewhere (IRQ 0 to GSI 2, the SCI as level)
     * @param nmiLint          the local APIC input wired to NMI on every processor (1 on a PC), or -1 for none
     */
    public record Apics(long localApicAddress, List<Integer> apicIds, int ioApicId, long ioApicAddress,
                        List<InterruptOverride> overrides, int nmiLint) {
        public Apics {
            apicIds = List.copyOf(apicIds);
            overrides = List.copyOf(overrides);
            if (apicIds.isEmpty() || apicIds.size() > 255) throw new IllegalArgumentException("1-255 local APICs, not " + apicIds.size());
        }
    }

    /** The tables as bytes for {@code base}; {@code rsdp} is where the RSDP lies (also the block's start); madt is 0 without one. */
    public record Image(long base, byte[] bytes, long rsdp, long xsdt, long fadt, long facs, long dsdt, long madt) {}

    private AcpiTables() { }

    /** Builds the tables of {@code config}. */
    public static Image build(Config config) {
        long base = config.base();
        long rsdp = base;
        long xsdt = base + align(RSDP_LENGTH, 16);
        int xsdtLength = HEADER_LENGTH + 8 * (config.apics() != null ? 2 : 1);
        long fadt = xsdt + align(xsdtLength, 16);
        long facs = align(fadt + FADT_LENGTH, 64);           // the FACS must be 64-byte aligned
        long dsdt = facs + FACS_LENGTH;
        byte[] dsdtBytes = dsdt(config);
        byte[] madtBytes = config.apics() != null ? madt(config.apics()) : null;
        long madt = madtBytes != null ? align(dsdt + dsdtBytes.length, 16) : 0;
        long end = madtBytes != null ? madt + madtBytes.length : dsdt + dsdtBytes.length;
        if (end - base > MAX_SIZE) throw new IllegalArgumentException("the ACPI tables need " + (end - base) + " bytes, more than " + MAX_SIZE);

        ByteBuffer out = ByteBuffer.allocate((int) (end - base)).order(ByteOrder.LITTLE_ENDIAN);
        out.put((int) (rsdp - base), rsdp(xsdt));
        out.put((int) (xsdt - base), xsdt(madtBytes != null ? List.of(fadt, madt) : List.of(fadt)));
        out.put((int) (fadt - base), fadt(config, facs, dsdt));
        out.put((int) (facs - base), facs());
        out.put((int) (dsdt - base), dsdtBytes);
        if (madtBytes != null) out.put((int) (madt - base), madtBytes);
        return new Image(base, out.array(), rsdp, xsdt, fadt, facs, dsdt, madt);
    }

    // ------------------------------------------------------------------------------------------- tables

    /** RSDP revision 2: no RSDT, the XSDT's 64-bit address; the first 20 bytes and all 36 each sum to zero. */
    static byte[] rsdp(long xsdt) {
        ByteBuffer b = ByteBuffer.allocate(RSDP_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
        b.put("RSD PTR ".getBytes(StandardCharsets.US_ASCII));
        b.put((byte) 0);                                     // checksum of bytes 0-19
        b.put(OEM_ID.getBytes(StandardCharsets.US_ASCII));
        b.put((byte) 2);                                     // revision: ACPI 2.0+
        b.putInt(0);                                         // RSDT address: none
        b.putInt(RSDP_LENGTH);
        b.putLong(xsdt);
        b.put((byte) 0);                                     // extended checksum
        byte[] bytes = b.array();
        bytes[8] = checksum(bytes, 0, 20);
        bytes[32] = checksum(bytes, 0, RSDP_LENGTH);
        return bytes;
    }

    static byte[] xsdt(List<Long> entries) {
        ByteBuffer b = header("XSDT", HEADER_LENGTH + 8 * entries.size(), 1);
        for (long e : entries) b.putLong(e);
        return finish(b);
    }

    /**
     * MADT revision 3 (ACPI 6.5 5.2.12): the local APIC address with PCAT_COMPAT (an 8259 pair is present and the
     * guest masks it), a Processor Local APIC entry per processor (enabled), the IOAPIC with GSI base 0, the interrupt
     * source overrides and a Local APIC NMI entry for all processors.
     */
    static byte[] madt(Apics a) {
        int length = 44 + 8 * a.apicIds().size() + 12 + 10 * a.overrides().size() + (a.nmiLint() >= 0 ? 6 : 0);
        ByteBuffer b = header("APIC", length, 3);
        b.position(36);
        b.putInt((int) a.localApicAddress());
        b.putInt(1);                                         // PCAT_COMPAT
        for (int uid = 0; uid < a.apicIds().size(); uid++) {
            b.put((byte) 0).put((byte) 8).put((byte) uid).put((byte) (int) a.apicIds().get(uid)).putInt(1);   // enabled
        }
        b.put((byte) 1).put((byte) 12).put((byte) a.ioApicId()).put((byte) 0).putInt((int) a.ioApicAddress()).putInt(0);
        for (InterruptOverride o : a.overrides()) {
            b.put((byte) 2).put((byte) 10).put((byte) 0).put((byte) o.isaIrq()).putInt(o.gsi()).putShort((short) o.flags());
        }
        if (a.nmiLint() >= 0) b.put((byte) 4).put((byte) 6).put((byte) 0xff).putShort((short) 0).put((byte) a.nmiLint());
        return finish(b);
    }

    static byte[] fadt(Config c, long facs, long dsdt) {
        ByteBuffer b = header("FACP", FADT_LENGTH, FADT_REVISION);
        b.putInt(36, 0);                                     // FIRMWARE_CTRL: zero, as X_FIRMWARE_CTRL is set (5.2.9)
        b.putInt(40, (int) dsdt);                            // DSDT
        b.put(45, (byte) 0);                                 // preferred PM profile: unspecified
        b.putShort(46, (short) c.sci());                     // SCI_INT
        b.putInt(48, 0);                                     // SMI_CMD: none, the machine is always in ACPI mode
        b.putInt(56, c.pm1aEvent());                         // PM1a_EVT_BLK
        b.putInt(64, c.pm1aControl());                       // PM1a_CNT_BLK
        b.putInt(76, c.pmTimer());                           // PM_TMR_BLK
        b.put(88, (byte) 4);                                 // PM1_EVT_LEN
        b.put(89, (byte) 2);                                 // PM1_CNT_LEN
        b.put(91, (byte) 4);                                 // PM_TMR_LEN
        b.putShort(96, (short) 101);                         // P_LVL2_LAT > 100: no C2
        b.putShort(98, (short) 1001);                        // P_LVL3_LAT > 1000: no C3
        // MSIs need a local APIC to go to: without the MADT's APICs, Linux is told not to try them.
        b.putShort(109, (short) (LEGACY_DEVICES | I8042 | VGA_NOT_PRESENT | PCIE_ASPM_CONTROLS
                | (c.apics() == null ? MSI_NOT_SUPPORTED : 0)));
        b.putInt(112, WBINVD | PROC_C1 | SLP_BUTTON | TMR_VAL_EXT | RESET_REG_SUP);
        gas(b, 116, 1, 8, 1, c.resetPort());                 // RESET_REG: one byte in I/O space
        b.put(128, (byte) c.resetValue());
        b.put(131, (byte) 0);                                // FADT minor version: 6.0
        b.putLong(132, facs);                                // X_FIRMWARE_CTRL
        b.putLong(140, dsdt);                                // X_DSDT
        gas(b, 148, 1, 32, 0, c.pm1aEvent());                // X_PM1a_EVT_BLK (the same blocks as the 32-bit fields)
        gas(b, 172, 1, 16, 0, c.pm1aControl());              // X_PM1a_CNT_BLK
        gas(b, 208, 1, 32, 0, c.pmTimer());                  // X_PM_TMR_BLK
        b.put(268, "VIREO\0\0\0".getBytes(StandardCharsets.US_ASCII));   // hypervisor vendor identity
        return finish(b);
    }

    /** The FACS: no checksum, 64 bytes, version 2; nothing in it is used without S4 or a global lock. */
    static byte[] facs() {
        ByteBuffer b = ByteBuffer.allocate(FACS_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
        b.put("FACS".getBytes(StandardCharsets.US_ASCII));
        b.putInt(FACS_LENGTH);
        b.put(32, (byte) 2);                                 // version
        return b.array();
    }

    static byte[] dsdt(Config c) {
        byte[] aml = dsdtAml(c);
        ByteBuffer b = header("DSDT", HEADER_LENGTH + aml.length, 2);   // revision 2: 64-bit integers
        b.put(HEADER_LENGTH, aml);
        return finish(b);
    }

    /** The DSDT's definition block: \_SB with the PCI root and the virtio-mmio devices, and \_S5_. */
    static byte[] dsdtAml(Config c) {
        List<byte[]> sb = new ArrayList<>();
        sb.add(pciRoot(c));
        for (int i = 0; i < c.mmioDevices().size(); i++) sb.add(virtioMmio(i, c.mmioDevices().get(i)));
        return Aml.concat(
                Aml.scope("\\_SB", sb.toArray(byte[][]::new)),
                // \_S5_: SLP_TYPa, SLP_TYPb, two reserved values.
                Aml.name("\\_S5", Aml.pkg(Aml.integer(S5_SLP_TYP), Aml.integer(S5_SLP_TYP), Aml.integer(0), Aml.integer(0))));
    }

    static byte[] pciRoot(Config c) {
        byte[] crs = new ResourceTemplate()
                .wordBusNumber(0, 0xff)
                .io(0xcf8, 0xcf8, 1, 8)                      // the configuration mechanism's own ports
                .wordIo(0x0000, 0x0cf7)
                .wordIo(0x0d00, 0xffff)
                .dwordMemory(c.pciMmioBase(), c.pciMmioEnd() - 1)
                .toAml();
        List<byte[]> terms = new ArrayList<>(List.of(
                Aml.name("_HID", Aml.eisaId("PNP0A03")),
                Aml.name("_UID", Aml.integer(0)),
                Aml.name("_BBN", Aml.integer(0)),
                Aml.name("_CRS", crs)));
        if (!c.pciRoutes().isEmpty()) {
            if (c.pciRoutes().size() > 255) throw new IllegalArgumentException("too many PCI routes");
            byte[][] entries = new byte[c.pciRoutes().size()][];
            for (int i = 0; i < entries.length; i++) {
                PciRoute r = c.pciRoutes().get(i);
                // { address: slot in the high word, any function; pin 0 = INTA; source: none (a GSI); GSI }
                entries[i] = Aml.pkg(Aml.integer((long) r.slot() << 16 | 0xffff), Aml.integer(r.pin() - 1),
                        Aml.integer(0), Aml.integer(r.gsi()));
            }
            terms.add(Aml.name("_PRT", Aml.pkg(entries)));
        }
        return Aml.device("PCI0", terms.toArray(byte[][]::new));
    }

    static byte[] virtioMmio(int index, MmioDevice d) {
        if (index > 0xff) throw new IllegalArgumentException("too many virtio-mmio devices");
        byte[] crs = new ResourceTemplate()
                .memory32Fixed(d.base(), d.size())
                .interrupt(true, false, false, d.gsi())
                .toAml();
        return Aml.device(String.format("VR%02X", index),
                Aml.name("_HID", Aml.string("LNRO0005")),
                Aml.name("_UID", Aml.integer(index)),
                Aml.name("_CRS", crs));
    }

    // ------------------------------------------------------------------------------------------- helpers

    /** A table with its 36-byte header filled in except the checksum. */
    static ByteBuffer header(String signature, int length, int revision) {
        ByteBuffer b = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
        b.put(signature.getBytes(StandardCharsets.US_ASCII));
        b.putInt(length);
        b.put((byte) revision);
        b.put((byte) 0);                                     // checksum, set by finish()
        b.put(OEM_ID.getBytes(StandardCharsets.US_ASCII));
        b.put(OEM_TABLE_ID.getBytes(StandardCharsets.US_ASCII));
        b.putInt(1);                                         // OEM revision
        b.put(CREATOR_ID.getBytes(StandardCharsets.US_ASCII));
        b.putInt(1);                                         // creator revision
        return b;
    }

    static byte[] finish(ByteBuffer b) {
        byte[] bytes = b.array();
        bytes[9] = 0;
        bytes[9] = checksum(bytes, 0, bytes.length);
        return bytes;
    }

    /** A Generic Address Structure: space (0 memory, 1 I/O), width in bits, access size (0 undefined .. 4 qword). */
    static void gas(ByteBuffer b, int at, int space, int bitWidth, int accessSize, long address) {
        b.put(at, (byte) space);
        b.put(at + 1, (byte) bitWidth);
        b.put(at + 2, (byte) 0);
        b.put(at + 3, (byte) accessSize);
        b.putLong(at + 4, address);
    }

    /** The byte that makes {@code bytes[from, to)} sum to zero, counting whatever is in the checksum's place as 0. */
    static byte checksum(byte[] bytes, int from, int to) {
        int sum = 0;
        for (int i = from; i < to; i++) sum += bytes[i];
        return (byte) -sum;
    }

    /** The sum of {@code bytes[from, to)} modulo 256 (0 for a table with a right checksum). */
    public static int sum(byte[] bytes, int from, int to) {
        int sum = 0;
        for (int i = from; i < to; i++) sum += bytes[i];
        return sum & 0xff;
    }

    private static long align(long v, long a) { return (v + a - 1) & -a; }
}
