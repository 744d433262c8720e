/**
 * Device kinds: what a device bundle tells the rest of Vireo about the devices it makes, so that a new kind arrives
 * as one bundle. A {@link org.vireo.virtio.kind.DeviceKind} (a service in the framework, a
 * {@link java.util.ServiceLoader} provider in plain Java) names its factory configuration, describes its settings
 * from the bundle's own MetaType ({@link org.vireo.virtio.kind.MetaTypeSettings}), maps {@code vireo run} options
 * onto them ({@link org.vireo.virtio.kind.RunOption}) and is the one factory of its devices, called by the bundle's
 * configuration component and by a run without a framework alike. docs/ADDING-A-DEVICE.md is the recipe.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package org.vireo.virtio.kind;
