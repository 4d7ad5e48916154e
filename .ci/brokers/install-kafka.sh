#!/usr/bin/env bash
# Installs Apache Kafka's broker jars (KRaft mode) from Maven Central for the broker suites and
# prints the directory that holds them (for `java -cp '<dir>/*' kafka.Kafka …`).
#
#   .ci/brokers/install-kafka.sh                 → ~/.cache/kubefork/kafka/<version>/libs
#   KAFKA_VERSION=4.1.1 .ci/brokers/install-kafka.sh
#
# Idempotent: a complete install (marked by a `.complete` file written last) is reused as is, so
# the tests may call this every time. Needs Java 17+ and Maven (`mvn`); on Debian
# `apt-get install -y openjdk-17-jre-headless maven` when they are missing.
set -euo pipefail

VERSION=${KAFKA_VERSION:-4.1.1}
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${KUBEFORK_KAFKA_CACHE:-$HOME/.cache/kubefork/kafka}
DIR="$CACHE/$VERSION"
LIBS="$DIR/libs"

if [ -f "$DIR/.complete" ] && [ -f "$LIBS/kafka_2.13-$VERSION.jar" ]; then
  echo "$LIBS"
  exit 0
fi

for tool in java mvn; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "install-kafka: '$tool' is missing (Debian: apt-get install -y openjdk-17-jre-headless maven)" >&2
    exit 1
  fi
done

# Resolve into a fresh directory next to the final one, then rename: an interrupted run never
# leaves a half-filled libs/ that a later run would take for complete.
mkdir -p "$DIR"
STAGE=$(mktemp -d "$DIR/.libs.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
mvn -q -B -f "$HERE/kafka/pom.xml" \
  -Dkafka.version="$VERSION" -DincludeScope=runtime -DoutputDirectory="$STAGE" \
  dependency:copy-dependencies >&2
if [ ! -f "$STAGE/kafka_2.13-$VERSION.jar" ]; then
  echo "install-kafka: Maven did not deliver kafka_2.13-$VERSION.jar" >&2
  exit 1
fi
rm -rf "$LIBS"
mv "$STAGE" "$LIBS"
touch "$DIR/.complete"
echo "$LIBS"
