#!/usr/bin/env bash
# Runs the split-ring round-trip benchmark (JMH) with modest settings; extra arguments go to JMH
# (e.g. -p descriptors=3, -rf json -rff result.json). Builds the benchmarks module first when it is missing or stale.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/jdk.sh
cp_file=benchmarks/target/benchmark.classpath
stamp=benchmarks/target/classes/META-INF/BenchmarkList
if [ ! -f "$cp_file" ] || [ ! -f "$stamp" ] || \
   [ -n "$(find benchmarks/src bundles/org.vireo.memory/src/main bundles/org.vireo.virtio.api/src/main \
            bundles/org.vireo.virtio.ring/src/main benchmarks/pom.xml -newer "$stamp" -print -quit)" ]; then
  mvn -B -q -ntp package -DskipTests -pl bundles/org.vireo.memory,bundles/org.vireo.virtio.api,bundles/org.vireo.virtio.ring,benchmarks
fi
exec java -cp "benchmarks/target/classes:$(cat "$cp_file")" org.openjdk.jmh.Main RingRoundTrip \
  -f 1 -wi 3 -i 5 -w 1s -r 1s "$@"
