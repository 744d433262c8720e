package org.vireo.launch;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.logging.ConsoleHandler;
import java.util.logging.Formatter;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * Bundles log through {@link System.Logger}, which lands in java.util.logging. The console belongs to the shell, so
 * only warnings and errors reach it, one line each, unless {@code -Dvireo.log.level=INFO} (or FINE...) asks for
 * more. A {@code java.util.logging.config.file} given on the command line wins over all of this.
 */
final class ConsoleLogging {
    static final String LEVEL_PROPERTY = "vireo.log.level";

    private ConsoleLogging() {}

    static void configure() {
        if (System.getProperty("java.util.logging.config.file") != null
                || System.getProperty("java.util.logging.config.class") != null) return;
        Level level = parse(System.getProperty(LEVEL_PROPERTY, "WARNING"));
        LogManager.getLogManager().reset();
        Logger root = Logger.getLogger("");
        root.setLevel(level);
        ConsoleHandler handler = new ConsoleHandler();
        handler.setLevel(level);
        handler.setFormatter(new OneLine(level.intValue() <= Level.FINE.intValue()));
        root.addHandler(handler);
    }

    private static Level parse(String name) {
        try {
            return Level.parse(name.strip().toUpperCase(java.util.Locale.ROOT));
        } catch (IllegalArgumentException e) {
            return Level.WARNING;
        }
    }

    /** "vireo: WARNING org.vireo.x.Y: message: cause", with stack traces only at FINE and below. */
    private static final class OneLine extends Formatter {
        private final boolean stackTraces;

        OneLine(boolean stackTraces) {
            this.stackTraces = stackTraces;
        }

        @Override
        public String format(LogRecord record) {
            StringBuilder line = new StringBuilder("vireo: ").append(record.getLevel().getName()).append(' ')
                    .append(record.getLoggerName()).append(": ").append(formatMessage(record));
            Throwable thrown = record.getThrown();
            if (thrown != null) {
                if (stackTraces) {
                    StringWriter trace = new StringWriter();
                    thrown.printStackTrace(new PrintWriter(trace));
                    line.append(System.lineSeparator()).append(trace);
                } else {
                    line.append(": ").append(GogoCommands.messageOf(thrown));
                }
            }
            return line.append(System.lineSeparator()).toString();
        }
    }
}
