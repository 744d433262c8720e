package org.vireo.shell.impl;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.felix.service.command.Descriptor;

/**
 * The one-screen summary of a command scope, built from the commands' own {@link Descriptor} texts, so that
 * {@code help vm} / {@code help dev} (Gogo's help looks up a function of that name) and the bare {@code vm} / {@code dev}
 * commands list what a scope offers without repeating any help text.
 */
final class CommandOverview {
    private CommandOverview() {}

    static String of(String scope, Class<?>... commandClasses) {
        Map<String, String> commands = new LinkedHashMap<>();
        for (Class<?> c : commandClasses) {
            Method[] methods = c.getDeclaredMethods();
            Arrays.sort(methods, Comparator.comparing(Method::getName).thenComparingInt(Method::getParameterCount));
            for (Method m : methods) {
                Descriptor d = m.getAnnotation(Descriptor.class);
                if (d == null || !Modifier.isPublic(m.getModifiers()) || m.getName().equals(scope)) continue;
                commands.putIfAbsent(m.getName(), d.value());
            }
        }
        StringBuilder out = new StringBuilder(scope).append(": commands (help ").append(scope).append(":NAME for the parameters)\n");
        int width = commands.keySet().stream().mapToInt(String::length).max().orElse(0) + scope.length() + 3;
        commands.forEach((name, text) -> out.append(String.format("  %-" + width + "s%s%n", scope + ":" + name, text)));
        return out.toString();
    }
}
