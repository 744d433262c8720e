#!/usr/bin/env bash
# Runs Vireo's JMH benchmarks with modest settings. Usage: benchmarks/run.sh [REGEX] [JMH options]
#   benchmarks/run.sh RingRoundTrip            split- and packed-ring round trips (driver -> device -> driver)
#   benchmarks/run.sh BlkThroughput            virtio-blk through the Java driver, mmio and pci, 4 KiB and 1 MiB
#   benchmarks/run.sh RingRoundTrip -p descriptors=3 -rf json -rff result.json
# Builds the benchmarks module and what it uses first (skipping tests). Record results in docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/jdk.sh
pattern=${1:-.}
[ $# -gt 0 ] && shift
mvn -B -q -ntp install -DskipTests -pl benchmarks -am
exec java --enable-native-access=ALL-UNNAMED -cp "benchmarks/target/classes:$(cat benchmarks/target/benchmark.classpath)" \
  org.openjdk.jmh.Main "$pattern" -f 1 -wi 3 -i 5 -w 1s -r 1s "$@"
