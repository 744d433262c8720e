package org.vireo.launch;

import java.io.InputStream;
import java.io.PrintStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
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
    /** The service properties that make a service's methods Gogo commands. */
    static final String SCOPE = "osgi.command.scope";
    static final String FUNCTION = "osgi.command.function";
    /** Converter.INSPECT: the detailed form the Gogo console prints results in. */
    private static final int INSPECT = 0;

    /** A command failed; the message is what the user sees. */
    static final class CommandException extends Exception {
        CommandException(String message) {
            super(message);
        }
    }

    /** Called before each command runs, with the names Gogo knows at that moment (asked anew on each call). */
    @FunctionalInterface
    interface BeforeCommand {
        void await(String command, Supplier<Set<String>> knownCommands) throws InterruptedException;
    }

    private GogoCommands() {}

    /**
     * Executes each of {@code commands} in turn in one new session on {@code in}/{@code out}/{@code err}, printing
     * each non-null result on {@code out}; stops at the first that fails. Closes the session. {@code before} is called
     * before each command, e.g. to wait for the commands it names.
     */
    static void execute(BundleContext context, List<String> commands, InputStream in, PrintStream out, PrintStream err,
                        long timeout, TimeUnit unit, BeforeCommand before) throws CommandException, InterruptedException {
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
                Supplier<Set<String>> known = () -> knownCommands(context, processor);
                for (String command : commands) {
                    before.await(command, known);
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

    /**
     * The commands Gogo can run now, as {@code scope:function}: those its processor lists (its own, such as
     * {@code osgi:eval}, and every command service it has seen) and every command service registered, in case the
     * processor has not been told of the newest yet.
     */
    static Set<String> knownCommands(BundleContext context, Object processor) {
        Set<String> known = new HashSet<>();
        try {
            if (processor.getClass().getMethod("getCommands").invoke(processor) instanceof Set<?> names) {
                for (Object name : names) known.add(String.valueOf(name));
            }
        } catch (ReflectiveOperationException | RuntimeException e) {
            // another Gogo runtime: the service registry alone
        }
        try {
            ServiceReference<?>[] refs = context.getAllServiceReferences(null, "(&(" + SCOPE + "=*)(" + FUNCTION + "=*))");
            if (refs != null) {
                for (ServiceReference<?> ref : refs) {
                    Object functions = ref.getProperty(FUNCTION);
                    for (Object function : functions instanceof Object[] many ? many : new Object[] {functions}) {
                        known.add(ref.getProperty(SCOPE) + ":" + function);
                    }
                }
            }
        } catch (InvalidSyntaxException | IllegalStateException e) {
            // the framework is stopping: what the processor said is all there is
        }
        return known;
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
