package org.vireo.x86.platform;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import org.vireo.bus.IoHandler;

/**
 * The MC146818-style CMOS RTC and its 128 bytes of NVRAM behind index port 0x70 (bit 7 masks NMI) and data port
 * 0x71. The date follows {@code clock} (in UTC, which is how Linux reads a PC's RTC) plus whatever offset the guest
 * sets; register B chooses BCD or binary and 12- or 24-hour format; status A reports update-in-progress in the last
 * 244 us of each second; status D says the battery is good. The memory-size bytes are filled in as a BIOS would.
 * Interrupts (IRQ8: periodic, alarm, update-ended) are not generated: register C always reads 0.
 */
public final class CmosRtc implements IoHandler {
    public static final int PORT = 0x70;
    public static final int IRQ = 8;

    static final int SECONDS = 0x00, MINUTES = 0x02, HOURS = 0x04, WEEKDAY = 0x06, DAY = 0x07, MONTH = 0x08, YEAR = 0x09;
    static final int STATUS_A = 0x0a, STATUS_B = 0x0b, STATUS_C = 0x0c, STATUS_D = 0x0d, CENTURY = 0x32;
    private static final int B_SET = 0x80, B_BINARY = 0x04, B_24H = 0x02;
    private static final long UPDATE_IN_PROGRESS_NANOS = 244_000;
    private static final long MIB = 1 << 20;

    private final Clock clock;
    private final byte[] ram = new byte[128];
    private int index;
    private boolean nmiMasked = true;
    private Duration offset = Duration.ZERO;

    /**
     * @param ramBelow4G bytes of RAM below 4 GiB (including the first MiB)
     * @param ramAbove4G bytes of RAM from 4 GiB up
     */
    public CmosRtc(Clock clock, long ramBelow4G, long ramAbove4G) {
        this.clock = clock;
        ram[STATUS_A] = 0x26;                         // 32.768 kHz time base, 1024 Hz periodic rate
        ram[STATUS_B] = B_24H;                        // BCD, 24-hour: what PC firmware leaves
        ram[STATUS_D] = (byte) 0x80;                  // valid RAM and time
        ram[0x14] = 0x02;                             // equipment: maths coprocessor present
        putWord(0x15, 640);                           // base memory in KiB
        long extendedKib = Math.min(Math.max(0, ramBelow4G - MIB) / 1024, 0xffff);
        putWord(0x17, (int) extendedKib);             // memory from 1 MiB, in KiB (saturates at 64 MiB)
        putWord(0x30, (int) extendedKib);
        long above16M = Math.min(Math.max(0, ramBelow4G - 16 * MIB) / 65536, 0xffff);
        putWord(0x34, (int) above16M);                // memory from 16 MiB to 4 GiB, in 64 KiB units
        long above4G = ramAbove4G / 65536;
        ram[0x5b] = (byte) above4G;
        ram[0x5c] = (byte) (above4G >>> 8);
        ram[0x5d] = (byte) (above4G >>> 16);
    }

    private void putWord(int at, int value) {
        ram[at] = (byte) value;
        ram[at + 1] = (byte) (value >>> 8);
    }

    /** True while the guest has set bit 7 of the index port (NMI disabled). */
    public synchronized boolean nmiMasked() { return nmiMasked; }

    /** A NVRAM byte as the guest would read it (for tests). */
    public synchronized int nvram(int at) { return readData(at & 0x7f); }

    @Override
    public synchronized long read(long offset, int size) {
        if (offset == 0) return 0xff;          // the index port is write-only
        return readData(index);
    }

    @Override
    public synchronized void write(long offset, int size, long value) {
        int v = (int) value & 0xff;
        if (offset == 0) {
            index = v & 0x7f;
            nmiMasked = (v & 0x80) != 0;
            return;
        }
        writeData(index, v);
    }

    private boolean setMode() { return (ram[STATUS_B] & B_SET) != 0; }

    private LocalDateTime now() {
        return LocalDateTime.ofInstant(clock.instant().plus(offset), ZoneOffset.UTC);
    }

