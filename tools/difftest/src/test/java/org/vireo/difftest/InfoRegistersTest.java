package org.vireo.difftest;

import static org.junit.Assert.assertEquals;

import org.junit.Test;

/** QEMU's "info registers" text, both layouts, as captured from QEMU 7.2. */
public class InfoRegistersTest {
    static final String LONG_MODE = """
            RAX=0000000000000000 RBX=0000000000000000 RCX=0000000000000000 RDX=0000000000000000
            RIP=0000000000010000 RFL=00000002 [-------] CPL=0 II=0 A20=1 SMM=0 HLT=0
            ES =0010 0000000000000000 ffffffff 00cf9300 DPL=0 DS   [-WA]
            CS =0008 0000000000000000 ffffffff 00af9b00 DPL=0 CS64 [-RA]
            SS =0010 0000000000000000 ffffffff 00cf9300 DPL=0 DS   [-WA]
            DS =0010 0000000000000000 ffffffff 00cf9300 DPL=0 DS   [-WA]
            FS =0000 0000000000000000 00000000 00000000
            GS =0000 ffffffff8301a000 00000000 00000000
            LDT=0000 0000000000000000 0000ffff 00008200 DPL=0 LDT
            TR =0000 0000000000000000 0000ffff 00008b00 DPL=0 TSS64-busy
            GDT=     0000000000009000 00000017
            IDT=     0000000000000000 0000ffff
            CR0=80010033 CR2=0000000000000000 CR3=0000000000001000 CR4=000006a0
            EFER=0000000000000d01
            """;

    static final String REAL_MODE = """
            EAX=00000000 EBX=00000000 ECX=00000000 EDX=00060fb1
            EIP=00008000 EFL=00000002 [-------] CPL=0 II=0 A20=1 SMM=0 HLT=0
            ES =0000 00000000 0000ffff 00009300
            CS =0000 00000000 0000ffff 00009300
            SS =0000 00000000 0000ffff 00009300
            DS =0000 00000000 0000ffff 00009300
            FS =0000 00000000 0000ffff 00009300
            GS =0000 00000000 0000ffff 00009300
            LDT=0000 00000000 0000ffff 00008200
            TR =0000 00000000 0000ffff 00008b00
            GDT=     00000000 0000ffff
            IDT=     00000000 0000ffff
            CR0=60000010 CR2=00000000 CR3=00000000 CR4=00000000
            EFER=0000000000000000
            """;

    @Test
    public void longModeCachesTablesAndControlRegisters() {
        MachineState m = QemuTarget.parseInfoRegisters(LONG_MODE, new RegisterSet());
        assertEquals(new MachineState.SegmentCache(8, 0, -1, 0xa09b), m.segments().get("cs"));
        assertEquals(new MachineState.SegmentCache(0x10, 0, -1, 0xc093), m.segments().get("ss"));
        assertEquals(0xffffffff8301a000L, m.segments().get("gs").base());
        assertEquals(0x8b, m.segments().get("tr").attributes());
        assertEquals(new MachineState.Table(0x9000, 0x17), m.gdt());
        assertEquals(0x80010033L, m.registers().get("cr0"));
        assertEquals(0xd01L, m.registers().get("efer"));
        assertEquals(0xffffffff8301a000L, m.registers().get("gs_base"));
    }

    @Test
    public void gdbValuesWinOverTheMonitorsAndRealModeParses() {
        RegisterSet fromGdb = new RegisterSet().put("cr0", 0x60000011L);
        MachineState m = QemuTarget.parseInfoRegisters(REAL_MODE, fromGdb);
        assertEquals(0x60000011L, m.registers().get("cr0"));
        assertEquals(new MachineState.SegmentCache(0, 0, 0xffff, 0x93), m.segments().get("cs"));
        assertEquals(new MachineState.Table(0, 0xffff), m.idt());
    }
}
