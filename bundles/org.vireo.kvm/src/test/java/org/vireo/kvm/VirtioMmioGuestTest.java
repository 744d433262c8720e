package org.vireo.kvm;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.vireo.kvm.Asm.R.AX;
import static org.vireo.kvm.Asm.R.CX;
import static org.vireo.kvm.Asm.R.DX;
import static org.vireo.kvm.Asm.R.SI;

import java.util.List;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import org.vireo.kvm.Recorder.Access;
import org.vireo.virtio.VirtioIds;
import org.vireo.virtio.core.PluggedDevice;
import org.vireo.virtio.mmio.VirtioMmio;
import org.vireo.virtio.rng.EntropySource;
import org.vireo.virtio.rng.RngDevice;

/**
 * A tiny guest driver, in real-mode machine code, for a virtio-rng device on the virtio-mmio transport: it reads
 * the magic, version and device id registers, brings the device up (status, VERSION_1, one queue), posts one
 * writable buffer, notifies, polls the used ring, and sends the used length and the bytes out through ports.
 */
public class VirtioMmioGuestTest {
    private static final long MMIO_BASE = 0x90000; // above the 512 KiB of RAM, reachable from real mode
    private static final int REGISTERS_PORT = 0x510;
    private static final int DATA_PORT = 0x511;
    // Queue 0 in RAM: descriptor table, driver (avail) ring, device (used) ring, and the buffer.
    private static final int DESC = 0x10000, AVAIL = 0x11000, USED = 0x12000, BUFFER = 0x13000;
    private static final int BUFFER_LEN = 16;
    private static final int QUEUE_SIZE = 8;

    private TestGuest guest;
    private PluggedDevice plugged;
    private final Recorder registers = new Recorder();
    private final Recorder data = new Recorder();

    /** Deterministic "entropy": 0x40, 0x41, ... so the test can check every byte the guest received. */
    private static final class CountingSource implements EntropySource {
        private int next = 0x40;

        @Override
        public int read(byte[] buf, int off, int len) {
            for (int i = 0; i < len; i++) buf[off + i] = (byte) next++;
            return len;
        }

        @Override public String describe() { return "counting"; }

        @Override public void close() {}
    }

    @Before
    public void setUp() {
        TestGuest.assumeKvm();
        guest = new TestGuest(512 * 1024);
        guest.pio.register(REGISTERS_PORT, 1, "registers", registers);
        guest.pio.register(DATA_PORT, 1, "data", data);
    }

    @After
    public void tearDown() {
        if (plugged != null) plugged.close();
        if (guest != null) guest.close();
    }

    /** The driver. DS points at the device window (0x9000:0) or at the queue memory (0x1000:0) as needed. */
    private static byte[] driver() {
        Asm a = Asm.real();
        a.mov(AX, (int) (MMIO_BASE >> 4), 16).movSreg(Asm.Sreg.DS, AX); // ds = device window
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
        // Descriptor 0 and the driver ring, addressed from ds = 0x1000 (so offsets are relative to DESC).
        a.mov(AX, DESC >> 4, 16).movSreg(Asm.Sreg.DS, AX)
                .storeImm(32, 0x0, BUFFER).storeImm(32, 0x4, 0)           // desc[0].addr = BUFFER
                .storeImm(32, 0x8, BUFFER_LEN)                            // desc[0].len
                .storeImm(16, 0xC, 2)                                     // desc[0].flags = WRITE
                .storeImm(16, 0xE, 0)                                     // desc[0].next
                .storeImm(16, AVAIL - DESC + 4, 0)                        // avail.ring[0] = 0
                .storeImm(16, AVAIL - DESC + 2, 1);                       // avail.idx = 1 (after the entry)
        a.mov(AX, (int) (MMIO_BASE >> 4), 16).movSreg(Asm.Sreg.DS, AX)
                .storeImm(32, VirtioMmio.QUEUE_NOTIFY, 0);                // notify queue 0
        a.mov(AX, DESC >> 4, 16).movSreg(Asm.Sreg.DS, AX)
                .label("poll").loadAbs(16, USED - DESC + 2)               // ax = used.idx
                .cmpAx(16, 1).jne("poll")                                 // until the device used the buffer
                .loadAbs(32, USED - DESC + 8).outDx(32)                   // report used.ring[0].len
                .cld().mov(SI, BUFFER - DESC, 16).mov(CX, BUFFER_LEN, 16) // ds:si = the buffer
                .mov(DX, DATA_PORT, 16).repOutsb()                        // rep outsb: the bytes
                .hlt();
        return a.bytes();
    }

    @Test
    public void guestCodeReadsTheRegistersAndTakesBytesThroughTheQueue() {
        GuestMachine machine = new GuestMachine(guest, MMIO_BASE, 0x10000);
        plugged = VirtioMmio.plug(machine, new RngDevice(new CountingSource(), "rng0"), "rng0");
        assertTrue("the window is where the guest looks", guest.mmio.claimed(MMIO_BASE));
        KvmVcpu v = guest.realMode(driver());
        assertEquals(v.lastError().orElse(""), StopReason.HALTED, guest.run(v));

        List<Long> reported = registers.writes().stream().map(Access::value).toList();
        assertEquals(List.of((long) VirtioMmio.MAGIC, 2L, (long) VirtioIds.RNG, 0xBL, (long) BUFFER_LEN), reported);
        assertEquals(0x7472_6976L, reported.get(0).longValue());
        byte[] expected = new byte[BUFFER_LEN];
        for (int i = 0; i < BUFFER_LEN; i++) expected[i] = (byte) (0x40 + i);
        byte[] got = new byte[BUFFER_LEN];
        List<Access> bytes = data.writes();
        assertEquals(BUFFER_LEN, bytes.size());
        for (int i = 0; i < BUFFER_LEN; i++) got[i] = (byte) bytes.get(i).value();
        assertArrayEquals(expected, got);
        assertTrue("the device raised its interrupt line", machine.line(16).raises.get() >= 1);
    }
}
