#!/usr/bin/env bash
# Guest I/O throughput, Vireo against QEMU TCG in one run: the guest kit's Debian kernel and initramfs on both, with
# the same devices (virtio-blk on a raw image, virtio-net on user-mode networking, virtio-rng, virtio-console; all
# modern virtio-pci with INTx, as the kernel runs with acpi=off). In the guest: dd to and from /dev/vda (buffered
# with fsync, cold-cache buffered read, O_DIRECT both ways) and a guest-to-host TCP stream (dd | busybox nc to a sink
# on the host's 127.0.0.1, reached through the gateway 10.0.2.2). Phases are timed on the host as their start and end
# markers arrive on the serial console; the TCP rate is the sink's, first byte to last.
# Not a test: it prints numbers. Usage: benchmarks/guest-io.sh [--disk-mb N] [--net-mb N] [--only vireo|qemu] [--keep]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
DISK_MB=64 NET_MB=32 ONLY="" KEEP=0
while [ $# -gt 0 ]; do
  case $1 in
    --disk-mb) DISK_MB=$2; shift 2 ;;
    --net-mb) NET_MB=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "guest-io: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ $DISK_MB =~ ^[1-9][0-9]*$ && $NET_MB =~ ^[1-9][0-9]*$ ]] || { echo "guest-io: sizes are whole MiB" >&2; exit 2; }
case $ONLY in ""|vireo|qemu) ;; *) echo "guest-io: --only vireo or qemu" >&2; exit 2 ;; esac

. "$repo/scripts/jdk.sh"
. "$repo/scripts/host-packages.sh"
vireo_need_packages libslirp0
[ "$ONLY" = vireo ] || vireo_need_packages qemu-system-x86
command -v python3 >/dev/null || { echo "guest-io: python3 is needed for the host's TCP sink" >&2; exit 1; }
if [ "$ONLY" != vireo ]; then
  command -v qemu-system-x86_64 >/dev/null || { echo "guest-io: qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)" >&2; exit 1; }
fi
kit=$("$repo/scripts/guest-kit" --quiet)
jar="$repo/launch/target/vireo/vireo.jar"
if [ "$ONLY" != qemu ] && [ ! -f "$jar" ]; then
  echo "guest-io: building Vireo (mvn install -DskipTests)" >&2
  (cd "$repo" && mvn -B -q -ntp install -DskipTests) >&2
fi
work=$(mktemp -d /tmp/vireo-guest-io.XXXXXX)
[ "$KEEP" = 1 ] || trap 'rm -rf "$work"' EXIT

# One shell line for vireo.cmd="..." (so no double quotes). Each phase prints bench-begin/bench-end markers.
guest_command() {  # guest_command PORT
  local mb=$DISK_MB blocks=$((NET_MB * 16))
  printf '%s' "m() { echo bench-\$1; }; " \
    "m begin-write; dd if=/dev/zero of=/dev/vda bs=1M count=$mb conv=fsync 2>/dev/null; m end-write; " \
    "echo 3 >/proc/sys/vm/drop_caches; " \
    "m begin-read; dd if=/dev/vda of=/dev/null bs=1M count=$mb 2>/dev/null; m end-read; " \
    "m begin-direct-read; dd if=/dev/vda of=/dev/null bs=1M count=$mb iflag=direct 2>/dev/null; m end-direct-read; " \
    "m begin-direct-write; dd if=/dev/zero of=/dev/vda bs=1M count=$mb oflag=direct 2>/dev/null; m end-direct-write; " \
    "ip link set eth0 up; udhcpc -i eth0 -n -q -t 10 -T 3 >/dev/null 2>&1; " \
    "m begin-tcp; dd if=/dev/zero bs=64k count=$blocks 2>/dev/null | nc 10.0.2.2 $1 >/dev/null; m end-tcp"
}

# A sink on 127.0.0.1 that reads EXPECTED bytes from one connection, closes, and writes "bytes seconds" to OUT; its
# port goes to PORTFILE. Runs in the background.
start_sink() {  # start_sink EXPECTED OUT PORTFILE
  python3 - "$1" "$2" >"$3" <<'PY' &
import socket, sys, time
expected, out = int(sys.argv[1]), sys.argv[2]
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1); s.settimeout(900)
print(s.getsockname()[1], flush=True)
c, _ = s.accept(); c.settimeout(120)
total, first, last = 0, None, None
while total < expected:
    d = c.recv(1 << 20)
    if not d: break
    last = time.monotonic(); first = first or last; total += len(d)
c.close()
open(out, "w").write(f"{total} {(last - first) if first else 0}\n")
PY
  sink_pid=$!
}

# Runs one VMM with each output line stamped with the seconds since launch: writes WORK/NAME.log.
run_vm() {  # run_vm NAME COMMAND...
  local name=$1; shift
  local start=${EPOCHREALTIME/./} now
  "$@" </dev/null 2>&1 | while IFS= read -r line; do
    now=$(( ${EPOCHREALTIME/./} - start ))
    printf '%d.%06d %s\n' $((now / 1000000)) $((now % 1000000)) "${line%$'\r'}"
  done >"$work/$name.log"
}

