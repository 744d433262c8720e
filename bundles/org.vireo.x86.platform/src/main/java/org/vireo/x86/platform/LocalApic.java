package org.vireo.x86.platform;

import java.util.function.Consumer;
import java.util.function.IntConsumer;
import org.vireo.bus.IoHandler;
import org.vireo.virtio.device.RateLimitedLog;

/**
 * One vCPU's local APIC in xAPIC mode (Intel SDM vol. 3A ch. 11): the 4 KiB register page at {@link #DEFAULT_BASE},
 * IRR/ISR/TMR with priority against TPR and PPR, EOI (a level-triggered vector's EOI is broadcast to the IOAPIC),
 * the LVT, the timer in one-shot, periodic and TSC-deadline modes, and IPIs through the ICR. LINT0 in ExtINT mode
 * (its state at reset on the bootstrap processor, as QEMU has it) passes the 8259's INTR through, so a guest that
 * never programs the APIC sees the PIC as before.
 *
 * <p>The APIC bus runs at 1 GHz: a timer count is {@code divisor} nanoseconds. The TSC the deadline is compared
 * with is the CPU's, which counts host nanoseconds too. Not modelled: x2APIC, NMI and SMI delivery (dropped),
 * INIT and start-up IPIs (one CPU), a moved APIC base (the registers stay at {@link #DEFAULT_BASE}).
 *
 * <p>Thread-safe: devices deliver from their threads, the vCPU reads and writes registers, the timer thread fires.
 * {@code wake} runs outside the lock whenever a change leaves an interrupt deliverable.
 */
public final class LocalApic implements IoHandler, InterruptOutput, TimedDevice {
    public static final long DEFAULT_BASE = 0xFEE0_0000L;
    public static final int SIZE = 0x1000;
    /** IA32_APIC_BASE bits: bootstrap processor, global enable (x2APIC's bit 10 is refused). */
    public static final long BASE_BSP = 1L << 8, BASE_ENABLE = 1L << 11;
    /** An integrated APIC (version 14h) with six LVT entries (timer, thermal, performance, LINT0, LINT1, error). */
    static final int VERSION = 0x0005_0014;

    static final int ID = 0x20, VER = 0x30, TPR = 0x80, APR = 0x90, PPR = 0xa0, EOI = 0xb0, RRD = 0xc0, LDR = 0xd0,
            DFR = 0xe0, SVR = 0xf0, ISR = 0x100, TMR = 0x180, IRR = 0x200, ESR = 0x280, LVT_CMCI = 0x2f0, ICR_LOW = 0x300,
            ICR_HIGH = 0x310, LVT_TIMER = 0x320, LVT_LINT0 = 0x350, LVT_LINT1 = 0x360, LVT_ERROR = 0x370,
            TIMER_INITIAL = 0x380, TIMER_CURRENT = 0x390, TIMER_DIVIDE = 0x3e0;
    static final int LVT_COUNT = 6, LVT_TIMER_INDEX = 0, LVT_LINT0_INDEX = 3, LVT_LINT1_INDEX = 4, LVT_ERROR_INDEX = 5;
    static final int MASKED = 1 << 16, SVR_ENABLE = 1 << 8;
    static final int FIXED = 0, LOWEST_PRIORITY = 1, SMI = 2, NMI = 4, INIT = 5, STARTUP = 6, EXTINT = 7;
    static final int TIMER_ONE_SHOT = 0, TIMER_PERIODIC = 1, TIMER_TSC_DEADLINE = 2;
    /** ESR bits: a vector below 16 sent, or received. */
    static final int ESR_SEND_ILLEGAL_VECTOR = 1 << 5, ESR_RECEIVE_ILLEGAL_VECTOR = 1 << 6;
    /** Writable bits of each LVT entry, in LVT order: vector, delivery mode, polarity, trigger, mask, timer mode. */
    private static final int[] LVT_WRITABLE = {0x7_00ff, 0x1_07ff, 0x1_07ff, 0x1_a7ff, 0x1_a7ff, 0x1_00ff};

    private static final RateLimitedLog LOG = new RateLimitedLog(System.getLogger(LocalApic.class.getName()));

