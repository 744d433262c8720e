package org.vireo.shell.impl;

import java.io.IOException;
import java.util.List;
import java.util.Map;

/** Where device configurations live (ConfigurationAdmin at run time, a map in unit tests). */
interface DeviceStore {
    List<DeviceConfig> devices() throws IOException;

    /** Creates the factory configuration {@code factoryPid~alias} with {@code properties}. */
    void create(String factoryPid, String alias, Map<String, Object> properties) throws IOException;

    void delete(String pid) throws IOException;
}
