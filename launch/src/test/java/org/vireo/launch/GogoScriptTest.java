package org.vireo.launch;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.util.List;
import java.util.Set;
import org.junit.Test;

/** Which names of a -c script the launcher waits for before running it. */
public class GogoScriptTest {
    private static List<String> names(String script) {
        return List.copyOf(GogoScript.commandNames(script));
    }

    @Test
    public void theFirstWordOfEachStatementAndPipelineStage() {
        assertEquals(List.of("lb"), names("lb -s"));
        assertEquals(List.of("lb", "virtio:devices"), names("lb; virtio:devices"));
        assertEquals(List.of("lb", "grep"), names("lb | grep Active"));
        assertEquals(List.of("echo", "kvm:status"), names("echo a\nkvm:status && echo b"));
    }

    @Test
    public void stringsVariablesAndMethodCallsAreNotCommands() {
        assertEquals(List.of("echo"), names("echo 'a; b' \"c | d\" ${x} $y"));
        assertEquals(List.of(), names("($.context bundle 0) symbolicname"));
        assertEquals(List.of(), names("(($.context bundle 0) loadclass java.lang.System) setProperty vireo.exit.code 7"));
        assertEquals(List.of("each", "echo"), names("each [a b; c] { echo $it }"));
        assertEquals(List.of(), names("'quoted' length"));
    }

    @Test
    public void namesTheScriptAssignsAreNotWaitedFor() {
        assertEquals(List.of("echo"), names("x = lb; echo $x"));
        assertEquals(List.of("kvm:status"), names("f = { kvm:status }; f"));
    }

    @Test
    public void aNameIsKnownWithOrWithoutItsScopeAndInAnyCase() {
        Set<String> known = Set.of("felix:lb", "gogo:echo", "virtio:devices");
        assertTrue(GogoScript.isKnown("lb", known));
        assertTrue(GogoScript.isKnown("felix:lb", known));
        assertTrue(GogoScript.isKnown("LB", known));
        assertTrue(GogoScript.isKnown("devices", known));
        assertFalse(GogoScript.isKnown("gogo:lb", known));
        assertFalse(GogoScript.isKnown("nosuch", known));
        assertFalse(GogoScript.isKnown("virtio:drivers", known));
    }
}