measure() {  # measure NAME : boots the VMM NAME once and leaves WORK/NAME.log and WORK/NAME.sink
  local name=$1 image="$work/$1.img" port="" i
  truncate -s $((DISK_MB + 16))M "$image"
  start_sink $((NET_MB << 20)) "$work/$name.sink" "$work/$name.port"
  for i in $(seq 100); do port=$(cat "$work/$name.port"); [ -n "$port" ] && break; sleep 0.1; done
  [ -n "$port" ] || { echo "guest-io: the TCP sink did not start" >&2; exit 1; }
  local cmd; cmd=$(guest_command "$port")
  local append="console=ttyS0 acpi=off vireo.cmd=\"$cmd\""
  echo "guest-io: $name: booting (disk ${DISK_MB} MiB, tcp ${NET_MB} MiB)" >&2
  case $name in
    qemu) run_vm qemu timeout 900 qemu-system-x86_64 -M pc -accel tcg -m 512M -nographic -no-reboot \
            -kernel "$kit/bzImage" -initrd "$kit/initramfs.cpio.gz" -append "$append" \
            -drive if=none,id=d,file="$image",format=raw -device virtio-blk-pci,drive=d,disable-legacy=on \
            -netdev user,id=n -device virtio-net-pci,netdev=n,disable-legacy=on \
            -device virtio-rng-pci,disable-legacy=on \
            -device virtio-serial-pci,disable-legacy=on -chardev file,id=c,path="$work/qemu.hvc" -device virtconsole,chardev=c ;;
    vireo) mkdir -p "$work/deploy"
           run_vm vireo "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=deny \
            -jar "$jar" --deploy "$work/deploy" run --timeout 900 --append "$append" \
            --disk "$image" --net user --rng --console-device "virtio,file=$work/vireo.hvc" ;;
  esac
  # The sink is done once the guest's stream ended; if the guest never connected, it is still waiting.
  for i in $(seq 50); do kill -0 "$sink_pid" 2>/dev/null || break; sleep 0.1; done
  kill "$sink_pid" 2>/dev/null || true
  wait "$sink_pid" 2>/dev/null || true
}

# Rate in MB/s (10^6 bytes) of MIB mebibytes between two markers of LOG; "-" when a marker is missing.
rate() {  # rate LOG PHASE MIB
  awk -v p="$2" -v mib="$3" '
    $2 == "bench-begin-" p { b = $1 } $2 == "bench-end-" p { e = $1 }
    END { if (b == "" || e == "" || e <= b) print "-"; else printf "%.1f", mib * 1048576 / (e - b) / 1e6 }' "$1"
}
ready() { awk '$2 == "VIREO-INIT-READY" { print $1; exit }' "$1"; }
sink_rate() { [ -s "$1" ] && awk '{ if ($2 > 0) printf "%.1f", $1 / $2 / 1e6; else print "-" }' "$1" || echo -; }

vmms=()
[ "$ONLY" != qemu ] && vmms+=(vireo)
[ "$ONLY" != vireo ] && vmms+=(qemu)
for v in "${vmms[@]}"; do measure "$v"; done

row() {  # row LABEL FUNCTION ARGS... : one line with a value per VMM
  local label=$1; shift
  printf '%-36s' "$label"
  for v in "${vmms[@]}"; do printf '%14s' "$("$@" "$v")"; done
  echo
}
col_rate() { local phase=$1 mib=$2 v=$3; rate "$work/$v.log" "$phase" "$mib"; }
col_ready() { local r; r=$(ready "$work/$1.log"); [ -n "$r" ] && printf "%.1f" "$r" || echo -; }
col_sink() { sink_rate "$work/$1.sink"; }
col_done() { grep -q "VIREO-INIT-DONE" "$work/$1.log" && echo yes || echo NO; }

echo
echo "guest I/O: $(grep ^KERNEL_PACKAGE= "$kit/kit.env" | cut -d= -f2), 512 MiB, acpi=off (INTx), $(nproc) host CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-36s' "MB/s (10^6 bytes/s)"; for v in "${vmms[@]}"; do printf '%14s' "$v"; done; echo
row "launch -> VIREO-INIT-READY (s)" col_ready
row "blk write ${DISK_MB} MiB, buffered+fsync" col_rate write "$DISK_MB"
row "blk read ${DISK_MB} MiB, cold cache" col_rate read "$DISK_MB"
row "blk read ${DISK_MB} MiB, O_DIRECT 1M" col_rate direct-read "$DISK_MB"
row "blk write ${DISK_MB} MiB, O_DIRECT 1M" col_rate direct-write "$DISK_MB"
row "tcp guest->host ${NET_MB} MiB (sink)" col_sink
row "tcp guest->host (guest markers)" col_rate tcp "$NET_MB"
row "guest script completed" col_done
if [ "$KEEP" = 1 ]; then echo "logs in $work"; fi