    private final int apicId;
    private final NanoClock clock;
    private final InterruptOutput pic;
    private volatile Runnable wake = () -> { };
    private volatile IntConsumer levelEoi = vector -> { };
    private volatile Consumer<ApicMessage> ipiSender = message -> { };
    private volatile Runnable reprogrammed = () -> { };

    // Guarded by this.
    private long base;
    private int id, tpr, ldr, dfr, svr, esr, pendingErrors, icrLow, icrHigh, divide;
    private final int[] irr = new int[8], isr = new int[8], tmr = new int[8];
    private final int[] lvt = new int[LVT_COUNT];
    private long initialCount, timerPeriodNanos, timerDue = Long.MAX_VALUE, tscDeadline;
    private long timerFired;

    /** Whether a fixed interrupt in the IRR outranks the processor priority (read without the lock by the vCPU). */
    private volatile boolean deliverable;
    /** Whether the 8259's INTR reaches the CPU: the APIC is globally disabled, or LINT0 is unmasked ExtINT. */
    private volatile boolean picPassedThrough = true;

    /**
     * @param apicId the initial APIC ID (CPUID leaf 1 EBX[31:24] reports the same)
     * @param clock  the host's clock for the timer (a {@link ManualClock} in tests)
     * @param pic    the 8259 pair's output, wired to LINT0
     */
    public LocalApic(int apicId, NanoClock clock, InterruptOutput pic) {
        if (apicId < 0 || apicId > 0xfe) throw new IllegalArgumentException("an xAPIC ID is 0-254, not " + apicId);
        this.apicId = apicId;
        this.clock = clock;
        this.pic = pic;
        reset();
    }

    /** The state after power-on or INIT: enabled in IA32_APIC_BASE, software-disabled, LVT masked (LINT0 ExtINT on the BSP). */
    public void reset() {
        synchronized (this) {
            base = DEFAULT_BASE | BASE_ENABLE | (apicId == 0 ? BASE_BSP : 0);
            id = apicId;
            tpr = ldr = esr = pendingErrors = icrLow = icrHigh = divide = 0;
            dfr = 0xffff_ffff;
            svr = 0xff;
            java.util.Arrays.fill(irr, 0);
            java.util.Arrays.fill(isr, 0);
            java.util.Arrays.fill(tmr, 0);
            java.util.Arrays.fill(lvt, MASKED);
            if (apicId == 0) lvt[LVT_LINT0_INDEX] = EXTINT << 8;   // virtual-wire mode, as firmware leaves it
            initialCount = timerPeriodNanos = tscDeadline = 0;
            timerDue = Long.MAX_VALUE;
            recompute();
        }
        reprogrammed.run();
    }

    /** Runs when an interrupt becomes deliverable (typically the CPU's wake-up from HLT). */
    public void setWake(Runnable wake) { this.wake = wake; }

    /** Receives the vector of each EOI of a level-triggered interrupt (the IOAPIC clears its Remote IRR). */
    public void setLevelEoiListener(IntConsumer listener) { this.levelEoi = listener; }

    /** Where IPIs written to the ICR go (the machine's APIC bus delivers them, to this APIC too). */
    public void setIpiSender(Consumer<ApicMessage> sender) { this.ipiSender = sender; }

    public int apicId() { return apicId; }

    // ------------------------------------------------------------------ what the CPU asks

    @Override
    public boolean interruptPending() {
        return deliverable || picPassedThrough && pic.interruptPending();
    }

    @Override
    public int acknowledgeInterrupt() {
        synchronized (this) {
            if (deliverable) {
                int vector = highest(irr);
                clear(irr, vector);
                set(isr, vector);
                recompute();
                return vector;
            }
            if (!picPassedThrough) return -1;
        }
        return pic.acknowledgeInterrupt();
    }

    /** IA32_APIC_BASE. */
    public synchronized long apicBase() { return base; }

