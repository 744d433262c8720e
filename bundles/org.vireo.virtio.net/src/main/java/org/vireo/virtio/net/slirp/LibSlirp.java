package org.vireo.virtio.net.slirp;

import static java.lang.foreign.MemoryLayout.paddingLayout;
import static java.lang.foreign.MemoryLayout.sequenceLayout;
import static java.lang.foreign.MemoryLayout.structLayout;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BOOLEAN;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.Optional;

/**
 * Bindings to libslirp 4.x ({@code libslirp.so.0}, Debian package libslirp0), laid out after
 * {@code /usr/include/slirp/libslirp.h} of libslirp 4.7.0 (x86-64 / LP64). The library is loaded once per JVM and never
 * unloaded, since a live Slirp instance holds pointers into it.
 */
final class LibSlirp {
    static final String LIBRARY = "libslirp.so.0";
    static final String MISSING = "user networking needs libslirp (apt-get install libslirp0)";

    /** {@code SLIRP_CONFIG_VERSION_MAX} of libslirp 4.7: adds disable_dhcp, init_completed and timer_new_opaque. */
    static final int CONFIG_VERSION_OPAQUE_TIMERS = 4;
    /** Before 4.7: timers only through timer_new with a C callback. */
    static final int CONFIG_VERSION_CALLBACK_TIMERS = 3;

    // SLIRP_POLL_* (libslirp.h), not the same bits as poll(2)'s.
    static final int SLIRP_POLL_IN = 1, SLIRP_POLL_OUT = 2, SLIRP_POLL_PRI = 4, SLIRP_POLL_ERR = 8, SLIRP_POLL_HUP = 16;

    /** struct in_addr: one 32-bit word in network byte order. */
    static final StructLayout IN_ADDR = structLayout(JAVA_INT.withName("s_addr"));
    /** struct in6_addr: 16 bytes, 4-byte aligned (a union with uint32_t[4]). */
    static final StructLayout IN6_ADDR = structLayout(sequenceLayout(16, JAVA_BYTE).withName("s6_addr")).withByteAlignment(4);

    /** struct SlirpConfig, versions 1 to 4. */
    static final StructLayout CONFIG = structLayout(
            JAVA_INT.withName("version"),
            JAVA_INT.withName("restricted"),
            JAVA_BOOLEAN.withName("in_enabled"), paddingLayout(3),
            IN_ADDR.withName("vnetwork"),
            IN_ADDR.withName("vnetmask"),
            IN_ADDR.withName("vhost"),
            JAVA_BOOLEAN.withName("in6_enabled"), paddingLayout(3),
            IN6_ADDR.withName("vprefix_addr6"),
            JAVA_BYTE.withName("vprefix_len"), paddingLayout(3),
            IN6_ADDR.withName("vhost6"),
            ADDRESS.withName("vhostname"),
            ADDRESS.withName("tftp_server_name"),
            ADDRESS.withName("tftp_path"),
            ADDRESS.withName("bootfile"),
            IN_ADDR.withName("vdhcp_start"),
            IN_ADDR.withName("vnameserver"),
            IN6_ADDR.withName("vnameserver6"),
            ADDRESS.withName("vdnssearch"),
            ADDRESS.withName("vdomainname"),
            JAVA_LONG.withName("if_mtu"),
            JAVA_LONG.withName("if_mru"),
            JAVA_BOOLEAN.withName("disable_host_loopback"),
            JAVA_BOOLEAN.withName("enable_emu"), paddingLayout(6),
            ADDRESS.withName("outbound_addr"),
            ADDRESS.withName("outbound_addr6"),
            JAVA_BOOLEAN.withName("disable_dns"),
            JAVA_BOOLEAN.withName("disable_dhcp"), paddingLayout(6));

    /** struct SlirpCb: function pointers, the last two read only with a version 4 config. */
    static final StructLayout CALLBACKS = structLayout(
            ADDRESS.withName("send_packet"),
            ADDRESS.withName("guest_error"),
            ADDRESS.withName("clock_get_ns"),
            ADDRESS.withName("timer_new"),
            ADDRESS.withName("timer_free"),
            ADDRESS.withName("timer_mod"),
            ADDRESS.withName("register_poll_fd"),
            ADDRESS.withName("unregister_poll_fd"),
            ADDRESS.withName("notify"),
            ADDRESS.withName("init_completed"),
            ADDRESS.withName("timer_new_opaque"));

