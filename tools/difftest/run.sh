#!/usr/bin/env bash
# Differential tester: Vireo's x86-64 CPU against QEMU TCG. `tools/difftest/run.sh --help` explains the options.
# Build first: mvn -B -q -ntp install -f bundles/org.vireo.x86.cpu/pom.xml -DskipTests && mvn -B -q -ntp install -f tools/difftest/pom.xml -DskipTests
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../scripts/jdk.sh"
jar="$here/target/vireo-difftest.jar"
if [ ! -f "$jar" ]; then
  echo "difftest: $jar is missing; build it with: mvn -B -q -ntp install -f tools/difftest/pom.xml -DskipTests" >&2
  exit 2
fi
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -cp "$jar:$here/target/lib/*" org.vireo.difftest.Main "$@"
