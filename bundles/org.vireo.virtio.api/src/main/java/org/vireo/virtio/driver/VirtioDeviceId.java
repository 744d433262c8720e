package org.vireo.virtio.driver;

/**
 * One entry of a driver's id table. {@link #ANY} as vendor matches every vendor. (The seed compared the vendor
 * the wrong way round; this is the intended match: the entry's vendor is ANY or equals the device's.)
 */
public record VirtioDeviceId(int device, int vendor) {
    public static final int ANY = 0xffffffff;

    public static VirtioDeviceId of(int device) { return new VirtioDeviceId(device, ANY); }

    public boolean matches(int deviceId, int vendorId) {
        return device == deviceId && (vendor == ANY || vendor == vendorId);
    }
}