    /**
     * Writes IA32_APIC_BASE. The enable bit switches the APIC off (the PIC then reaches the CPU directly) and on; the
     * base address may be written but the registers stay at {@link #DEFAULT_BASE}.
     *
     * @throws IllegalArgumentException for reserved bits or x2APIC mode: WRMSR raises #GP
     */
    public void setApicBase(long value) {
        if ((value & ~(0xf_ffff_f000L | BASE_ENABLE | BASE_BSP)) != 0) {
            throw new IllegalArgumentException(String.format("IA32_APIC_BASE 0x%x: reserved bits or x2APIC", value));
        }
        boolean wasEnabled;
        synchronized (this) {
            wasEnabled = (base & BASE_ENABLE) != 0;
            base = (value & ~BASE_BSP) | (base & BASE_BSP);
        }
        boolean enabled = (value & BASE_ENABLE) != 0;
        if (wasEnabled && !enabled) {
            // A globally disabled APIC loses its state (SDM 11.4.3); the base and the BSP flag survive.
            long keep = value;
            reset();
            synchronized (this) {
                base = (keep & ~BASE_BSP) | (base & BASE_BSP);
                recompute();
            }
        }
        wakeIfPending();
    }

    /** IA32_TSC_DEADLINE: the armed deadline, 0 when disarmed or not in TSC-deadline mode. */
    public synchronized long tscDeadline() { return timerMode() == TIMER_TSC_DEADLINE ? tscDeadline : 0; }

    /**
     * Writes IA32_TSC_DEADLINE (ignored unless the timer is in TSC-deadline mode): 0 disarms; a deadline not in the
     * future fires at once.
     *
     * @param tscNow the CPU's time stamp counter at the write (nanoseconds, like this APIC's clock)
     */
    public void setTscDeadline(long deadline, long tscNow) {
        synchronized (this) {
            if (timerMode() != TIMER_TSC_DEADLINE) return;
            tscDeadline = deadline;
            if (deadline == 0) {
                timerDue = Long.MAX_VALUE;
            } else {
                long now = clock.nanos();
                long delta = deadline - tscNow;
                // Saturating: a deadline centuries away must not wrap around into the past and fire at once.
                timerDue = delta <= 0 ? now : now + delta < now ? Long.MAX_VALUE - 1 : now + delta;
            }
        }
        reprogrammed.run();
        update();
    }

    // ------------------------------------------------------------------ what devices and other APICs send

    /**
     * Accepts an interrupt message for this APIC: fixed and lowest-priority vectors go into the IRR (TMR set when
     * level-triggered). NMI, SMI, INIT and start-up are not modelled and dropped.
     */
    public void accept(int deliveryMode, int vector, boolean level) {
        switch (deliveryMode) {
            case FIXED, LOWEST_PRIORITY -> {
                synchronized (this) {
                    if ((base & BASE_ENABLE) == 0) return;
                    if (vector < 16) {
                        pendingErrors |= ESR_RECEIVE_ILLEGAL_VECTOR;
                        return;
                    }
                    set(irr, vector);
                    if (level) set(tmr, vector); else clear(tmr, vector);
                    recompute();
                }
                wakeIfPending();
            }
            default -> LOG.warn("delivery mode", () -> String.format("local APIC %d: delivery mode %d (vector 0x%x) is not modelled; dropped",
                    apicId, deliveryMode, vector));
        }
    }

    /** Whether this APIC is addressed by {@code destination} in physical or logical destination mode. */
    public synchronized boolean addressedBy(int destination, boolean logical) {
        if (!logical) return destination == 0xff || destination == id >>> 24;
        int logicalId = ldr >>> 24;
        if ((dfr >>> 28) == 0xf) return (logicalId & destination) != 0;          // flat model: a bit per APIC
        return (destination >>> 4) == (logicalId >>> 4) && (destination & logicalId & 0xf) != 0;   // cluster model
    }

    /** The task priority (for lowest-priority arbitration). */
    public synchronized int taskPriority() { return tpr; }

    // ------------------------------------------------------------------ registers

    @Override
    public long read(long offset, int size) {
        int reg = (int) offset & 0xff0;
        int shift = 8 * ((int) offset & 3);
        if ((offset & 0xf) >= 4) return 0;
        long v = readRegister(reg) & 0xffff_ffffL;
        v >>>= shift;
        return size >= 4 ? v : v & ((1L << (8 * size)) - 1);
    }

