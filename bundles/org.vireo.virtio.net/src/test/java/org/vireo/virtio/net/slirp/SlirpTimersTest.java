package org.vireo.virtio.net.slirp;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;

import java.util.List;
import org.junit.Test;

public class SlirpTimersTest {
    private final SlirpTimers<String> timers = new SlirpTimers<>();

    @Test
    public void unarmedTimersNeitherFireNorShortenTheWait() {
        long a = timers.create("a");
        assertNotEquals(0, a);
        assertFalse(timers.armed(a));
        assertEquals(List.of(), timers.takeDue(Long.MAX_VALUE - 1));
        assertEquals(100, timers.millisUntilNext(0, 100));
    }

    @Test
    public void dueTimersFireOnceInDeadlineOrder() {
        long a = timers.create("a"), b = timers.create("b"), c = timers.create("c");
        timers.schedule(a, 50);
        timers.schedule(b, 20);
        timers.schedule(c, 500);
        assertEquals(20, timers.millisUntilNext(0, 100));
        assertEquals(0, timers.millisUntilNext(30, 100));
        assertEquals(List.of(), timers.takeDue(19));
        assertEquals(List.of("b", "a"), timers.takeDue(60));
        assertEquals("one-shot", List.of(), timers.takeDue(60));
        assertTrue(timers.armed(c));
        assertEquals(100, timers.millisUntilNext(60, 100));
        timers.schedule(a, 70);   // re-armed
        assertEquals(List.of("a", "c"), timers.takeDue(1000));
    }

    @Test
    public void freedAndUnknownHandlesAreIgnored() {
        long a = timers.create("a");
        timers.schedule(a, 5);
        assertTrue(timers.free(a));
        assertFalse(timers.free(a));
        assertFalse(timers.schedule(a, 5));
        assertFalse(timers.schedule(12345, 5));
        assertEquals(List.of(), timers.takeDue(10));
        assertEquals(0, timers.size());
    }
}
