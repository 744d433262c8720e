package org.vireo.launch;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The commands a {@code -c} script calls by name, so the launcher can wait for exactly those to be registered instead of
 * for the whole runtime to settle. A simple reading of Gogo's syntax: the first word of each statement (at the start,
 * after {@code ;}, {@code |}, {@code &}, a newline, or an opening {@code (} or <code>{</code>) that looks like
 * {@code [scope:]name}; quoted strings, variables, list/map brackets and assignments ({@code x = ...}) are skipped, and
 * a name the script assigns is not a command. A name read wrongly costs only time: the launcher waits for the runtime to
 * settle instead and Gogo still runs the script.
 */
final class GogoScript {
    private static final Pattern COMMAND = Pattern.compile("[A-Za-z_][A-Za-z0-9_.-]*(:[A-Za-z_][A-Za-z0-9_.-]*)?");
    private static final String WORD_END = " \t\r\n;|&(){}[]'\"=<>";

    private GogoScript() {}

    /** The names in command position, in order of appearance, without the names the script assigns. */
    static Set<String> commandNames(String script) {
        Set<String> names = new LinkedHashSet<>();
        Set<String> assigned = new LinkedHashSet<>();
        Deque<Character> open = new ArrayDeque<>();
        boolean commandPosition = true;
        int i = 0;
        int n = script.length();
        while (i < n) {
            char c = script.charAt(i);
            switch (c) {
                case ' ', '\t', '\r' -> i++;
                case '\n', ';', '|', '&' -> {
                    commandPosition = open.isEmpty() || open.peek() != '[';
                    i++;
                }
                case '(', '{' -> {
                    open.push(c);
                    commandPosition = true;
                    i++;
                }
                case '[' -> {
                    open.push(c);
                    commandPosition = false;
                    i++;
                }
                case ')', '}', ']' -> {
                    if (!open.isEmpty()) open.pop();
                    commandPosition = false;   // (...) name: a method called on the result, not a command
                    i++;
                }
                case '\'', '"' -> {
                    i = skipString(script, i);
                    commandPosition = false;
                }
                case '$' -> {
                    i = skipVariable(script, i + 1);
                    commandPosition = false;
                }
                case '=', '<', '>' -> {
                    commandPosition = false;
                    i++;
                }
                default -> {
                    int end = i;
                    while (end < n && WORD_END.indexOf(script.charAt(end)) < 0) end++;
                    String word = script.substring(i, end);
                    int next = end;
                    while (next < n && (script.charAt(next) == ' ' || script.charAt(next) == '\t')) next++;
                    boolean assignment = next < n && script.charAt(next) == '=';
                    if (assignment) assigned.add(word);
                    else if (commandPosition && COMMAND.matcher(word).matches()) names.add(word);
                    commandPosition = false;
                    i = end;
                }
            }
        }
        names.removeAll(assigned);
        return names;
    }

    /** The index after the string literal that starts at {@code start} (a backslash escapes in double quotes). */
    private static int skipString(String s, int start) {
        char quote = s.charAt(start);
        int i = start + 1;
        while (i < s.length() && s.charAt(i) != quote) {
            if (quote == '"' && s.charAt(i) == '\\') i++;
            i++;
        }
        return Math.min(i + 1, s.length());
    }

    /** The index after a variable reference whose name starts at {@code start}: {@code ${...}}, {@code $name.x}, {@code $1}. */
    private static int skipVariable(String s, int start) {
        if (start < s.length() && s.charAt(start) == '{') {
            int close = s.indexOf('}', start);
            return close < 0 ? s.length() : close + 1;
        }
        int i = start;
        while (i < s.length() && WORD_END.indexOf(s.charAt(i)) < 0) i++;
        return i;
    }

    /**
     * Whether {@code name} ({@code scope:function} or a bare function) is among {@code known}, Gogo's commands as its
     * processor lists them ({@code scope:function}); Gogo matches names without regard to case.
     */
    static boolean isKnown(String name, Set<String> known) {
        String wanted = name.toLowerCase(java.util.Locale.ROOT);
        if (wanted.indexOf(':') >= 0) return known.stream().anyMatch(k -> k.equalsIgnoreCase(wanted));
        return known.stream().anyMatch(k -> {
            int colon = k.indexOf(':');
            return k.substring(colon + 1).equalsIgnoreCase(wanted);
        });
    }
}
