package org.vireo.virtio.kind;

import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A configuration read through its kind's {@link Setting}s: each value as the setting's type, the default where it is
 * unset. Values may be typed (as the shell and {@code vireo run} store them) or text (as a {@code .cfg} file gives
 * them). A value that is not of its type is an {@link IllegalArgumentException} naming the setting.
 */
public final class Settings {
    private final Map<String, Setting> definitions = new HashMap<>();
    private final Map<String, ?> values;

    private Settings(List<Setting> definitions, Map<String, ?> values) {
        for (Setting s : definitions) this.definitions.put(s.key(), s);
        this.values = values;
    }

    public static Settings of(List<Setting> definitions, Map<String, ?> configuration) {
        return new Settings(definitions, Map.copyOf(withoutNulls(configuration)));
    }

    private static Map<String, ?> withoutNulls(Map<String, ?> configuration) {
        Map<String, Object> out = new HashMap<>();
        configuration.forEach((k, v) -> {
            if (k != null && v != null) out.put(k, v);
        });
        return out;
    }

    /** The value of {@code key} or its default, as text, stripped; "" when neither is there. */
    public String string(String key) {
        Object v = raw(key);
        return v == null ? "" : v.toString().strip();
    }

    /** true or false (any case); anything else is refused. */
    public boolean bool(String key) {
        Object v = raw(key);
        if (v == null) return false;
        if (v instanceof Boolean b) return b;
        String s = v.toString().strip().toLowerCase(Locale.ROOT);
        if (s.equals("true")) return true;
        if (s.equals("false")) return false;
        throw new IllegalArgumentException(key + " must be true or false, not \"" + v + "\"");
    }

    /** A whole number that fits an int. */
    public int integer(String key) {
        Object v = raw(key);
        if (v == null) throw new IllegalArgumentException(key + " is not set");
        if (v instanceof Integer i) return i;
        if (v instanceof Long l && l == l.intValue()) return l.intValue();
        try {
            return Integer.parseInt(v.toString().strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + " must be a whole number, not \"" + v + "\"");
        }
    }

    /** Whether the configuration itself sets {@code key} (defaults aside). */
    public boolean isSet(String key) { return values.containsKey(key); }

    private Object raw(String key) {
        Object v = values.get(key);
        if (v != null) return v;
        Setting s = definitions.get(key);
        return s == null ? null : s.defaultValue();
    }
}
