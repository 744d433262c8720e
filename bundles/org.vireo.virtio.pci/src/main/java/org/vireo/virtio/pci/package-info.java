/**
 * The modern virtio-pci transport (virtio 1.x 4.1): {@link org.vireo.virtio.pci.VirtioPci#plug} attaches a PCI
 * function with virtio vendor capabilities, one memory BAR, MSI-X and INTx to a machine's PCI bus and, on Java
 * guests, gives the driver side.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package org.vireo.virtio.pci;
