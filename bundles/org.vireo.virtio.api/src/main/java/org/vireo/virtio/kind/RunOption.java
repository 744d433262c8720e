package org.vireo.virtio.kind;

import java.util.List;

/**
 * One option of {@code vireo run} that makes devices of a kind, e.g. {@code --disk FILE[,ro]}.
 *
 * @param name       the option, with its dashes: {@code --disk}
 * @param value      how its value is written, e.g. {@code FILE[,ro]}; null for a flag that takes none ({@code --rng})
 * @param repeatable whether it may be given more than once (shown as "..." in the usage; the kind enforces it)
 * @param order      where its devices go on the bus: lower first, then in command-line order within the option
 * @param help       the help text, lines already wrapped (at about 96 columns), without indentation
 * @param optional   whether the value may be left out ({@code --balloon} or {@code --balloon=SPEC}): it is then only
 *                   taken when joined by "=", and the occurrence's value is null without it
 */
public record RunOption(String name, String value, boolean repeatable, int order, String help, boolean optional) {
    public RunOption {
        if (!name.startsWith("--")) throw new IllegalArgumentException("a run option starts with --: " + name);
        if (optional && value == null) throw new IllegalArgumentException(name + ": an optional value needs its syntax");
    }

    /** An option whose value, if it has one, must be given. */
    public RunOption(String name, String value, boolean repeatable, int order, String help) {
        this(name, value, repeatable, order, help, false);
    }

    /** The option as the help's heading shows it: {@code --disk FILE[,ro]}, {@code --balloon[=SPEC]}. */
    public String heading() {
        return name + (value == null ? "" : optional ? "[=" + value + "]" : " " + value);
    }

    /** The synopsis of the usage line: {@code [--disk FILE[,ro]]...}. */
    public String synopsis() { return "[" + heading() + "]" + (repeatable ? "..." : ""); }

    /**
     * One occurrence of an option on the command line.
     *
     * @param option     the option
     * @param spelled    the option as it should appear in messages (another option may borrow this one's parsing,
     *                   as {@code --rootfs} borrows {@code --disk}'s)
     * @param value      the value given, or null for a flag
     * @param name       the device's name, chosen by the VMM (the kind's {@link DeviceKind#defaultName()} and a number)
     * @param earlier    the settings of the devices this option made before, in order (so a kind can refuse a second
     *                   occurrence, or keep tags unique)
     * @param occurrence how many times the option came before (including occurrences that made no device)
     */
    public record Occurrence(RunOption option, String spelled, String value, String name, List<java.util.Map<String, Object>> earlier,
                             int occurrence) {
        public Occurrence {
            earlier = List.copyOf(earlier);
        }
    }
}
