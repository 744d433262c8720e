package org.vireo.x86.platform;

import org.vireo.bus.InterruptLine;

/** An interrupt line that remembers its level and counts rising edges. */
final class RecordingLine implements InterruptLine {
    boolean level;
    int risingEdges;

    @Override
    public synchronized void set(boolean high) {
        if (high && !level) risingEdges++;
        level = high;
    }
}
