#!/usr/bin/env bash
# The Debian 12 guest (scripts/guest-kit --debian) on Vireo and on QEMU TCG, side by side in one run, with the same
# kernel, initramfs, image, memory, devices and command line: boot to multi-user.target, then the guest's checks
# (docs/DEBIAN-GUEST.md). Not a test; it is the long run CI does not do (CI's DebianIT runs a few Python tests).
#
# Usage: benchmarks/debian.sh [quick|full] [--pytests test_a,test_b] [--only vireo|qemu] [--kernel-package P]
#   --kernel-package P  another Debian kernel (e.g. linux-image-6.12.95+deb12-cloud-amd64 from bookworm-backports, or
#                       the generic linux-image-6.1.0-50-amd64), with its own kit and image in ~/.cache/vireo/guest-kit-P
#   quick  systemd to multi-user, journald, glibc programs, Python, and the rest of the quick checks (default)
#   full   quick plus Python's regression tests (the image's list, or --pytests), fio with verification on a second
#          virtio disk, DHCP on user-mode networking, a download from and iperf3 to servers on the host's loopback
# Prints, for each emulator: seconds from launch to VIREO-INITRAMFS-ROOT, VIREO-DEBIAN-READY, CHECKS-DONE, the guest's
# uptime then, every check line, and whether e2fsck -fn finds the root clean after the guest's reboot. Logs stay in
# ${TMPDIR:-/tmp}/vireo-debian-bench.*/. Record the numbers in docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/jdk.sh
. scripts/host-packages.sh
vireo_need_packages qemu-system-x86 iperf3 e2fsprogs
mode=quick pytests="" only="" kernel_package=""
while [ $# -gt 0 ]; do
  case $1 in
    quick|full) mode=$1; shift ;;
    --pytests) pytests=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --kernel-package) kernel_package=$2; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "debian.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ -n "$kernel_package" ]; then
  kit=$(scripts/guest-kit --dir "$HOME/.cache/vireo/guest-kit-$kernel_package" --kernel-package "$kernel_package" --debian --quiet)
else
  kit=$(scripts/guest-kit --debian --quiet)
fi
[ -f launch/target/vireo/vireo.jar ] || mvn -B -q -ntp install -DskipTests
work=$(mktemp -d "${TMPDIR:-/tmp}/vireo-debian-bench.XXXXXX")
servers=()
cleanup() { for p in "${servers[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# panic=-1: a kernel panic reboots, which ends either emulator at once (-no-reboot) instead of hanging to the timeout.
append="console=ttyS0 acpi=off root=/dev/vda rw panic=-1 vireo.checks=$mode"
[ -n "$pytests" ] && append+=" vireo.pytests=$pytests"
if [ "$mode" = full ]; then
  head -c $((4 << 20)) /dev/urandom >"$work/blob.bin"
  http_port=$(free_port)
  (cd "$work" && exec python3 -m http.server --bind 127.0.0.1 "$http_port" >"$work/http.log" 2>&1) & servers+=($!)
  iperf_port=$(free_port)
  iperf3 -s -B 127.0.0.1 -p "$iperf_port" >"$work/iperf3.log" 2>&1 & servers+=($!)
  append+=" vireo.host=10.0.2.2:$http_port/blob.bin vireo.host.sha256=$(sha256sum "$work/blob.bin" | cut -d' ' -f1)"
  append+=" vireo.iperf=10.0.2.2:$iperf_port"
  sleep 1
fi

# Runs a command, printing "root ready done uptime" seconds from its start to each marker (uptime: the guest's, at DONE).
timed() {
  local log=$1; shift
  local start; start=$(date +%s.%N)
  local root=- ready=- done=- up=-
  while IFS= read -r line; do
    printf '%s\n' "$line" >>"$log"
    local now; now=$(awk -v a="$(date +%s.%N)" -v b="$start" 'BEGIN {printf "%.1f", a - b}')
    case "$line" in
      *VIREO-INITRAMFS-ROOT*) root=$now ;;
      *VIREO-DEBIAN-READY*) ready=$now ;;
      *VIREO-DEBIAN-CHECKS-DONE*) done=$now; up=$(sed -n 's/.*(uptime \([0-9.]*\) s).*/\1/p' <<<"$line") ;;
    esac
  done < <("$@" </dev/null 2>&1)
  echo "$root $ready $done $up"
}

run_one() {  # run_one NAME -> the timings line
  local name=$1 img="$work/$1-root.img" data="$work/$1-data.img"
  cp --sparse=always "$kit/debian/rootfs.img" "$img"
  truncate -s 64M "$data"
  local t
  if [ "$name" = qemu ]; then
    local extra=()
    [ "$mode" = full ] && extra=(-drive "file=$data,format=raw,if=virtio" -netdev user,id=n -device virtio-net-pci,netdev=n)
    t=$(timed "$work/qemu.log" timeout 7200 qemu-system-x86_64 -M pc -accel tcg -m 1024 -nographic -no-reboot \
          -kernel "$kit/bzImage" -initrd "$kit/debian/initramfs.cpio.gz" -append "$append" \
          -drive "file=$img,format=raw,if=virtio" "${extra[@]}")
  else
    local extra=()
    [ "$mode" = full ] && extra=(--disk "$data" --net user)
    t=$(timed "$work/vireo.log" launch/vireo run --timeout 7200 --mem 1G --kernel "$kit/bzImage" \
          --initrd "$kit/debian/initramfs.cpio.gz" --rootfs "$img" "${extra[@]}" --append "$append")
  fi
  local fsck=clean
  e2fsck -fn "$img" >"$work/$name-fsck.log" 2>&1 || fsck="NOT CLEAN (see $work/$name-fsck.log)"
  echo "$t $fsck"
}

for name in qemu vireo; do
  [ -n "$only" ] && [ "$only" != "$name" ] && continue
  r=$(run_one "$name")
  read -r root ready done up fsck <<<"$r"
  printf '%-6s launch -> root %6s s, -> READY %7s s, -> CHECKS-DONE %7s s (guest uptime %s s); e2fsck: %s\n' \
    "$name" "$root" "$ready" "$done" "$up" "$fsck"
  grep -a 'vireo-check:' "$work/$name.log" | sed 's/^.*vireo-check:/    vireo-check:/' | tr -d '\r' || true
  grep -a 'VIREO-DEBIAN-CHECKS-DONE' "$work/$name.log" | tr -d '\r' | sed 's/^/    /' | head -1 || true
done
echo "mode $mode; logs in $work; load average $(cut -d' ' -f1-3 /proc/loadavg)"
