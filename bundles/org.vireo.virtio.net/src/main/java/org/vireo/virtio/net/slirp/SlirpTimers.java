package org.vireo.virtio.net.slirp;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The timers libslirp asks for (timer_new, timer_mod, timer_free), kept on the backend's loop thread: one-shot
 * deadlines in milliseconds of the backend's clock. Handles are small positive numbers that libslirp stores as
 * opaque pointers; a handle it never got from us is ignored. Not thread-safe: the loop thread alone uses it.
 *
 * @param <A> what to do when a timer fires
 */
final class SlirpTimers<A> {
    private static final long UNARMED = Long.MIN_VALUE;

    private static final class Timer<A> {
        final A action;
        long deadline = UNARMED;

        Timer(A action) { this.action = action; }
    }

    private final Map<Long, Timer<A>> timers = new HashMap<>();
    private long nextHandle = 1;

    /** A new, unarmed timer. */
    long create(A action) {
        long handle = nextHandle++;
        timers.put(handle, new Timer<>(action));
        return handle;
    }

    /** Arms (or re-arms) {@code handle} to fire once at {@code deadlineMs}; false for an unknown handle. */
    boolean schedule(long handle, long deadlineMs) {
        Timer<A> t = timers.get(handle);
        if (t == null) return false;
        t.deadline = deadlineMs;
        return true;
    }

    /** Forgets {@code handle}; false for an unknown handle. */
    boolean free(long handle) { return timers.remove(handle) != null; }

    int size() { return timers.size(); }

    boolean armed(long handle) {
        Timer<A> t = timers.get(handle);
        return t != null && t.deadline != UNARMED;
    }

    /** Disarms and returns the actions of the timers due at {@code nowMs}, earliest first. */
    List<A> takeDue(long nowMs) {
        List<Timer<A>> due = new ArrayList<>();
        for (Timer<A> t : timers.values()) {
            if (t.deadline != UNARMED && t.deadline <= nowMs) due.add(t);
        }
        due.sort((a, b) -> Long.compare(a.deadline, b.deadline));
        List<A> actions = new ArrayList<>(due.size());
        for (Timer<A> t : due) {
            t.deadline = UNARMED;
            actions.add(t.action);
        }
        return actions;
    }

    /** Milliseconds from {@code nowMs} to the earliest armed deadline, within 0..{@code capMs}. */
    long millisUntilNext(long nowMs, long capMs) {
        long wait = capMs;
        for (Timer<A> t : timers.values()) {
            if (t.deadline == UNARMED) continue;
            wait = t.deadline <= nowMs ? 0 : Math.min(wait, t.deadline - nowMs);
            if (wait == 0) break;
        }
        return wait;
    }
}
