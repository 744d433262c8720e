package org.vireo.virtio.core;

import java.util.List;
import java.util.function.Supplier;
import org.vireo.virtio.VirtioTransportInfo;

/** A {@link VirtioTransportInfo} read live from a {@link VirtioDeviceCore}; the transport supplies its address text. */
public final class CoreTransportInfo implements VirtioTransportInfo {
    private final VirtioDeviceCore core;
    private final String name;
    private final String transport;
    private final Supplier<String> address;
    private final String machine;
    private final String deviceName;

    public CoreTransportInfo(VirtioDeviceCore core, String name, String transport, Supplier<String> address,
                             String machine, String deviceName) {
        this.core = core;
        this.name = name;
        this.transport = transport;
        this.address = address;
        this.machine = machine;
        this.deviceName = deviceName;
    }

    @Override public String name() { return name; }
    @Override public String transport() { return transport; }
    @Override public String address() { return address.get(); }
    @Override public String machine() { return machine; }
    @Override public int deviceId() { return core.deviceId(); }
    @Override public String deviceName() { return deviceName; }
    @Override public int status() { return core.status(); }
    @Override public long deviceFeatures() { return core.offeredFeatures(); }
    @Override public long driverFeatures() { return core.driverFeatures(); }
    @Override public List<QueueInfo> queues() { return core.queueInfos(); }

    @Override
    public String backend() {
        try {
            String d = core.device().describe();
            return d == null ? "" : d;
        } catch (RuntimeException e) {
            return "(describe failed: " + e + ")";
        }
    }

    @Override
    public String toString() { return name + " " + transport + " " + address() + " " + deviceName; }
}
