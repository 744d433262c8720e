#!/usr/bin/env bash
# CPU A/B benchmark (issue 11; not a test): the busybox guest kit booted to its reboot with two or more builds of the
# x86 CPU bundle, alternating, so both see the same machine load. Each JAR (e.g. a commit's
# bundles/org.vireo.x86.cpu/target/org.vireo.x86.cpu-*.jar, built in a `git worktree`) is copied over
# launch/target/vireo/bundle/'s for its run; the installed one is put back at the end.
# Usage: benchmarks/cpu-ab.sh RUNS JAR_A JAR_B [JAR...]
# Prints per run: guest seconds to reboot, guest uptime at VIREO-INIT-READY, wall time, the vCPU thread's CPU time
# (from --stats, where the build prints it) and the load average. Holds /tmp/vireo-build.lock for each boot.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 3 ]; then sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 2; fi
runs=$1; shift
for j in "$@"; do [ -f "$j" ] || { echo "cpu-ab: no such jar: $j" >&2; exit 2; }; done
dst=$(ls launch/target/vireo/bundle/org.vireo.x86.cpu-*.jar 2>/dev/null | head -1)
[ -n "$dst" ] || { echo "cpu-ab: build Vireo first (launch/target/vireo has no org.vireo.x86.cpu jar)" >&2; exit 1; }
installed=$(mktemp); cp "$dst" "$installed"
trap 'cp "$installed" "$dst"; rm -f "$installed"' EXIT
scripts/guest-kit --quiet >/dev/null
for i in $(seq 1 "$runs"); do
  for j in "$@"; do
    out=$(flock /tmp/vireo-build.lock bash -c 'cp "$1" "$2"; s=$(date +%s.%N); VIREO_AOT=off launch/vireo run --stats </dev/null 2>&1
                                            echo "WALL $(awk -v a="$(date +%s.%N)" -v b="$s" "BEGIN {printf \"%.2f\", a - b}")"' _ "$j" "$dst")
    guest=$(grep -o 'reboot) after [0-9.]* s' <<<"$out" | grep -o '[0-9.]*' || echo '?')
    ready=$(grep -o 'uptime at ready [0-9.]*' <<<"$out" | grep -o '[0-9.]*$' || echo '?')
    cpu=$(grep -o 'vCPU thread CPU time [0-9,]* ms' <<<"$out" | grep -o '[0-9,]*' | tr -d , || true)
    echo "run $i $j: guest ${guest} s, ready ${ready} s," \
         "wall $(grep WALL <<<"$out" | cut -d' ' -f2) s, vCPU ${cpu:-?} ms, load $(cut -d' ' -f1 /proc/loadavg)"
  done
done
