/**
 * What the shell does, as a service for other front ends (the HTTP API): VMs and device configurations with the same
 * validation and messages as the vm: and dev: commands.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package org.vireo.shell.api;