    synchronized int readRegister(int reg) {
        if ((base & BASE_ENABLE) == 0) return 0;
        return switch (reg) {
            case ID -> id;
            case VER -> VERSION;
            case TPR -> tpr;
            case PPR -> ppr();
            case LDR -> ldr;
            case DFR -> dfr;
            case SVR -> svr;
            case ESR -> esr;
            case ICR_LOW -> icrLow;
            case ICR_HIGH -> icrHigh;
            case TIMER_INITIAL -> (int) initialCount;
            case TIMER_CURRENT -> currentCount();
            case TIMER_DIVIDE -> divide;
            case LVT_CMCI -> MASKED;
            default -> {
                if (reg >= ISR && reg < ISR + 0x80) yield isr[(reg - ISR) >> 4];
                if (reg >= TMR && reg < TMR + 0x80) yield tmr[(reg - TMR) >> 4];
                if (reg >= IRR && reg < IRR + 0x80) yield irr[(reg - IRR) >> 4];
                if (reg >= LVT_TIMER && reg <= LVT_ERROR) yield lvt[(reg - LVT_TIMER) >> 4];
                yield 0;                                      // APR, RRD, reserved
            }
        };
    }

    @Override
    public void write(long offset, int size, long value) {
        if ((offset & 0xf) != 0 || size < 4) return;           // only aligned 32-bit accesses are defined
        int reg = (int) offset & 0xff0;
        int v = (int) value;
        int eoiVector = -1;
        ApicMessage ipi = null;
        boolean timerChanged = false;
        synchronized (this) {
            if ((base & BASE_ENABLE) == 0) return;
            switch (reg) {
                case ID -> id = v & 0xff00_0000;
                case TPR -> tpr = v & 0xff;
                case EOI -> eoiVector = endOfInterrupt();
                case LDR -> ldr = v & 0xff00_0000;
                case DFR -> dfr = v | 0x0fff_ffff;
                case SVR -> {
                    svr = v & 0x13ff;
                    if ((svr & SVR_ENABLE) == 0) for (int i = 0; i < LVT_COUNT; i++) lvt[i] |= MASKED;
                }
                case ESR -> {
                    esr = pendingErrors;
                    pendingErrors = 0;
                }
                case ICR_HIGH -> icrHigh = v & 0xff00_0000;
                case ICR_LOW -> {
                    icrLow = v & 0x000c_cfff;                 // delivery status reads idle: delivery is immediate
                    ipi = interprocessorInterrupt();
                }
                case TIMER_INITIAL -> {
                    startCount(value & 0xffff_ffffL);
                    timerChanged = true;
                }
                case TIMER_DIVIDE -> {
                    divide = v & 0xb;
                    timerChanged = true;
                }
                default -> {
                    if (reg >= LVT_TIMER && reg <= LVT_ERROR) timerChanged = writeLvt((reg - LVT_TIMER) >> 4, v);
                }
            }
            recompute();
        }
        if (eoiVector >= 0) levelEoi.accept(eoiVector);
        if (ipi != null) ipiSender.accept(ipi);
        if (timerChanged) reprogrammed.run();
        wakeIfPending();
    }

    /** Returns the EOI'd vector if it was level-triggered (for the IOAPIC), else -1. */
    private int endOfInterrupt() {
        int vector = highest(isr);
        if (vector < 0) return -1;
        clear(isr, vector);
        return test(tmr, vector) ? vector : -1;
    }

    private boolean writeLvt(int index, int v) {
        if ((svr & SVR_ENABLE) == 0) v |= MASKED;
        int old = lvt[index];
        lvt[index] = (old & ~LVT_WRITABLE[index]) | (v & LVT_WRITABLE[index]);
        if (index != LVT_TIMER_INDEX) return false;
        if (((old ^ lvt[index]) >>> 17 & 3) != 0) {
            // A mode change disarms the timer (SDM 11.5.4.1).
            initialCount = tscDeadline = 0;
            timerDue = Long.MAX_VALUE;
        }
        return true;
    }

    private ApicMessage interprocessorInterrupt() {
        int mode = icrLow >>> 8 & 7;
        int vector = icrLow & 0xff;
        if ((mode == FIXED || mode == LOWEST_PRIORITY) && vector < 16) {
            pendingErrors |= ESR_SEND_ILLEGAL_VECTOR;
            return null;
        }
        return new ApicMessage(icrHigh >>> 24, (icrLow & 1 << 11) != 0, mode, vector, (icrLow & 1 << 15) != 0,
                icrLow >>> 18 & 3, apicId);
    }

