#!/usr/bin/env bash
# Boot benchmark (not a test): launch -> VIREO-INIT-READY for Vireo and for QEMU TCG, side by side in one run, with the
# same guest kit kernel, initramfs, memory and command line. Usage: benchmarks/boot.sh [RUNS] (default 3)
# Prints each run and the medians; record them in docs/benchmarks.md. Needs qemu-system-x86 (installed if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/jdk.sh
. scripts/host-packages.sh
vireo_need_packages qemu-system-x86
runs=${1:-3}
kit=$(scripts/guest-kit --quiet)
append='console=ttyS0 acpi=off vireo.cmd=true'
[ -f launch/target/vireo/vireo.jar ] || mvn -B -q -ntp install -DskipTests

# Runs a command, prints seconds from start to the marker line and the guest's uptime at that point (from /init).
time_to_ready() {
  local start; start=$(date +%s.%N)
  "$@" 2>&1 | while IFS= read -r line; do
    case "$line" in
      *VIREO-INIT-READY*) echo -n "$(awk -v a="$(date +%s.%N)" -v b="$start" 'BEGIN {printf "%.2f", a - b}') ";;
      *"uptime at ready"*) echo "${line##*ready }";;
    esac
  done
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

vireo_times=(); qemu_times=()
for i in $(seq 1 "$runs"); do
  q=$(time_to_ready timeout 300 qemu-system-x86_64 -M pc -accel tcg -m 512M -nographic -no-reboot \
        -kernel "$kit/bzImage" -initrd "$kit/initramfs.cpio.gz" -append "$append" </dev/null)
  v=$(time_to_ready timeout 600 launch/vireo run --mem 512M --kernel "$kit/bzImage" --initrd "$kit/initramfs.cpio.gz" \
        --append "$append" </dev/null)
  echo "run $i: qemu ${q:-failed} | vireo ${v:-failed}   (seconds to VIREO-INIT-READY, guest uptime)"
  qemu_times+=("${q%% *}"); vireo_times+=("${v%% *}")
done
qm=$(printf '%s\n' "${qemu_times[@]}" | median); vm=$(printf '%s\n' "${vireo_times[@]}" | median)
echo "median launch -> VIREO-INIT-READY: qemu-tcg ${qm} s, vireo ${vm} s, ratio $(awk -v a="$vm" -v b="$qm" 'BEGIN {printf "%.1f", a / b}')x"
echo "load average during the run: $(cut -d' ' -f1-3 /proc/loadavg)"
