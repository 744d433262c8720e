package org.vireo.kvm;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assume.assumeTrue;
import static org.vireo.kvm.Asm.R.AX;
import static org.vireo.kvm.Asm.R.BX;
import static org.vireo.kvm.Asm.R.CX;
import static org.vireo.kvm.Asm.R.DI;
import static org.vireo.kvm.Asm.R.DX;
import static org.vireo.kvm.Asm.R.SI;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;
import org.junit.runners.Parameterized.Parameter;
import org.junit.runners.Parameterized.Parameters;
import org.vireo.kvm.Recorder.Access;
import org.vireo.kvm.TestAccelerator.Exit;

/**
 * Real-mode guests exercising port I/O (in, out, string, every width) and MMIO accesses onto the buses, each on KVM
 * and on the CPU emulator.
 */
@RunWith(Parameterized.class)
public class RealModeGuestTest {
    @Parameters(name = "{0}")
    public static List<TestAccelerator.Kind> accelerators() { return TestAccelerator.both(); }

    @Parameter
    public TestAccelerator.Kind kind;

    private TestAccelerator guest;

    @Before
    public void setUp() {
        guest = kind.open(512 * 1024);
    }

    @After
    public void tearDown() {
        if (guest != null) guest.close();
    }


    @Test
    public void outOfOneByteReachesThePortBusAndHltHalts() {
        Recorder uart = new Recorder();
        guest.pio().register(0x3F8, 8, "uart", uart);
        byte[] code = Asm.real()
                .mov(DX, 0x3F8, 16)          // mov dx, 0x3f8
                .mov(AX, 'A', 8)             // mov al, 'A'
                .outDx(8)                    // out dx, al
                .hlt()                       // hlt
                .bytes();
        guest.realMode(code);
        guest.runToHlt();
        assertEquals(List.of(new Access(true, 0, 1, 'A')), uart.accesses());
        assertEquals("rip is past the hlt", TestAccelerator.CODE + code.length, guest.rip());
    }

    @Test
    public void inReturnsWhatTheHandlerGivesAtEveryWidth() {
        Recorder source = new Recorder(offset -> 0x1234_5678L + offset);
        Recorder sink = new Recorder();
        guest.pio().register(0x60, 4, "source", source);
        guest.pio().register(0x500, 4, "sink", sink);
        byte[] code = Asm.real()
                .mov(DX, 0x60, 16)          // mov dx, 0x60
                .inDx(8)                    // in al, dx        -> 0x78
                .mov(DX, 0x500, 16)         // mov dx, 0x500
                .outDx(8)                   // out dx, al
                .mov(DX, 0x61, 16)          // mov dx, 0x61
                .inDx(16)                   // in ax, dx        -> 0x5679
                .mov(DX, 0x500, 16)
                .outDx(16)                  // out dx, ax
                .mov(DX, 0x62, 16)
                .inDx(32)                   // in eax, dx (66 ED) -> 0x1234567a
                .mov(DX, 0x500, 16)
                .outDx(32)                  // out dx, eax
                .inImm(0x63)                // in al, 0x63      -> 0x7b
                .outDx(8)
                .hlt()
                .bytes();
        guest.realMode(code);
        guest.runToHlt();
        assertEquals(List.of(new Access(false, 0, 1, 0x78), new Access(false, 1, 2, 0x5679),
                new Access(false, 2, 4, 0x1234_567AL), new Access(false, 3, 1, 0x7B)), source.accesses());
        assertEquals(List.of(new Access(true, 0, 1, 0x78), new Access(true, 0, 2, 0x5679),
                new Access(true, 0, 4, 0x1234_567AL), new Access(true, 0, 1, 0x7B)), sink.accesses());
    }

    @Test
    public void repOutsbSendsTheStringInOrder() {
        Recorder uart = new Recorder();
        guest.pio().register(0x3F8, 8, "uart", uart);
        byte[] message = "Hello, KVM!".getBytes(StandardCharsets.US_ASCII);
        guest.load(0x3000, message);
        byte[] code = Asm.real()
                .cld()                          // cld
                .mov(SI, 0x3000, 16)            // mov si, 0x3000
                .mov(CX, message.length, 16)    // mov cx, len
                .mov(DX, 0x3F8, 16)             // mov dx, 0x3f8
                .repOutsb()                     // rep outsb
                .hlt()
                .bytes();
        guest.realMode(code);
        guest.runToHlt();
        assertEquals("Hello, KVM!", uart.text());
        assertEquals("cx counted down to 0", 0, guest.gpr(CX) & 0xFFFF);
    }

