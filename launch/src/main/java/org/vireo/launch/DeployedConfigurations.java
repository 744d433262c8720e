package org.vireo.launch;

import java.io.IOException;
import java.lang.reflect.Array;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceReference;

/**
 * Whether Declarative Services has taken up every configuration file of the deploy directory, so {@code -c
 * virtio:devices} sees the devices they make: FileInstall hands the files to ConfigurationAdmin on a thread of its own,
 * and ConfigurationAdmin tells Declarative Services asynchronously. A file {@code PID.cfg} or {@code FACTORYPID-NAME.cfg}
 * counts as taken up when a component configuration carries it ({@value #FILENAME}, which FileInstall puts in the
 * configuration and Declarative Services passes on), whatever that component's state, or when no component takes
 * that PID. Asked through the ServiceComponentRuntime's data objects, reflectively: the launcher does not share the DS
 * API package with the framework's bundles.
 */
final class DeployedConfigurations {
    static final String FILENAME = "felix.fileinstall.filename";

    private DeployedConfigurations() {}

    /** True when taken up as above; also when it cannot tell (no Declarative Services, an unexpected API). */
    static boolean applied(BundleContext context, Path deployDir) {
        List<Path> files;
        try (Stream<Path> list = Files.list(deployDir)) {
            files = list.filter(DeployDirectory::isConfiguration).toList();
        } catch (IOException e) {
            return true;
        }
        if (files.isEmpty()) return true;
        ServiceReference<?> ref = context.getServiceReference(StartupTiming.SCR);
        Object scr = ref == null ? null : context.getService(ref);
        if (scr == null) return false;   // Declarative Services is not up yet
        try {
            Method descriptions = method(scr, "getComponentDescriptionDTOs");
            Method configurations = method(scr, "getComponentConfigurationDTOs");
            Object all = descriptions.invoke(scr, (Object) new Bundle[0]);
            for (Path file : files) {
                String name = file.getFileName().toString();
                String pid = name.substring(0, name.lastIndexOf('.'));
                int dash = pid.indexOf('-');
                String wanted = dash > 0 ? pid.substring(0, dash) : pid;
                boolean consumed = false;
                boolean carried = false;
                for (Object description : (Iterable<?>) all) {
                    if (!List.of(stringArray(description, "configurationPid")).contains(wanted)) continue;
                    consumed = true;
                    for (Object configuration : (Iterable<?>) configurations.invoke(scr, description)) {
                        Object value = ((Map<?, ?>) configuration.getClass().getField("properties").get(configuration)).get(FILENAME);
                        if (value != null && value.toString().endsWith("/" + name)) carried = true;
                    }
                }
                if (consumed && !carried) return false;
            }
            return true;
        } catch (ReflectiveOperationException | RuntimeException e) {
            return true;   // another DS: the commands run without this wait
        } finally {
            try {
                context.ungetService(ref);
            } catch (IllegalStateException e) {
                // the framework is stopping
            }
        }
    }

    /** The method as the service's public interfaces declare it (the implementing class need not be public). */
    private static Method method(Object service, String name) throws NoSuchMethodException {
        for (Class<?> c = service.getClass(); c != null; c = c.getSuperclass()) {
            for (Class<?> type : c.getInterfaces()) {
                for (Method m : type.getMethods()) if (m.getName().equals(name)) return m;
            }
        }
        throw new NoSuchMethodException(name);
    }

    private static String[] stringArray(Object dto, String field) throws ReflectiveOperationException {
        Object value = dto.getClass().getField(field).get(dto);
        if (value == null) return new String[0];
        String[] out = new String[Array.getLength(value)];
        for (int i = 0; i < out.length; i++) out[i] = String.valueOf(Array.get(value, i));
        return out;
    }
}
