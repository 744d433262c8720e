package org.vireo.launch;

import java.io.InputStream;
import java.io.PrintStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceReference;
import org.osgi.util.tracker.ServiceTracker;

/**
 * Runs Gogo commands through the framework's CommandProcessor service. The launcher lives outside the framework
 * and does not share Gogo's API package with the gogo.runtime bundle, so it calls the service reflectively,
 * through the interfaces as the bundle itself loads them.
 */
final class GogoCommands {
    static final String PROCESSOR = "org.apache.felix.service.command.CommandProcessor";
    static final String SESSION = "org.apache.felix.service.command.CommandSession";
    /** Converter.INSPECT: the detailed form the Gogo console prints results in. */
    private static final int INSPECT = 0;

    /** A command failed; the message is what the user sees. */
    static final class CommandException extends Exception {
        CommandException(String message) {
            super(message);
        }
    }

    private GogoCommands() {}

    /**
     * Executes each of {@code commands} in turn in one new session on {@code in}/{@code out}/{@code err}, printing
     * each non-null result on {@code out}; stops at the first that fails. Closes the session.
     */
    static void execute(BundleContext context, List<String> commands, InputStream in, PrintStream out, PrintStream err,
                        long timeout, TimeUnit unit) throws CommandException, InterruptedException {
        ServiceTracker<Object, Object> tracker = new ServiceTracker<>(context, PROCESSOR, null);
        tracker.open(true);
        try {
            Object processor = tracker.waitForService(unit.toMillis(timeout));
            ServiceReference<Object> ref = tracker.getServiceReference();
            if (processor == null || ref == null) throw new CommandException("the Gogo command processor did not start");
            Class<?> processorType = ref.getBundle().loadClass(PROCESSOR);
            Class<?> sessionType = ref.getBundle().loadClass(SESSION);
            Method createSession = processorType.getMethod("createSession", InputStream.class, java.io.OutputStream.class, java.io.OutputStream.class);
            Object session = createSession.invoke(processor, in, out, err);
            try {
                Method execute = sessionType.getMethod("execute", CharSequence.class);
                Method format = sessionType.getMethod("format", Object.class, int.class);
                for (String command : commands) {
                    Object result = execute.invoke(session, command);
                    if (result != null) out.println(format.invoke(session, result, INSPECT));
                    out.flush();
                }
            } finally {
                out.flush();
                sessionType.getMethod("close").invoke(session);
            }
        } catch (InvocationTargetException e) {
            throw new CommandException(messageOf(e.getCause()));
        } catch (ReflectiveOperationException e) {
            throw new CommandException("cannot use the Gogo command processor: " + e);
        } finally {
            tracker.close();
        }
    }

    /** The innermost useful message: Gogo wraps command failures, and some exceptions carry no message. */
    static String messageOf(Throwable t) {
        Throwable cause = t;
        while ((cause instanceof InvocationTargetException || cause.getMessage() == null) && cause.getCause() != null) {
            cause = cause.getCause();
        }
        String message = cause.getMessage();
        return message == null || message.isBlank() ? cause.getClass().getName() : message;
    }
}
