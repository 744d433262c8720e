package org.vireo.virtio.testkit;

import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * Records what {@link System.Logger}s below a name prefix log (they land in java.util.logging outside a framework),
 * for tests that bound how much a guest can make the host log:
 * <pre>{@code
 * try (LogCapture logs = LogCapture.of("org.vireo")) {
 *     ...
 *     assertTrue(logs.atLeast(Level.WARNING).size() <= 4);
 * }
 * }</pre>
 * Only records at INFO and above are kept (the logger's level is left alone); nothing is printed meanwhile.
 */
public final class LogCapture extends Handler implements AutoCloseable {
    private final Logger logger;
    private final boolean parentHandlers;
    private final List<LogRecord> records = new ArrayList<>();

    private LogCapture(String name) {
        this.logger = Logger.getLogger(name);
        this.parentHandlers = logger.getUseParentHandlers();
        logger.addHandler(this);
        logger.setUseParentHandlers(false);
    }

    /** Starts recording everything logged under {@code name} (a logger name or package prefix). */
    public static LogCapture of(String name) { return new LogCapture(name); }

    @Override
    public synchronized void publish(LogRecord record) {
        if (record.getLevel().intValue() >= Level.INFO.intValue()) records.add(record);
    }

    /** The records at {@code level} or above, in order. */
    public synchronized List<LogRecord> atLeast(Level level) {
        List<LogRecord> out = new ArrayList<>();
        for (LogRecord r : records) if (r.getLevel().intValue() >= level.intValue()) out.add(r);
        return out;
    }

    /** The messages of {@link #atLeast} WARNING, for assertion messages. */
    public String warnings() {
        StringBuilder b = new StringBuilder();
        for (LogRecord r : atLeast(Level.WARNING)) b.append(r.getLevel()).append(' ').append(r.getMessage()).append('\n');
        return b.toString();
    }

    public synchronized void clear() { records.clear(); }

    @Override public void flush() { }

    /** Stops recording; the logger prints through its parents again. */
    @Override
    public void close() {
        logger.removeHandler(this);
        logger.setUseParentHandlers(parentHandlers);
    }
}
