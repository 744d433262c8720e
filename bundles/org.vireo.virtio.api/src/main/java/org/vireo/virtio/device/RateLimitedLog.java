package org.vireo.virtio.device;

import java.lang.System.Logger.Level;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * Log messages that a guest can cause over and over (a broken ring, a refused DRIVER_OK, a BAR placed over
 * another device, a malformed request), limited per kind so that no guest can flood the host's log, which in
 * {@code vireo run} is the terminal holding the guest's own console.
 * <p>
 * The first message of a kind is logged at its level. The same kind again within the interval (a minute by
 * default) is logged at DEBUG only, and counted; the first one after the interval is logged at its level again,
 * saying how many it stands for ("... (41 more like this in the last 60 s)"). A guest that repeats one fault
 * forever therefore costs one line per kind per minute, and whoever debugs at DEBUG still sees every message.
 * <p>
 * Kinds are fixed strings chosen by the caller, never guest data; past {@link #MAX_KINDS} kinds, the rest share
 * one. Messages are suppliers: a suppressed message is only formatted when DEBUG is on. Thread-safe.
 */
public final class RateLimitedLog {
    public static final long DEFAULT_INTERVAL_NANOS = 60_000_000_000L;
    /** Bound on the kinds tracked, whatever the callers pass. */
    public static final int MAX_KINDS = 64;
    private static final String OTHER = "(other)";

    private final System.Logger log;
    private final long intervalNanos;
    private final LongSupplier clock;
    private final ConcurrentHashMap<String, Kind> kinds = new ConcurrentHashMap<>();

    private static final class Kind {
        long total;
        long suppressed;
        long lastLogged;
    }

    /** Limits messages to {@code log} to one per kind per minute. */
    public RateLimitedLog(System.Logger log) { this(log, DEFAULT_INTERVAL_NANOS, System::nanoTime); }

    /**
     * @param intervalNanos how long after a logged message of a kind the next ones only count
     * @param nanoClock     the time, in nanoseconds (System::nanoTime, or a test's clock)
     */
    public RateLimitedLog(System.Logger log, long intervalNanos, LongSupplier nanoClock) {
        if (intervalNanos < 0) throw new IllegalArgumentException("negative interval");
        this.log = log;
        this.intervalNanos = intervalNanos;
        this.clock = nanoClock;
    }

    /** A WARNING of {@code kind}, limited. */
    public void warn(String kind, Supplier<String> message) { log(Level.WARNING, kind, message, null); }

    /** A message of {@code kind} at {@code level}, limited. */
    public void log(Level level, String kind, Supplier<String> message) { log(level, kind, message, null); }

    /** A message of {@code kind} at {@code level} with its cause (null for none), limited. */
    public void log(Level level, String kind, Supplier<String> message, Throwable thrown) {
        Kind k = kind(kind);
        long now = clock.getAsLong();
        long stoodFor;
        long elapsed;
        synchronized (k) {
            elapsed = now - k.lastLogged;
            if (k.total++ > 0 && elapsed < intervalNanos) {
                k.suppressed++;
                stoodFor = -1;
            } else {
                stoodFor = k.suppressed;
                k.suppressed = 0;
                k.lastLogged = now;
            }
        }
        if (stoodFor < 0) {
            if (thrown == null) log.log(Level.DEBUG, message);
            else log.log(Level.DEBUG, message, thrown);
            return;
        }
        Supplier<String> text = stoodFor == 0 ? message
                : () -> message.get() + " (" + stoodFor + " more like this in the last " + elapsed / 1_000_000_000L + " s)";
        if (thrown == null) log.log(level, text);
        else log.log(level, text, thrown);
    }

    /** How many messages of {@code kind} were asked for, logged or not. */
    public long count(String kind) {
        Kind k = kinds.get(kind);
        if (k == null) return 0;
        synchronized (k) {
            return k.total;
        }
    }

    private Kind kind(String kind) {
        Kind k = kinds.get(kind);
        if (k != null) return k;
        if (kinds.size() >= MAX_KINDS) return kinds.computeIfAbsent(OTHER, x -> new Kind());
        return kinds.computeIfAbsent(kind, x -> new Kind());
    }
}