    private int readData(int at) {
        switch (at) {
            case SECONDS, MINUTES, HOURS, WEEKDAY, DAY, MONTH, YEAR, CENTURY -> {
                if (!setMode()) storeTime(now());
                return ram[at] & 0xff;
            }
            case STATUS_A -> {
                Instant t = clock.instant();
                boolean updating = !setMode() && t.getNano() >= 1_000_000_000L - UPDATE_IN_PROGRESS_NANOS;
                return (ram[STATUS_A] & 0x7f) | (updating ? 0x80 : 0);
            }
            case STATUS_C -> {
                return 0;
            }
            default -> {
                return ram[at] & 0xff;
            }
        }
    }

    private void writeData(int at, int v) {
        switch (at) {
            case SECONDS, MINUTES, HOURS, WEEKDAY, DAY, MONTH, YEAR, CENTURY -> {
                if (setMode()) {
                    ram[at] = (byte) v;              // taken when SET is cleared
                } else {
                    storeTime(now());
                    ram[at] = (byte) v;
                    commitTime();
                }
            }
            case STATUS_A -> ram[STATUS_A] = (byte) (v & 0x7f);
            case STATUS_B -> {
                boolean wasSet = setMode();
                if (!wasSet && (v & B_SET) != 0) storeTime(now());     // freeze what the guest will edit
                // The format bits apply to what is stored from now on, so re-encode a frozen time.
                LocalDateTime frozen = wasSet ? decodeTime() : null;
                ram[STATUS_B] = (byte) ((v & B_SET) != 0 ? v & ~0x10 : v);   // SET clears UIE
                if (frozen != null) storeTime(frozen);
                if (wasSet && (v & B_SET) == 0) commitTime();
            }
            case STATUS_C, STATUS_D -> { }                               // read-only
            default -> ram[at] = (byte) v;
        }
    }

    private boolean binary() { return (ram[STATUS_B] & B_BINARY) != 0; }

    private int encode(int value) { return binary() ? value : (value / 10) << 4 | value % 10; }

    private int decode(int stored) { return binary() ? stored : (stored >>> 4) * 10 + (stored & 0xf); }

    private void storeTime(LocalDateTime t) {
        ram[SECONDS] = (byte) encode(t.getSecond());
        ram[MINUTES] = (byte) encode(t.getMinute());
        int hour = t.getHour();
        if ((ram[STATUS_B] & B_24H) != 0) {
            ram[HOURS] = (byte) encode(hour);
        } else {
            int h12 = hour % 12 == 0 ? 12 : hour % 12;
            ram[HOURS] = (byte) (encode(h12) | (hour >= 12 ? 0x80 : 0));
        }
        ram[WEEKDAY] = (byte) encode(t.getDayOfWeek().getValue() % 7 + 1);   // 1 = Sunday
        ram[DAY] = (byte) encode(t.getDayOfMonth());
        ram[MONTH] = (byte) encode(t.getMonthValue());
        ram[YEAR] = (byte) encode(t.getYear() % 100);
        ram[CENTURY] = (byte) encode(t.getYear() / 100);
    }

    /** The time in the registers, or null if the guest left nonsense there. */
    private LocalDateTime decodeTime() {
        try {
            int hourByte = ram[HOURS] & 0xff;
            int hour;
            if ((ram[STATUS_B] & B_24H) != 0) {
                hour = decode(hourByte);
            } else {
                hour = decode(hourByte & 0x7f) % 12 + ((hourByte & 0x80) != 0 ? 12 : 0);
            }
            int year = decode(ram[CENTURY] & 0xff) * 100 + decode(ram[YEAR] & 0xff);
            return LocalDateTime.of(year, decode(ram[MONTH] & 0xff), decode(ram[DAY] & 0xff), hour,
                    decode(ram[MINUTES] & 0xff), decode(ram[SECONDS] & 0xff));
        } catch (java.time.DateTimeException e) {
            return null;
        }
    }

    /** Makes the time in the registers the RTC's time from now on; a guest's invalid date is ignored. */
    private void commitTime() {
        LocalDateTime set = decodeTime();
        if (set == null) return;
        Instant host = clock.instant();
        offset = Duration.between(host.minusNanos(host.getNano()), set.toInstant(ZoneOffset.UTC));
    }
}
