package org.vireo.virtio.device;

import java.util.concurrent.locks.ReentrantLock;

/**
 * The activation bookkeeping a device backend needs to honour {@link VirtioDevice#reset()}: which activation is
 * current, the locks its queue work runs under, the usual loop that serves a queue, and how to give up on a broken
 * one. Queue work checks {@link #isCurrent} while holding its lock before it touches a queue; {@link #reset()} clears
 * the activation and then takes and releases every lock in turn, so once it returns no work of the old activation is
 * still running and none will start.
 * <p>
 * When the guest's ring is malformed, or the device itself fails, the activation is stopped and the driver is asked
 * for a reset (NEEDS_RESET); a stopped activation's queues are not served again.
 */
public final class ActivationGuard {
    /** One activation: the context the transport gave at DRIVER_OK, valid until reset. */
    public static final class Activation {
        private final VirtioDeviceContext context;
        private volatile boolean stopped;

        private Activation(VirtioDeviceContext context) { this.context = context; }

        public VirtioDeviceContext context() { return context; }

        /** Whether the device gave up on this activation and asked for a reset. */
        public boolean stopped() { return stopped; }
    }

    /** Processes one chain popped from a queue. */
    @FunctionalInterface
    public interface ChainHandler {
        /** @return the bytes written into the chain's writable part: its used length */
        int handle(DescriptorChain chain);
    }

    private final RateLimitedLog log;
    private final String label;
    private final ReentrantLock[] locks;
    private volatile Activation current;

    /**
     * @param log   the device's logger, for the messages of {@link #stop} and {@link #fail} (rate-limited: a guest
     *              that breaks its rings again and again must not flood the log)
     * @param label what those messages start with, e.g. {@code "virtio-blk disk0"}
     * @param locks the locks the device's queue work holds, in the order {@link #activate} takes them
     */
    public ActivationGuard(System.Logger log, String label, ReentrantLock... locks) {
        this.log = new RateLimitedLog(log);
        this.label = label;
        this.locks = locks.clone();
    }

    /** The current activation, or null before activate and after reset. */
    public Activation current() { return current; }

    /** Whether {@code act} is (still) the current activation. */
    public boolean isCurrent(Activation act) { return act != null && current == act; }

    /** Makes a new activation for {@code context} current, holding every lock while it does. */
    public Activation activate(VirtioDeviceContext context) {
        Activation act = new Activation(context);
        for (ReentrantLock lock : locks) lock.lock();
        try {
            current = act;
        } finally {
            for (int i = locks.length - 1; i >= 0; i--) locks[i].unlock();
        }
        return act;
    }

    /** Forgets the current activation, then waits for queue work in flight under each lock to finish. */
    public void reset() {
        current = null;
        for (ReentrantLock lock : locks) {
            lock.lock();
            lock.unlock();
        }
    }

    /** Gives up on {@code act}: logs {@code reason} as a (rate-limited) warning and asks the driver for a reset. */
    public void stop(Activation act, String reason) {
        act.stopped = true;
        log.warn("stopped", () -> reason);
        act.context.needsReset(reason);
    }

    /**
     * Stops {@code act} after serving queue {@code queueName} (e.g. "receive queue") failed: with a
     * {@link VirtqueueException} the guest's ring is broken; anything else is an internal error, logged with its
     * stack trace.
     *
     * @param work what the device was doing, for the log ("input", "output"), or "" to say nothing
     */
    public void fail(Activation act, String queueName, String work, Exception e) {
        if (e instanceof VirtqueueException) {
            stop(act, label + ": broken " + queueName + ": " + e.getMessage());
        } else {
            log.log(System.Logger.Level.ERROR, "internal error", () -> label + ": internal error" + (work.isEmpty() ? "" : " on " + work), e);
            stop(act, label + ": internal error: " + e);
        }
    }

    /**
     * Serves queue {@code index} of {@code act}, which the caller's lock for that queue guards: every available
     * chain goes to {@code handler} and back to the driver with the length it returns. Notifications are off while
     * draining; after turning them back on the queue is looked at once more, for a chain the driver added meanwhile.
     * Stops when {@code act} is no longer current; signals the driver if anything was used. Does nothing if
     * {@code act} is null, not current or stopped, or the queue is not enabled.
     *
     * @see #fail for {@code queueName} and {@code work}
     */
    public void serve(Activation act, int index, String queueName, String work, ChainHandler handler) {
        if (!isCurrent(act) || act.stopped) return;
        DeviceQueue queue = act.context.queue(index);
        if (queue == null) return;
        boolean used = false;
        try {
            while (current == act) {
                queue.setNotification(false);
                DescriptorChain chain;
                while (current == act && (chain = queue.pop()) != null) {
                    queue.addUsed(chain.head(), handler.handle(chain));
                    used = true;
                }
                if (current != act) break;
                // Re-enable kicks, then look once more: the driver may have added buffers while they were off.
                queue.setNotification(true);
                chain = queue.pop();
                if (chain == null) break;
                queue.addUsed(chain.head(), handler.handle(chain));
                used = true;
            }
        } catch (VirtqueueException | RuntimeException e) {
            fail(act, queueName, work, e);
        } finally {
            if (used && current == act) act.context.signalUsed(index);
        }
    }
}
