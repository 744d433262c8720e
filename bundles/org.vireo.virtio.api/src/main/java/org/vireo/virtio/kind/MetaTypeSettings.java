package org.vireo.virtio.kind;

import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.util.ArrayList;
import java.util.List;
import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.parsers.ParserConfigurationException;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;
import org.xml.sax.SAXException;

/**
 * Reads a device bundle's settings from the MetaType document bnd generates for its
 * {@code @ObjectClassDefinition} ({@code OSGI-INF/metatype/<OCD class>.xml}, in the bundle's jar and in its
 * build output alike), so a kind describes its settings once, in the annotation, and the shell, the VMM and plain
 * Java read the same names, types and defaults. (The annotations themselves are not kept at run time.)
 */
public final class MetaTypeSettings {
    private MetaTypeSettings() {}

    /**
     * The attribute definitions of {@code ocd}, an {@code @ObjectClassDefinition} annotation type.
     *
     * @throws IllegalStateException when the bundle carries no MetaType document for it (a build error)
     */
    public static List<Setting> of(Class<?> ocd) {
        String resource = "OSGI-INF/metatype/" + ocd.getName() + ".xml";
        ClassLoader loader = ocd.getClassLoader();
        URL url = loader == null ? null : loader.getResource(resource);
        if (url == null) throw new IllegalStateException("no MetaType document " + resource + " beside " + ocd.getName());
        try (InputStream in = url.openStream()) {
            return parse(in);
        } catch (IOException | SAXException | ParserConfigurationException e) {
            throw new IllegalStateException("cannot read " + resource + ": " + e.getMessage(), e);
        }
    }

    static List<Setting> parse(InputStream in) throws IOException, SAXException, ParserConfigurationException {
        DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
        factory.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
        factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
        DocumentBuilder builder = factory.newDocumentBuilder();
        NodeList ads = builder.parse(in).getElementsByTagName("AD");
        List<Setting> out = new ArrayList<>();
        for (int i = 0; i < ads.getLength(); i++) {
            Element ad = (Element) ads.item(i);
            NodeList optionNodes = ad.getElementsByTagName("Option");
            List<String> options = new ArrayList<>();
            for (int j = 0; j < optionNodes.getLength(); j++) options.add(((Element) optionNodes.item(j)).getAttribute("value"));
            out.add(new Setting(ad.getAttribute("id"), attribute(ad, "type", "String"), attribute(ad, "name", ad.getAttribute("id")),
                    attribute(ad, "description", ""), ad.hasAttribute("default") ? ad.getAttribute("default") : null, options));
        }
        return List.copyOf(out);
    }

    private static String attribute(Element e, String name, String fallback) {
        return e.hasAttribute(name) ? e.getAttribute(name) : fallback;
    }
}