    // ------------------------------------------------------------------ timer

    private int timerMode() { return lvt[LVT_TIMER_INDEX] >>> 17 & 3; }

    private long divisor() {
        int code = (divide & 3) | (divide >>> 1 & 4);
        return 1L << ((code + 1) & 7);
    }

    private void startCount(long count) {
        if (timerMode() == TIMER_TSC_DEADLINE) return;       // the initial count is ignored in TSC-deadline mode
        initialCount = count;
        timerPeriodNanos = count * divisor();
        timerDue = count == 0 ? Long.MAX_VALUE : clock.nanos() + timerPeriodNanos;
    }

    private int currentCount() {
        if (timerMode() == TIMER_TSC_DEADLINE || timerDue == Long.MAX_VALUE) return 0;
        long left = timerDue - clock.nanos();
        if (left <= 0) {
            if (timerMode() != TIMER_PERIODIC || timerPeriodNanos == 0) return 0;
            left = timerPeriodNanos - Math.floorMod(-left, timerPeriodNanos);
        }
        return (int) Math.min(0xffff_ffffL, (left + divisor() - 1) / divisor());
    }

    @Override
    public synchronized long nextEventNanos() { return timerDue; }

    @Override
    public void onReprogrammed(Runnable listener) { this.reprogrammed = listener; }

    /** Fires the timer if its time has come: sets the LVT timer vector in the IRR unless masked, and re-arms a periodic timer. */
    @Override
    public void update() {
        synchronized (this) {
            long now = clock.nanos();
            if (timerDue > now) return;
            timerFired++;
            int entry = lvt[LVT_TIMER_INDEX];
            if ((entry & MASKED) == 0 && (entry & 0xff) >= 16) {
                set(irr, entry & 0xff);
                clear(tmr, entry & 0xff);
            }
            switch (timerMode()) {
                case TIMER_PERIODIC -> {
                    // Periods the host missed are coalesced into this one interrupt; the next is due a period on.
                    long behind = now - timerDue;
                    timerDue = timerPeriodNanos <= 0 ? Long.MAX_VALUE
                            : timerDue + (behind / timerPeriodNanos + 1) * timerPeriodNanos;
                }
                case TIMER_TSC_DEADLINE -> {
                    tscDeadline = 0;
                    timerDue = Long.MAX_VALUE;
                }
                default -> timerDue = Long.MAX_VALUE;
            }
            recompute();
        }
        wakeIfPending();
    }

    /** How often the timer has expired (for tests and diagnostics). */
    public synchronized long timerExpirations() { return timerFired; }

    // ------------------------------------------------------------------ priority

    private int ppr() {
        int isrv = highest(isr);
        int isrClass = isrv < 0 ? 0 : isrv & 0xf0;
        return (tpr & 0xf0) >= isrClass ? tpr & 0xff : isrClass;
    }

    /** Recomputes what the vCPU reads without the lock; caller holds the lock. */
    private void recompute() {
        boolean enabled = (base & BASE_ENABLE) != 0;
        int lint0 = lvt[LVT_LINT0_INDEX];
        picPassedThrough = !enabled || (lint0 & MASKED) == 0 && (lint0 >>> 8 & 7) == EXTINT;
        int v = highest(irr);
        deliverable = enabled && (svr & SVR_ENABLE) != 0 && v >= 0 && (v & 0xf0) > (ppr() & 0xf0);
    }

    private void wakeIfPending() {
        if (interruptPending()) wake.run();
    }

    private static int highest(int[] bits) {
        for (int i = 7; i >= 0; i--) if (bits[i] != 0) return i * 32 + 31 - Integer.numberOfLeadingZeros(bits[i]);
        return -1;
    }

    private static void set(int[] bits, int v) { bits[v >>> 5] |= 1 << (v & 31); }

    private static void clear(int[] bits, int v) { bits[v >>> 5] &= ~(1 << (v & 31)); }

    private static boolean test(int[] bits, int v) { return (bits[v >>> 5] & 1 << (v & 31)) != 0; }
}
