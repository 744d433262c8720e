package org.vireo.x86.platform;

import java.lang.System.Logger.Level;
import org.vireo.bus.InterruptLine;
import org.vireo.bus.IoBus;
import org.vireo.bus.IoHandler;
import org.vireo.bus.Registration;
import org.vireo.virtio.device.RateLimitedLog;

/**
 * The ACPI fixed power-management hardware of a PC (ACPI 6.5, 4.8), in I/O ports from {@link #BASE}:
 * <ul>
 * <li>PM1a event block at {@code BASE} (4 bytes): PM1_STS (write 1 to clear) and PM1_EN. Events: the PM timer's
 *     bit 31 toggling (TMR_STS), the power button (PWRBTN_STS, {@link #pressPowerButton()}).</li>
 * <li>PM1a control at {@code BASE + 4} (2 bytes): SCI_EN reads 1 (the machine has no SMI and is always in ACPI
 *     mode); writing SLP_EN with SLP_TYP = {@link #S5_SLP_TYP} (the DSDT's {@code \_S5_}) powers off, once.</li>
 * <li>PM timer at {@code BASE + 8} (4 bytes): 3.579545 MHz, 32 bits, from the platform's {@link NanoClock}.</li>
 * </ul>
 * The SCI follows (PM1_STS &amp; PM1_EN) and is driven only when that changes, so it never disturbs the line while
 * nothing is enabled. A timer overflow is noticed when the guest touches the block (no thread watches bit 31).
 *
 * <p>Every access is the guest's: any offset and size (1-8 bytes, split into bytes at the register file) reads or
 * writes what it covers and nothing else; bytes outside the registers read as ones. Nothing here throws, and the
 * only message a guest can cause (an unsupported sleep state) is rate-limited.
 */
public final class AcpiPm implements IoHandler {
    public static final int BASE = 0x600;
    public static final int LENGTH = 12;
    public static final int PM1_EVT = BASE, PM1_CNT = BASE + 4, PM_TMR = BASE + 8;
    /** The SCI's PIC line (FADT SCI_INT). */
    public static final int SCI_IRQ = 9;
    /** The SLP_TYP of S5 (soft off); the DSDT's {@code \_S5_} must say the same. */
    public static final int S5_SLP_TYP = 5;
    public static final long TIMER_HZ = 3_579_545;

    // PM1_STS / PM1_EN bits
    static final int TMR = 1, GBL = 1 << 5, PWRBTN = 1 << 8, SLPBTN = 1 << 9, RTC = 1 << 10, WAK = 1 << 15;
    static final int STS_BITS = TMR | 1 << 4 /* BM_STS */ | GBL | PWRBTN | SLPBTN | RTC | WAK;
    static final int EN_BITS = TMR | GBL | PWRBTN | SLPBTN | RTC;
    // PM1_CNT bits
    static final int SCI_EN = 1, SLP_TYP_SHIFT = 10, SLP_TYP_MASK = 7 << SLP_TYP_SHIFT, SLP_EN = 1 << 13;
    static final int CNT_STORED = 1 << 1 /* BM_RLD */ | SLP_TYP_MASK;

    private static final System.Logger LOG = System.getLogger(AcpiPm.class.getName());

    private final NanoClock clock;
    private final long origin;
    private final InterruptLine sci;
    private final Runnable powerOff;
    private final RateLimitedLog log = new RateLimitedLog(LOG);
    private int status;
    private int enable;
    private int control = SCI_EN;
    private boolean timerMsb;
    private boolean sciLevel;
    private boolean poweredOff;

    /**
     * @param clock    the time the PM timer counts
     * @param sci      the SCI (a PIC line, level-triggered)
     * @param powerOff called once, from the writing vCPU's thread, when the guest enters S5
     */
    public AcpiPm(NanoClock clock, InterruptLine sci, Runnable powerOff) {
        this.clock = clock;
        this.origin = clock.nanos();
        this.sci = sci;
        this.powerOff = powerOff;
    }

    public Registration register(IoBus pio) { return pio.register(BASE, LENGTH, "acpi-pm", this); }

    /** The PM timer's count: 3.579545 MHz since the device was made, 32 bits. */
    public int timer() {
        long nanos = Math.max(0, clock.nanos() - origin);
        long ticks = nanos / 1_000_000_000L * TIMER_HZ + nanos % 1_000_000_000L * TIMER_HZ / 1_000_000_000L;
        return (int) ticks;
    }