    @Test
    public void repOutswAndRepInsbMoveWordsAndBytes() {
        Recorder words = new Recorder();
        guest.pio().register(0x400, 2, "words", words);
        int[] counter = {0};
        guest.pio().register(0x402, 1, "bytes", new Recorder(offset -> 0xA0 + counter[0]++));
        guest.memory().writeShort(0x3000, (short) 0x1111);
        guest.memory().writeShort(0x3002, (short) 0x2222);
        guest.memory().writeShort(0x3004, (short) 0x3333);
        byte[] code = Asm.real()
                .cld()
                .mov(SI, 0x3000, 16)            // mov si, 0x3000
                .mov(CX, 3, 16)                 // mov cx, 3
                .mov(DX, 0x400, 16)             // mov dx, 0x400
                .repOutsw()                     // rep outsw
                .mov(DI, 0x4000, 16)            // mov di, 0x4000 (es = 0)
                .mov(CX, 5, 16)                 // mov cx, 5
                .mov(DX, 0x402, 16)             // mov dx, 0x402
                .repInsb()                      // rep insb
                .hlt()
                .bytes();
        guest.realMode(code);
        guest.runToHlt();
        assertEquals(List.of(new Access(true, 0, 2, 0x1111), new Access(true, 0, 2, 0x2222), new Access(true, 0, 2, 0x3333)),
                words.accesses());
        byte[] got = new byte[5];
        guest.memory().read(0x4000, got, 0, 5);
        assertArrayEquals(new byte[] {(byte) 0xA0, (byte) 0xA1, (byte) 0xA2, (byte) 0xA3, (byte) 0xA4}, got);
    }

    @Test
    public void stringIoRunsBackwardsAndAcrossAPageBoundary() {
        Recorder uart = new Recorder();
        guest.pio().register(0x3F8, 1, "uart", uart);
        int[] counter = {0};
        guest.pio().register(0x400, 2, "words", new Recorder(offset -> 0xB000 + counter[0]++));
        guest.load(0x3000, "ABCDEFGH".getBytes(StandardCharsets.US_ASCII));
        byte[] code = Asm.real()
                .std()                          // std: strings run downwards
                .mov(SI, 0x3007, 16)            // mov si, 0x3007 (the 'H')
                .mov(CX, 8, 16)                 // mov cx, 8
                .mov(DX, 0x3F8, 16)             // mov dx, 0x3f8
                .repOutsb()                     // rep outsb: "HGFEDCBA"
                .cld()
                .mov(DI, 0x4FFE, 16)            // mov di, 0x4ffe: the words straddle 0x5000
                .mov(CX, 3, 16)                 // mov cx, 3
                .mov(DX, 0x400, 16)             // mov dx, 0x400
                .repInsw()                      // rep insw
                .hlt()
                .bytes();
        guest.realMode(code);
        guest.runToHlt();
        assertEquals("HGFEDCBA", uart.text());
        assertEquals("si ran down past the string", 0x2FFF, guest.gpr(SI) & 0xFFFF);
        assertEquals(0xB000, guest.memory().readShort(0x4FFE) & 0xFFFF);
        assertEquals(0xB001, guest.memory().readShort(0x5000) & 0xFFFF);
        assertEquals(0xB002, guest.memory().readShort(0x5002) & 0xFFFF);
        assertEquals("di ran up past the words", 0x5004, guest.gpr(DI) & 0xFFFF);
    }

