#!/usr/bin/env bash
# Footprint benchmark (issue 12; not a test): peak RSS of a whole boot of the guest kit (to its reboot) on Vireo and
# on QEMU TCG, alternating in one run, same kernel, initramfs, memory and command line, both with ACPI and APICs.
# Usage: benchmarks/footprint.sh [RUNS] (default 3). Prints each run, Vireo's own line from --stats (guest RAM the
# host holds vs the process's RSS) and the medians; record them in docs/benchmarks.md. Holds /tmp/vireo-build.lock.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/jdk.sh
. scripts/host-packages.sh
vireo_need_packages qemu-system-x86
runs=${1:-3}
mem=512M
kit=$(scripts/guest-kit --quiet)
append='console=ttyS0 vireo.cmd=true'
[ -f launch/target/vireo/vireo.jar ] || mvn -B -q -ntp install -DskipTests
work=$(mktemp -d /tmp/vireo-footprint.XXXXXX)
trap 'rm -rf "$work"' EXIT
exec 9>/tmp/vireo-build.lock
flock 9

peak() { /usr/bin/time -o "$work/time" -f '%M %e' "$@" >"$work/out" 2>&1 </dev/null || { tail -5 "$work/out" >&2; echo "footprint: the run failed: $*" >&2; exit 1; }; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

: >"$work/q"; : >"$work/v"
for i in $(seq 1 "$runs"); do
  peak timeout 300 qemu-system-x86_64 -M pc -accel tcg -m "$mem" -nographic -no-reboot \
      -kernel "$kit/bzImage" -initrd "$kit/initramfs.cpio.gz" -append "$append"
  read -r qk qs <"$work/time"
  peak timeout 600 launch/vireo run --mem "$mem" --kernel "$kit/bzImage" --initrd "$kit/initramfs.cpio.gz" \
      --append "$append" --stats
  read -r vk vs <"$work/time"
  own=$(grep -o 'guest RAM in host memory.*' "$work/out" || echo '(no --stats memory line)')
  printf 'run %d: qemu-tcg %d MiB peak RSS (%s s) | vireo %d MiB peak RSS (%s s): %s\n' "$i" $((qk / 1024)) "$qs" $((vk / 1024)) "$vs" "$own"
  echo "$qk" >>"$work/q"; echo "$vk" >>"$work/v"
done
qm=$(median <"$work/q"); vm=$(median <"$work/v")
echo "median peak RSS, $mem guest: qemu-tcg $((qm / 1024)) MiB, vireo $((vm / 1024)) MiB, ratio $(awk -v a="$vm" -v b="$qm" 'BEGIN {printf "%.2f", a / b}')x"
echo "load average during the run: $(cut -d' ' -f1-3 /proc/loadavg)"
