#!/usr/bin/env bash
# Usage: scripts/new-bundle.sh NAME "Description" [dep-artifact ...] : writes bundles/NAME/pom.xml
set -euo pipefail
name=$1; desc=$2; shift 2
dir=bundles/$name; mkdir -p "$dir/src/main/java" "$dir/src/test/java"
deps=""
for d in "$@"; do deps="$deps    <dependency><groupId>org.vireo</groupId><artifactId>$d</artifactId><version>\${project.version}</version></dependency>
"; done
cat > "$dir/pom.xml" <<POM
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
         xsi:schemaLocation="http://maven.apache.org/POM/4.0.0 https://maven.apache.org/xsd/maven-4.0.0.xsd">
  <modelVersion>4.0.0</modelVersion>
  <parent><groupId>org.vireo</groupId><artifactId>vireo</artifactId><version>0.1.0-SNAPSHOT</version><relativePath>../../pom.xml</relativePath></parent>
  <artifactId>$name</artifactId>
  <name>$name</name>
  <description>$desc</description>
  <dependencies>
$deps  </dependencies>
  <build>
    <plugins>
      <plugin><groupId>biz.aQute.bnd</groupId><artifactId>bnd-maven-plugin</artifactId></plugin>
      <plugin><groupId>org.apache.maven.plugins</groupId><artifactId>maven-jar-plugin</artifactId></plugin>
    </plugins>
  </build>
</project>
POM
