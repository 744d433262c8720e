package org.vireo.virtio.kind;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.Test;

public class SettingsTest {
    private static final String METATYPE = """
            <?xml version="1.0" encoding="UTF-8"?>
            <metatype:MetaData xmlns:metatype="http://www.osgi.org/xmlns/metatype/v1.2.0">
              <OCD id="x.Config" name="X">
                <AD id="virtio.device.name" type="String" name="Device name" default="disk"/>
                <AD id="virtio.transport" type="String" name="Transport" default="mmio">
                  <Option label="virtio-mmio" value="mmio"/><Option label="virtio-pci" value="pci"/>
                </AD>
                <AD id="path" type="String" name="Image path" description="Raw image"/>
                <AD id="readonly" type="Boolean" required="false" name="Read-only" default="false"/>
                <AD id="max.nodes" type="Integer" required="false" name="Nodes" default="65536"/>
              </OCD>
            </metatype:MetaData>
            """;

    private static List<Setting> settings() throws Exception {
        return MetaTypeSettings.parse(new ByteArrayInputStream(METATYPE.getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    public void metaTypeGivesKeysTypesDefaultsAndOptions() throws Exception {
        List<Setting> s = settings();
        assertEquals(List.of("virtio.device.name", "virtio.transport", "path", "readonly", "max.nodes"), s.stream().map(Setting::key).toList());
        assertEquals(List.of("mmio", "pci"), s.get(1).options());
        assertNull("no default: a configuration must set it", s.get(2).defaultValue());
        assertTrue(s.get(2).needed() && s.get(2).kindSpecific());
        assertFalse(s.get(0).kindSpecific());
        assertEquals("Raw image", s.get(2).description());
        assertEquals("Integer", s.get(4).type());
    }

    @Test
    public void aDoctypeIsRefused() {
        String evil = "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><x>&e;</x>";
        assertThrows(Exception.class, () -> MetaTypeSettings.parse(new ByteArrayInputStream(evil.getBytes(StandardCharsets.UTF_8))));
    }

    @Test
    public void valuesAreReadAsTheirTypeWithDefaults() throws Exception {
        Map<String, Object> config = new HashMap<>();
        config.put("path", " /x.img ");
        config.put("readonly", "TRUE");           // text, as a .cfg file gives it
        config.put("max.nodes", 12L);             // a Long that fits
        Settings s = Settings.of(settings(), config);
        assertEquals("/x.img", s.string("path"));
        assertTrue(s.bool("readonly"));
        assertEquals(12, s.integer("max.nodes"));
        assertEquals("the default", "disk", s.string("virtio.device.name"));
        assertEquals("", s.string("not.a.setting"));
        assertFalse(s.isSet("virtio.device.name"));

        Settings bad = Settings.of(settings(), Map.of("readonly", "yes", "max.nodes", "many"));
        assertEquals("readonly must be true or false, not \"yes\"", assertThrows(IllegalArgumentException.class, () -> bad.bool("readonly")).getMessage());
        assertEquals("max.nodes must be a whole number, not \"many\"", assertThrows(IllegalArgumentException.class, () -> bad.integer("max.nodes")).getMessage());
        assertEquals(65536, Settings.of(settings(), Map.of()).integer("max.nodes"));
    }

    @Test
    public void runOptionHeadingsAndSynopses() {
        assertEquals("[--disk FILE[,ro]]...", new RunOption("--disk", "FILE[,ro]", true, 10, "h").synopsis());
        assertEquals("[--rng]", new RunOption("--rng", null, false, 30, "h").synopsis());
        assertEquals("--balloon[=SPEC]", new RunOption("--balloon", "SPEC", false, 70, "h", true).heading());
        assertThrows(IllegalArgumentException.class, () -> new RunOption("disk", "F", false, 1, "h"));
        assertThrows(IllegalArgumentException.class, () -> new RunOption("--x", null, false, 1, "h", true));
    }
}
