package org.vireo.kvm;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.vireo.kvm.Asm.R.AX;
import static org.vireo.kvm.Asm.R.CX;
import static org.vireo.kvm.Asm.R.DX;
import static org.vireo.kvm.Asm.R.SI;

import java.util.List;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;
import org.junit.runners.Parameterized.Parameter;
import org.junit.runners.Parameterized.Parameters;
import org.vireo.kvm.Recorder.Access;
import org.vireo.virtio.VirtioIds;
import org.vireo.virtio.core.PluggedDevice;
import org.vireo.virtio.mmio.VirtioMmio;
import org.vireo.virtio.rng.RngDevice;

/**
 * A tiny guest driver, in real-mode machine code, for a virtio-rng device on the virtio-mmio transport, on KVM and on
 * the CPU emulator: it reads the magic, version and device id registers, brings the device up (status, VERSION_1,
 * one queue), posts one writable buffer, notifies, and then either polls the used ring or waits for the device's
 * interrupt (the device's line injects a vector; the handler reads and acknowledges the interrupt status), and
 * sends the used length and the bytes out through ports.
 */
@RunWith(Parameterized.class)
public class VirtioMmioGuestTest {
    private static final long MMIO_BASE = 0x90000; // above the 512 KiB of RAM, reachable from real mode
    private static final int REGISTERS_PORT = 0x510;
    private static final int DATA_PORT = 0x511;
    // Queue 0 in RAM: descriptor table, driver (avail) ring, device (used) ring, and the buffer.
    private static final int DESC = 0x10000, AVAIL = 0x11000, USED = 0x12000, BUFFER = 0x13000;
    private static final int BUFFER_LEN = 16;
    private static final int QUEUE_SIZE = 8;
    private static final int VECTOR = 0x48;
    private static final int HANDLER = 0x2000;

    @Parameters(name = "{0}")
    public static List<TestAccelerator.Kind> accelerators() { return TestAccelerator.both(); }

    @Parameter
    public TestAccelerator.Kind kind;

    private TestAccelerator guest;
    private GuestMachine machine;
    private PluggedDevice plugged;
    private final Recorder registers = new Recorder();
    private final Recorder data = new Recorder();

    @Before
    public void setUp() {
        guest = kind.open(512 * 1024);
        guest.pio().register(REGISTERS_PORT, 1, "registers", registers);
        guest.pio().register(DATA_PORT, 1, "data", data);
        machine = new GuestMachine(guest, MMIO_BASE, 0x10000);
        plugged = VirtioMmio.plug(machine, new RngDevice(new CountingSource(), "rng0"), "rng0");
        assertTrue("the window is where the guest looks", guest.mmio().claimed(MMIO_BASE));
    }

    @After
    public void tearDown() {
        if (plugged != null) plugged.close();
        if (guest != null) guest.close();
    }

    /** ds = the device window (0x9000:0). */
    private static Asm deviceWindow(Asm a) { return a.mov(AX, (int) (MMIO_BASE >> 4), 16).movSreg(Asm.Sreg.DS, AX); }

    /** ds = the queue memory (0x1000:0), so offsets are relative to DESC. */
    private static Asm queueMemory(Asm a) { return a.mov(AX, DESC >> 4, 16).movSreg(Asm.Sreg.DS, AX); }

    /**
     * The driver up to the notify: identification registers reported on REGISTERS_PORT, the device brought up, one
     * writable buffer posted and queue 0 notified. Leaves ds on the device window and dx = REGISTERS_PORT.
     */
    private static Asm bringUpAndNotify(Asm a) {
        deviceWindow(a);
        a.mov(DX, REGISTERS_PORT, 16);
        for (int reg : new int[] {VirtioMmio.MAGIC_VALUE, VirtioMmio.VERSION_REG, VirtioMmio.DEVICE_ID}) {
            a.loadAbs(32, reg).outDx(32);                                 // mov eax, [reg]; out dx, eax
        }
        a.storeImm(32, VirtioMmio.STATUS, 1)                              // status = ACKNOWLEDGE
                .storeImm(32, VirtioMmio.STATUS, 1 | 2)                   // | DRIVER
                .storeImm(32, VirtioMmio.DRIVER_FEATURES_SEL, 1)          // features word 1
                .storeImm(32, VirtioMmio.DRIVER_FEATURES, 1)              // VIRTIO_F_VERSION_1 (bit 32)
                .storeImm(32, VirtioMmio.STATUS, 1 | 2 | 8)               // | FEATURES_OK
                .loadAbs(32, VirtioMmio.STATUS).outDx(32)                 // report status: FEATURES_OK must stick
                .storeImm(32, VirtioMmio.QUEUE_SEL, 0)                    // queue 0
                .storeImm(32, VirtioMmio.QUEUE_NUM, QUEUE_SIZE)
                .storeImm(32, VirtioMmio.QUEUE_DESC_LOW, DESC).storeImm(32, VirtioMmio.QUEUE_DESC_HIGH, 0)
                .storeImm(32, VirtioMmio.QUEUE_DRIVER_LOW, AVAIL).storeImm(32, VirtioMmio.QUEUE_DRIVER_HIGH, 0)
                .storeImm(32, VirtioMmio.QUEUE_DEVICE_LOW, USED).storeImm(32, VirtioMmio.QUEUE_DEVICE_HIGH, 0)
                .storeImm(32, VirtioMmio.QUEUE_READY, 1)
                .storeImm(32, VirtioMmio.STATUS, 1 | 2 | 8 | 4);          // | DRIVER_OK
        queueMemory(a)
                .storeImm(32, 0x0, BUFFER).storeImm(32, 0x4, 0)           // desc[0].addr = BUFFER
                .storeImm(32, 0x8, BUFFER_LEN)                            // desc[0].len
                .storeImm(16, 0xC, 2)                                     // desc[0].flags = WRITE
                .storeImm(16, 0xE, 0)                                     // desc[0].next
                .storeImm(16, AVAIL - DESC + 4, 0)                        // avail.ring[0] = 0
                .storeImm(16, AVAIL - DESC + 2, 1);                       // avail.idx = 1 (after the entry)
        return deviceWindow(a).storeImm(32, VirtioMmio.QUEUE_NOTIFY, 0);  // notify queue 0
    }