    // Upcall signatures (opaque pointer last, as in libslirp.h).
    static final FunctionDescriptor SEND_PACKET = FunctionDescriptor.of(JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS);
    static final FunctionDescriptor GUEST_ERROR = FunctionDescriptor.ofVoid(ADDRESS, ADDRESS);
    static final FunctionDescriptor CLOCK_GET_NS = FunctionDescriptor.of(JAVA_LONG, ADDRESS);
    static final FunctionDescriptor TIMER_NEW = FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS, ADDRESS);
    static final FunctionDescriptor TIMER_FREE = FunctionDescriptor.ofVoid(ADDRESS, ADDRESS);
    static final FunctionDescriptor TIMER_MOD = FunctionDescriptor.ofVoid(ADDRESS, JAVA_LONG, ADDRESS);
    static final FunctionDescriptor POLL_FD = FunctionDescriptor.ofVoid(JAVA_INT, ADDRESS);
    static final FunctionDescriptor NOTIFY = FunctionDescriptor.ofVoid(ADDRESS);
    static final FunctionDescriptor TIMER_NEW_OPAQUE = FunctionDescriptor.of(ADDRESS, JAVA_INT, ADDRESS, ADDRESS);
    static final FunctionDescriptor ADD_POLL = FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS);
    static final FunctionDescriptor GET_REVENTS = FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS);

    final MethodHandle slirpNew;          // Slirp *slirp_new(const SlirpConfig *, const SlirpCb *, void *opaque)
    final MethodHandle cleanup;           // void slirp_cleanup(Slirp *)
    final MethodHandle pollfdsFill;       // void slirp_pollfds_fill(Slirp *, uint32_t *timeout, SlirpAddPollCb, void *)
    final MethodHandle pollfdsPoll;       // void slirp_pollfds_poll(Slirp *, int select_error, SlirpGetREventsCb, void *)
    final MethodHandle input;             // void slirp_input(Slirp *, const uint8_t *pkt, int pkt_len)
    final MethodHandle addHostfwd;        // int slirp_add_hostfwd(Slirp *, int is_udp, struct in_addr, int, struct in_addr, int)
    final MethodHandle versionString;     // const char *slirp_version_string(void)
    /** {@code void slirp_handle_timer(Slirp *, SlirpTimerId, void *cb_opaque)}; absent before libslirp 4.7. */
    final Optional<MethodHandle> handleTimer;
    /** Calls a {@code SlirpTimerCb} given as the first argument: {@code void (*)(void *cb_opaque)}. */
    final MethodHandle timerCallback;

    private LibSlirp(SymbolLookup lib) {
        Linker linker = Linker.nativeLinker();
        slirpNew = linker.downcallHandle(find(lib, "slirp_new"), FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS, ADDRESS));
        cleanup = linker.downcallHandle(find(lib, "slirp_cleanup"), FunctionDescriptor.ofVoid(ADDRESS));
        pollfdsFill = linker.downcallHandle(find(lib, "slirp_pollfds_fill"), FunctionDescriptor.ofVoid(ADDRESS, ADDRESS, ADDRESS, ADDRESS));
        pollfdsPoll = linker.downcallHandle(find(lib, "slirp_pollfds_poll"), FunctionDescriptor.ofVoid(ADDRESS, JAVA_INT, ADDRESS, ADDRESS));
        input = linker.downcallHandle(find(lib, "slirp_input"), FunctionDescriptor.ofVoid(ADDRESS, ADDRESS, JAVA_INT));
        addHostfwd = linker.downcallHandle(find(lib, "slirp_add_hostfwd"),
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, IN_ADDR, JAVA_INT, IN_ADDR, JAVA_INT));
        versionString = linker.downcallHandle(find(lib, "slirp_version_string"), FunctionDescriptor.of(ADDRESS));
        handleTimer = lib.find("slirp_handle_timer")
                .map(s -> linker.downcallHandle(s, FunctionDescriptor.ofVoid(ADDRESS, JAVA_INT, ADDRESS)));
        timerCallback = linker.downcallHandle(FunctionDescriptor.ofVoid(ADDRESS));
    }

    /** The config version to pass: 4 where the library has opaque timers, else 3. */
    int configVersion() { return handleTimer.isPresent() ? CONFIG_VERSION_OPAQUE_TIMERS : CONFIG_VERSION_CALLBACK_TIMERS; }

    String version() {
        try {
            MemorySegment s = (MemorySegment) versionString.invokeExact();
            return s.equals(MemorySegment.NULL) ? "?" : s.reinterpret(64).getString(0);
        } catch (Throwable t) {
            return "?";
        }
    }

    /** libslirp, loaded on first use. */
    static LibSlirp load() throws IOException {
        if (Holder.FAILURE != null) throw new IOException(Holder.FAILURE);
        return Holder.INSTANCE;
    }

    /** Loads {@code library} afresh (tests use a missing name to see the failure). */
    static LibSlirp load(String library) throws IOException {
        try {
            return new LibSlirp(SymbolLookup.libraryLookup(library, Arena.global()));
        } catch (IllegalArgumentException e) {   // dlopen failed
            throw new IOException(MISSING + ": cannot load " + library, e);
        } catch (UnsatisfiedLinkError e) {       // loaded, but too old or not libslirp
            throw new IOException(MISSING + ": " + e.getMessage(), e);
        }
    }

    private static final class Holder {
        static final LibSlirp INSTANCE;
        static final String FAILURE;

        static {
            LibSlirp lib = null;
            String failure = null;
            try {
                lib = load(LIBRARY);
            } catch (IOException e) {
                failure = e.getMessage();
            }
            INSTANCE = lib;
            FAILURE = failure;
        }
    }

    private static MemorySegment find(SymbolLookup lookup, String symbol) {
        return lookup.find(symbol).orElseThrow(() -> new UnsatisfiedLinkError(LIBRARY + " has no " + symbol + " (libslirp 4.x needed)"));
    }

    static long offset(StructLayout layout, String field) {
        return layout.byteOffset(MemoryLayout.PathElement.groupElement(field));
    }
}