    @Test
    public void mmioStoresAndLoadsOutsideRamReachTheMmioBus() {
        // RAM ends at 0x80000; the device window at 0x90000 is only on the MMIO bus.
        Recorder device = new Recorder(offset -> offset == 0x30 ? 0xBEEF : 0xCAFE_F00DL);
        guest.mmio().register(0x90000, 0x100, "device", device);
        Recorder sink = new Recorder();
        guest.pio().register(0x500, 4, "sink", sink);
        byte[] code = Asm.real()
                .mov(AX, 0x9000, 16)            // mov ax, 0x9000
                .movSreg(Asm.Sreg.DS, AX)       // mov ds, ax
                .storeImm(8, 0x10, 0x42)        // mov byte [0x10], 0x42
                .mov(AX, 0xCAFEBABEL, 32)       // mov eax, 0xcafebabe
                .storeAbs(32, 0x20)             // mov [0x20], eax
                .loadAbs(16, 0x30)              // mov ax, [0x30]
                .mov(DX, 0x500, 16)
                .outDx(16)                      // out dx, ax
                .mov(BX, 0x40, 16)              // mov bx, 0x40
                .loadIndirectBx(32)             // mov eax, [bx]
                .outDx(32)                      // out dx, eax
                .hlt()
                .bytes();
        guest.realMode(code);
        guest.runToHlt();
        assertEquals(List.of(new Access(true, 0x10, 1, 0x42), new Access(true, 0x20, 4, 0xCAFEBABEL),
                new Access(false, 0x30, 2, 0xBEEF), new Access(false, 0x40, 4, 0xCAFEF00DL)), device.accesses());
        assertEquals(List.of(new Access(true, 0, 2, 0xBEEF), new Access(true, 0, 4, 0xCAFEF00DL)), sink.accesses());
    }

    @Test
    public void stringMovesToAndFromMmioGoThroughTheBusInOrder() {
        Recorder device = new Recorder(offset -> 0x60 + offset);
        guest.mmio().register(0x90000, 0x100, "device", device);
        byte[] code = Asm.real()
                .cld()
                .mov(AX, 0x9000, 16).movSreg(Asm.Sreg.ES, AX)     // es = the device window
                .zero(DI, 16)                                   // di = 0
                .mov(AX, 0x1234_5678, 32)                       // eax = 0x12345678
                .mov(CX, 3, 16)                                 // cx = 3
                .repStosd()                                     // rep stosd: three dword stores into the device
                .mov(AX, 0x9000, 16).movSreg(Asm.Sreg.DS, AX)     // ds = the device window
                .zero(AX, 16).movSreg(Asm.Sreg.ES, AX)            // es = 0
                .mov(SI, 0x20, 16)                              // si = 0x20
                .mov(DI, 0x3000, 16)                            // di = 0x3000 (RAM)
                .mov(CX, 4, 16)                                 // cx = 4
                .repMovsb()                                     // rep movsb: four byte loads from the device
                .hlt()
                .bytes();
        guest.realMode(code);
        Exit exit = guest.runToEnd();
        assumeTrue("PVM cannot emulate string moves on MMIO: " + guest.describe(),
                !(exit == Exit.ERROR && guest instanceof KvmTestAccelerator k && k.status.isPvm()));
        guest.expectHalt(exit);
        assertEquals(List.of(new Access(true, 0, 4, 0x1234_5678L), new Access(true, 4, 4, 0x1234_5678L),
                new Access(true, 8, 4, 0x1234_5678L), new Access(false, 0x20, 1, 0x80), new Access(false, 0x21, 1, 0x81),
                new Access(false, 0x22, 1, 0x82), new Access(false, 0x23, 1, 0x83)), device.accesses());
        byte[] got = new byte[4];
        guest.memory().read(0x3000, got, 0, 4);
        assertArrayEquals(new byte[] {(byte) 0x80, (byte) 0x81, (byte) 0x82, (byte) 0x83}, got);
    }

    @Test
    public void unclaimedPortsReadAllOnes() {
        Recorder sink = new Recorder();
        guest.pio().register(0x500, 4, "sink", sink);
        byte[] code = Asm.real()
                .mov(DX, 0x1234, 16)
                .inDx(16)                       // in ax, dx from nobody
                .mov(DX, 0x500, 16)
                .outDx(16)
                .hlt()
                .bytes();
        guest.realMode(code);
        guest.runToHlt();
        assertEquals(List.of(new Access(true, 0, 2, 0xFFFF)), sink.accesses());
    }
}