    /** With ds on the queue memory and dx = REGISTERS_PORT: reports used.ring[0].len, sends the bytes, halts. */
    private static Asm reportAndHalt(Asm a) {
        return a.loadAbs(32, USED - DESC + 8).outDx(32)                   // report used.ring[0].len
                .cld().mov(SI, BUFFER - DESC, 16).mov(CX, BUFFER_LEN, 16) // ds:si = the buffer
                .mov(DX, DATA_PORT, 16).repOutsb()                        // rep outsb: the bytes
                .hlt();
    }

    private static byte[] pollingDriver() {
        Asm a = bringUpAndNotify(Asm.real());
        queueMemory(a)
                .label("poll").loadAbs(16, USED - DESC + 2)               // ax = used.idx
                .cmpAx(16, 1).jne("poll");                                // until the device used the buffer
        a.mov(DX, REGISTERS_PORT, 16);
        return reportAndHalt(a).bytes();
    }

    /** Installs the IVT entry for VECTOR, enables interrupts, notifies, and halts until the handler takes over. */
    private static byte[] interruptDrivenDriver() {
        Asm a = Asm.real()
                .storeImm(16, VECTOR * 4, HANDLER)                        // mov word [vector*4], handler
                .storeImm(16, VECTOR * 4 + 2, 0)                          // mov word [vector*4+2], 0
                .sti();
        return bringUpAndNotify(a).label("wait").hlt().jmp("wait").bytes();
    }

    /**
     * The handler (IF is clear in it): reports INTERRUPT_STATUS, acknowledges it, reports it again (now 0), then the
     * used length and the bytes, and halts for good.
     */
    private static byte[] usedBufferHandler() {
        Asm a = deviceWindow(Asm.real()).mov(DX, REGISTERS_PORT, 16)
                .loadAbs(32, VirtioMmio.INTERRUPT_STATUS).outDx(32)       // eax = interrupt status; report it
                .storeAbs(32, VirtioMmio.INTERRUPT_ACK)                   // acknowledge exactly those bits
                .loadAbs(32, VirtioMmio.INTERRUPT_STATUS).outDx(32);      // report it again
        return reportAndHalt(queueMemory(a)).bytes();
    }

    private List<Long> reportedRegisters() { return registers.writes().stream().map(Access::value).toList(); }

    private void assertTheBytesArrived() {
        byte[] expected = new byte[BUFFER_LEN];
        for (int i = 0; i < BUFFER_LEN; i++) expected[i] = (byte) (0x40 + i);
        List<Access> bytes = data.writes();
        assertEquals(BUFFER_LEN, bytes.size());
        byte[] got = new byte[BUFFER_LEN];
        for (int i = 0; i < BUFFER_LEN; i++) got[i] = (byte) bytes.get(i).value();
        assertArrayEquals(expected, got);
    }

    @Test
    public void guestCodeReadsTheRegistersAndTakesBytesThroughTheQueue() {
        guest.realMode(pollingDriver());
        guest.runToHlt();

        List<Long> reported = reportedRegisters();
        assertEquals(List.of((long) VirtioMmio.MAGIC, 2L, (long) VirtioIds.RNG, 0xBL, (long) BUFFER_LEN), reported);
        assertEquals(0x7472_6976L, reported.get(0).longValue());
        assertTheBytesArrived();
        assertTrue("the device raised its interrupt line", machine.line(16).raises.get() >= 1);
    }

    @Test
    public void theDevicesInterruptRunsTheGuestHandlerWhichAcknowledgesIt() {
        GuestMachine.Line line = machine.line(16).onRaise(() -> guest.interrupt(VECTOR));
        guest.load(HANDLER, usedBufferHandler());
        guest.realMode(interruptDrivenDriver());
        guest.runToHlt();

        assertEquals("identification, status, interrupt status (used buffer), after the ack 0, used length",
                List.of((long) VirtioMmio.MAGIC, 2L, (long) VirtioIds.RNG, 0xBL, 1L, 0L, (long) BUFFER_LEN), reportedRegisters());
        assertTheBytesArrived();
        assertEquals("one interrupt", 1, line.raises.get());
        assertFalse("the acknowledgement lowered the line", line.level);
        assertEquals("the handler halted (the interrupt came after the notify, not before)",
                HANDLER + usedBufferHandler().length, guest.rip());
    }
}
