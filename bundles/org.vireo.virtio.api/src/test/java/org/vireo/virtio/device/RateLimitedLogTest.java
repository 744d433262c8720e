package org.vireo.virtio.device;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;

import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.List;
import java.util.ResourceBundle;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.junit.Test;

public class RateLimitedLogTest {
    private static final long SECOND = 1_000_000_000L;

    private record Entry(Level level, String message, Throwable thrown) {}

    /** A System.Logger that keeps what it is given, DEBUG included. */
    private static class Recording implements System.Logger {
        final List<Entry> entries = new ArrayList<>();

        @Override public String getName() { return "recording"; }

        @Override public boolean isLoggable(Level level) { return true; }

        @Override
        public void log(Level level, ResourceBundle bundle, String msg, Throwable thrown) { entries.add(new Entry(level, msg, thrown)); }

        @Override
        public void log(Level level, ResourceBundle bundle, String format, Object... params) { entries.add(new Entry(level, format, null)); }

        List<Entry> at(Level level) { return entries.stream().filter(e -> e.level() == level).toList(); }
    }

    private final Recording logger = new Recording();
    private final AtomicLong now = new AtomicLong(1000 * SECOND);
    private final RateLimitedLog log = new RateLimitedLog(logger, 60 * SECOND, now::get);

    @Test
    public void firstOfAKindAtItsLevelRepeatsAtDebugThenASummaryWithTheCount() {
        for (int i = 0; i < 1000; i++) log.warn("broken ring", () -> "queue 0 is broken");
        assertEquals(1, logger.at(Level.WARNING).size());
        assertEquals("queue 0 is broken", logger.at(Level.WARNING).get(0).message());
        assertEquals(999, logger.at(Level.DEBUG).size());
        now.addAndGet(61 * SECOND);
        log.warn("broken ring", () -> "queue 0 is broken");
        assertEquals(2, logger.at(Level.WARNING).size());
        assertEquals("queue 0 is broken (999 more like this in the last 61 s)", logger.at(Level.WARNING).get(1).message());
        assertEquals(1001, log.count("broken ring"));
        log.warn("broken ring", () -> "again");
        assertEquals("the summary starts a new interval", 2, logger.at(Level.WARNING).size());
    }

    @Test
    public void kindsAreLimitedSeparatelyAndKeepTheirLevelAndCause() {
        RuntimeException bug = new IllegalStateException("bug");
        for (int i = 0; i < 10; i++) {
            log.warn("a", () -> "a");
            log.log(Level.ERROR, "b", () -> "b", bug);
        }
        assertEquals(1, logger.at(Level.WARNING).size());
        assertEquals(1, logger.at(Level.ERROR).size());
        assertSame(bug, logger.at(Level.ERROR).get(0).thrown());
        assertEquals(0, log.count("c"));
    }

    @Test
    public void suppressedMessagesAreNotBuiltUnlessDebugIsOn() {
        System.Logger quiet = new Recording() {
            @Override public boolean isLoggable(Level level) { return level != Level.DEBUG; }

            @Override
            public void log(Level level, Supplier<String> supplier) {
                if (isLoggable(level)) entries.add(new Entry(level, supplier.get(), null));
            }
        };
        RateLimitedLog limited = new RateLimitedLog(quiet, 60 * SECOND, now::get);
        int[] built = {0};
        for (int i = 0; i < 100; i++) limited.warn("x", () -> "message " + ++built[0]);
        assertEquals(1, built[0]);
    }

    @Test
    public void kindsBeyondTheBoundShareOne() {
        for (int i = 0; i < RateLimitedLog.MAX_KINDS + 50; i++) {
            String kind = "kind " + i;
            log.warn(kind, () -> kind);
        }
        assertTrue(logger.at(Level.WARNING).size() <= RateLimitedLog.MAX_KINDS + 1);
    }
}
