package org.vireo.virtio.bus.impl;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.vireo.virtio.driver.VirtioDeviceId;
import org.vireo.virtio.driver.VirtioDriver;
import org.vireo.virtio.driver.VirtioDriverDevice;

/** A driver that records probe/remove/configChanged calls and checks that they pair up. */
class FakeDriver implements VirtioDriver {
    final String name;
    final List<VirtioDeviceId> ids;
    final long features;
    final List<String> log = new CopyOnWriteArrayList<>();
    final Map<VirtioDriverDevice, Boolean> live = new ConcurrentHashMap<>();
    final AtomicInteger configChanges = new AtomicInteger();
    final AtomicInteger violations = new AtomicInteger();
    volatile boolean failProbe;

    FakeDriver(String name, long features, VirtioDeviceId... ids) {
        this.name = name;
        this.features = features;
        this.ids = List.of(ids);
    }

    @Override public String name() { return name; }
    @Override public List<VirtioDeviceId> idTable() { return ids; }
    @Override public long supportedFeatures() { return features; }

    @Override
    public void probe(VirtioDriverDevice device) throws Exception {
        log.add("probe " + device.name());
        if (failProbe) throw new Exception("refused by test");
        if (live.putIfAbsent(device, true) != null) violations.incrementAndGet();
    }

    @Override
    public void remove(VirtioDriverDevice device) {
        log.add("remove " + device.name());
        if (live.remove(device) == null) violations.incrementAndGet();
    }

    @Override
    public void configChanged(VirtioDriverDevice device) {
        if (!live.containsKey(device)) violations.incrementAndGet();
        configChanges.incrementAndGet();
    }

    @Override public String toString() { return name; }
}
