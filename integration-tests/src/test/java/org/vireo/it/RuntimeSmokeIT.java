package org.vireo.it;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import javax.inject.Inject;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;
import org.osgi.framework.Constants;
import org.osgi.service.component.runtime.ServiceComponentRuntime;
import org.osgi.service.component.runtime.dto.ComponentConfigurationDTO;
import org.osgi.service.component.runtime.dto.ComponentDescriptionDTO;
import org.osgi.service.metatype.MetaTypeInformation;
import org.osgi.service.metatype.MetaTypeService;

/** Felix boots with SCR, ConfigAdmin, MetaType, Gogo and every Vireo bundle, all of them ACTIVE. */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class RuntimeSmokeIT extends VireoTestSupport {
    @Inject
    private ServiceComponentRuntime scr;

    @Inject
    private MetaTypeService metaType;

    @Test
    public void everyBundleIsActive() {
        List<String> notActive = new ArrayList<>();
        Set<String> names = new TreeSet<>();
        for (Bundle b : context.getBundles()) {
            names.add(b.getSymbolicName());
            if (b.getHeaders().get(Constants.FRAGMENT_HOST) != null) continue;
            if (b.getState() != Bundle.ACTIVE) notActive.add(b.getSymbolicName() + " state " + b.getState());
        }
        assertEquals("bundles not ACTIVE", List.of(), notActive);
        for (String ga : RUNTIME_BUNDLES) {
            String artifact = ga.substring(ga.indexOf(':') + 1);
            assertTrue(artifact + " is not installed: " + names, names.contains(artifact));
        }
        Set<String> deployed = new TreeSet<>();
        for (Path jar : vireoBundles()) {
            String symbolicName = jar.getFileName().toString().replaceFirst("-\\d.*$", "");
            assertTrue(symbolicName + " is not installed: " + names, names.contains(symbolicName));
            deployed.add(symbolicName);
        }
        Set<String> expected = new TreeSet<>(featureBundles("vireo-virtio"));
        expected.addAll(featureBundles("vireo-x86"));
        assertEquals("the bundles of features/vireo-virtio and features/vireo-x86", expected, deployed);
    }

    @Test
    public void theRuntimeServicesAreRegistered() throws Exception {
        assertNotNull(scr);
        assertNotNull(configAdmin);
        assertNotNull(metaType);
        assertNotNull(context.getServiceReference("org.apache.felix.service.command.CommandProcessor"));
        assertNotNull(context.getServiceReference("org.osgi.service.log.LogReaderService"));
    }

    @Test
    public void noVireoComponentFailedToActivate() {
        List<String> failed = new ArrayList<>();
        for (ComponentDescriptionDTO description : scr.getComponentDescriptionDTOs()) {
            if (!description.bundle.symbolicName.startsWith("org.vireo.")) continue;
            for (ComponentConfigurationDTO configuration : scr.getComponentConfigurationDTOs(description)) {
                if (configuration.state == ComponentConfigurationDTO.FAILED_ACTIVATION) {
                    failed.add(description.name + ": " + configuration.failure);
                }
            }
        }
        assertEquals(List.of(), failed);
    }

    @Test
    public void machinesAndDevicesAreDescribedByMetaType() {
        Set<String> factoryPids = new TreeSet<>();
        for (Bundle b : context.getBundles()) {
            if (b.getSymbolicName() == null || !b.getSymbolicName().startsWith("org.vireo.")) continue;
            MetaTypeInformation info = metaType.getMetaTypeInformation(b);
            if (info != null) factoryPids.addAll(List.of(info.getFactoryPids()));
        }
        for (String pid : List.of(MACHINE_PID, BLK_PID, NET_PID, CONSOLE_PID, RNG_PID)) {
            assertTrue(pid + " has no MetaType factory description: " + factoryPids, factoryPids.contains(pid));
        }
    }

    /** Artifact ids of the bundles features/FEATURE/feature.json lists (the feature's own id comes first). */
    private static Set<String> featureBundles(String feature) {
        try {
            String json = java.nio.file.Files.readString(Path.of("..", "features", feature, "feature.json"));
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"id\"\\s*:\\s*\"[^\":]+:([^\":]+):[^\":]+\"").matcher(json);
            Set<String> ids = new TreeSet<>();
            boolean first = true;
            while (m.find()) {
                if (!first) ids.add(m.group(1));
                first = false;
            }
            return ids;
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
