package org.vireo.launch;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.Test;
import org.osgi.service.feature.Feature;
import org.osgi.service.feature.FeatureBundle;
import org.osgi.service.feature.FeatureService;
import org.osgi.service.feature.ID;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;

/**
 * Each feature exists twice: as a Maven pom (what the build copies and tests against) and as an OSGi Feature 1.0
 * feature.json. This keeps the two in step: same id, same bundles, same order.
 */
public class FeatureFilesTest {
    private static final Path FEATURES = Path.of(System.getProperty("vireo.features.dir", "../features"));
    private static final String VERSION = System.getProperty("vireo.project.version", "0.1.0-SNAPSHOT");
    private static final FeatureService FEATURE_SERVICE = ServiceLoader.load(FeatureService.class).findFirst()
            .orElseThrow(() -> new AssertionError("no FeatureService implementation on the test class path"));

    @Test
    public void runtimeFeatureListsExactlyThePomDependencies() throws Exception {
        assertFeatureMatchesPom("vireo-runtime");
    }

    @Test
    public void virtioFeatureListsExactlyThePomDependencies() throws Exception {
        assertFeatureMatchesPom("vireo-virtio");
    }

    @Test
    public void x86FeatureListsExactlyThePomDependencies() throws Exception {
        assertFeatureMatchesPom("vireo-x86");
    }

    @Test
    public void httpFeatureListsExactlyThePomDependencies() throws Exception {
        assertFeatureMatchesPom("vireo-http");
    }

    @Test
    public void runtimeFeatureHasTheDeclarativeServicesApiBesideScr() throws Exception {
        // SCR imports but does not export the DS API: the feature must carry it, or no component ever starts.
        List<String> bundles = bundleIds(readFeature("vireo-runtime"));
        assertTrue(bundles.contains("org.apache.felix:org.apache.felix.scr:2.2.18"));
        assertTrue(bundles.contains("org.osgi:org.osgi.service.component:1.5.1"));
        assertTrue(bundles.contains("org.osgi:org.osgi.util.promise:1.3.0"));
    }

    @Test
    public void aBundleMissingFromTheFeatureIsNoticed() throws Exception {
        // The comparison itself must be able to fail: drop one bundle from the parsed feature.
        List<String> fromFeature = bundleIds(readFeature("vireo-virtio"));
        List<String> fromPom = pomDependencies("vireo-virtio");
        fromFeature.remove(fromFeature.size() - 1);
        assertFalse(fromPom.equals(fromFeature));
    }

    private static void assertFeatureMatchesPom(String name) throws Exception {
        Feature feature = readFeature(name);
        assertEquals("org.vireo:" + name + ":" + VERSION, idOf(feature.getID()));
        List<String> fromPom = pomDependencies(name);
        assertFalse(name + "'s pom lists no bundles", fromPom.isEmpty());
        assertEquals(name + "/feature.json and " + name + "/pom.xml list different bundles", fromPom, bundleIds(feature));
    }

    private static Feature readFeature(String name) throws Exception {
        try (Reader reader = Files.newBufferedReader(FEATURES.resolve(name).resolve("feature.json"), StandardCharsets.UTF_8)) {
            return FEATURE_SERVICE.readFeature(reader);
        }
    }

    private static List<String> bundleIds(Feature feature) {
        List<String> ids = new ArrayList<>();
        for (FeatureBundle bundle : feature.getBundles()) ids.add(idOf(bundle.getID()));
        return ids;
    }

    private static String idOf(ID id) {
        assertFalse("feature ids are group:artifact:version: " + id, id.getType().isPresent() && !id.getType().get().equals("jar"));
        assertFalse("feature ids are group:artifact:version: " + id, id.getClassifier().isPresent());
        return id.getGroupId() + ":" + id.getArtifactId() + ":" + id.getVersion();
    }

    /** The pom's own dependencies (not inherited ones) as group:artifact:version, ${project.version} resolved. */
    private static List<String> pomDependencies(String name) throws Exception {
        DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
        factory.setNamespaceAware(false);
        Document pom = factory.newDocumentBuilder().parse(FEATURES.resolve(name).resolve("pom.xml").toFile());
        Element dependencies = childElement(pom.getDocumentElement(), "dependencies");
        List<String> ids = new ArrayList<>();
        if (dependencies == null) return ids;
        NodeList nodes = dependencies.getChildNodes();
        for (int i = 0; i < nodes.getLength(); i++) {
            if (!(nodes.item(i) instanceof Element dependency) || !dependency.getTagName().equals("dependency")) continue;
            String version = text(dependency, "version").replace("${project.version}", VERSION);
            ids.add(text(dependency, "groupId") + ":" + text(dependency, "artifactId") + ":" + version);
        }
        return ids;
    }

    private static Element childElement(Element parent, String tag) {
        for (Node n = parent.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element e && e.getTagName().equals(tag)) return e;
        }
        return null;
    }

    private static String text(Element parent, String tag) {
        Element e = childElement(parent, tag);
        if (e == null) throw new AssertionError("a dependency without <" + tag + ">");
        return e.getTextContent().strip();
    }
}
