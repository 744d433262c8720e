package org.vireo.virtio.bus.impl;

import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The bus's single worker thread: bind events are queued to it so probes run outside the DS callbacks, in arrival
 * order; departures wait for their turn so a driver's remove has finished when the service is gone.
 */
final class BusWorker {
    private static final System.Logger LOG = System.getLogger(BusWorker.class.getName());

    private final ExecutorService executor;
    private volatile Thread thread;

    BusWorker(String name) {
        executor = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            thread = t;
            return t;
        });
    }

    /** Queues {@code task}; after {@link #shutdown()} it runs on the caller's thread instead. */
    void submit(Runnable task) {
        try {
            executor.execute(() -> runLogged(task));
        } catch (RejectedExecutionException e) {
            runLogged(task);
        }
    }

    /** Runs {@code task} in its turn and waits for it (inline when called from the worker itself or after shutdown). */
    void runAndWait(Runnable task) {
        if (Thread.currentThread() == thread) {
            runLogged(task);
            return;
        }
        Future<?> done;
        try {
            done = executor.submit(() -> runLogged(task));
        } catch (RejectedExecutionException e) {
            runLogged(task);
            return;
        }
        boolean interrupted = false;
        while (true) {
            try {
                done.get();
                break;
            } catch (InterruptedException e) {
                interrupted = true;   // a departure must complete: keep waiting, re-assert the interrupt after
            } catch (ExecutionException e) {
                break;                // runLogged already logged it
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
    }

    /** Waits until every task queued before this call has run; false on timeout. */
    boolean awaitQuiescence(long timeout, TimeUnit unit) throws InterruptedException {
        if (Thread.currentThread() == thread) return true;
        try {
            executor.submit(() -> {}).get(timeout, unit);
            return true;
        } catch (RejectedExecutionException e) {
            return true;
        } catch (ExecutionException e) {
            return true;
        } catch (TimeoutException e) {
            return false;
        }
    }

    void shutdown() {
        executor.shutdown();
    }

    private static void runLogged(Runnable task) {
        try {
            task.run();
        } catch (RuntimeException | Error e) {
            LOG.log(System.Logger.Level.ERROR, "virtio bus task failed", e);
        }
    }
}
