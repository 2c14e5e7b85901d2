#!/usr/bin/env bash
# The S3-compatible server the attachment tests run against: s3proxy (Maven Central,
# org.gaul:s3proxy, its jar-with-dependencies) on Java 17 from Debian. Downloaded once into the
# cache; does nothing when it is there. test/support/s3proxy.ts finds it at the same path.
set -euo pipefail

version=2.6.0
dir="${XDG_CACHE_HOME:-$HOME/.cache}/zerohour/s3proxy"
jar="$dir/s3proxy-$version-jar-with-dependencies.jar"

if ! command -v java >/dev/null || ! command -v mvn >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless maven
fi

if [ ! -s "$jar" ]; then
  mkdir -p "$dir"
  mvn -q -B dependency:copy \
    -Dartifact="org.gaul:s3proxy:$version:jar:jar-with-dependencies" \
    -DoutputDirectory="$dir"
fi
echo "s3proxy $version: $jar ($(java -version 2>&1 | head -1))"