    /** Presses the fixed power button: PWRBTN_STS, and an SCI if the guest enabled it. */
    public void pressPowerButton() { change(() -> status |= PWRBTN); }

    /** Whether the guest has entered S5. */
    public synchronized boolean poweredOff() { return poweredOff; }

    @Override
    public long read(long offset, int size) {
        if (size <= 0) return 0;
        int n = Math.min(size, 8);
        long v = 0;
        synchronized (this) {
            noticeTimer();
            int tmr = timer();
            for (int i = 0; i < n; i++) v |= (long) (readByte(offset + i, tmr) & 0xff) << (8 * i);
        }
        updateSci();
        return v;
    }

    private int readByte(long at, int timerValue) {
        if (at < 0 || at >= LENGTH) return 0xff;
        int i = (int) at;
        return switch (i) {
            case 0, 1 -> status >>> (8 * i);
            case 2, 3 -> enable >>> (8 * (i - 2));
            case 4, 5 -> (control & ~SLP_EN) >>> (8 * (i - 4));     // SLP_EN is write-only, reads 0
            case 6, 7 -> 0;
            default -> timerValue >>> (8 * (i - 8));
        };
    }

    @Override
    public void write(long offset, int size, long value) {
        if (size <= 0) return;
        int n = Math.min(size, 8);
        // Masks and values of the bytes this access covers, per 16-bit register.
        int stsMask = 0, stsValue = 0, enMask = 0, enValue = 0, cntMask = 0, cntValue = 0;
        for (int i = 0; i < n; i++) {
            long at = offset + i;
            if (at < 0 || at >= 6) continue;                      // the timer and the gap are read-only
            int b = (int) (value >>> (8 * i)) & 0xff;
            int shift = 8 * (int) (at & 1);
            switch ((int) at >> 1) {
                case 0 -> { stsMask |= 0xff << shift; stsValue |= b << shift; }
                case 1 -> { enMask |= 0xff << shift; enValue |= b << shift; }
                default -> { cntMask |= 0xff << shift; cntValue |= b << shift; }
            }
        }
        boolean sleep = false;
        int slpTyp = 0;
        synchronized (this) {
            noticeTimer();
            status &= ~(stsValue & stsMask & STS_BITS);           // write 1 to clear
            enable = enable & ~enMask | enValue & enMask & EN_BITS;
            if (cntMask != 0) {
                control = SCI_EN | (control & ~cntMask | cntValue & cntMask) & CNT_STORED;
                if ((cntValue & cntMask & SLP_EN) != 0) {
                    sleep = true;
                    slpTyp = (control & SLP_TYP_MASK) >>> SLP_TYP_SHIFT;
                }
            }
        }
        updateSci();
        if (sleep) sleep(slpTyp);
    }

    private void sleep(int slpTyp) {
        if (slpTyp != S5_SLP_TYP) {
            log.log(Level.INFO, "sleep", () -> "the guest asked for sleep type " + slpTyp + ", which this machine does not offer (only S5, "
                    + S5_SLP_TYP + "); ignored");
            return;
        }
        synchronized (this) {
            if (poweredOff) return;
            poweredOff = true;
        }
        powerOff.run();
    }

    /** TMR_STS when bit 31 of the timer has changed since last seen; caller holds the lock. */
    private void noticeTimer() {
        boolean msb = timer() < 0;
        if (msb != timerMsb) {
            timerMsb = msb;
            status |= TMR;
        }
    }

    private void change(Runnable r) {
        synchronized (this) { r.run(); }
        updateSci();
    }

    /** Drives the SCI to (PM1_STS &amp; PM1_EN) != 0 when that differs from what it last drove. */
    private void updateSci() {
        boolean level;
        synchronized (this) {
            level = (status & enable) != 0;
            if (level == sciLevel) return;
            sciLevel = level;
            // Under the lock, so two threads cannot drive the line in the opposite order of their decisions.
            sci.set(level);
        }
    }

    /** PM1_STS, PM1_EN and PM1_CNT as the guest reads them (for tests and diagnostics). */
    synchronized int status() { return status; }

    synchronized int enable() { return enable; }

    synchronized int control() { return control; }
}
