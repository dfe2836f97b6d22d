#!/usr/bin/env bash
# opensearch.sh up|down — an in-process OpenSearch 2.19 node (no Docker, no
# distribution tarball) for the integration tests, on 127.0.0.1:59200
# (STORES_OPENSEARCH_PORT); writes STORES_OPENSEARCH_URL. The life cycle
# (Maven build, fifo-held stdin, READY line, health wait) is jvm_node.sh's.
#
# Needs a Java 17 JDK (OpenSearch 2.19 is not run on newer JDKs here): taken
# from $STORES_OPENSEARCH_JAVA_HOME, else /usr/lib/jvm/java-17-*, else
# openjdk-17-jdk-headless is apt-installed. Maven is apt-installed if missing.
set -euo pipefail
SERVICE_NAME=opensearch
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PORT="${STORES_OPENSEARCH_PORT:-59200}"
TRANSPORT_PORT="${STORES_OPENSEARCH_TRANSPORT_PORT:-59300-59399}"
TIMEOUT="${STORES_OPENSEARCH_TIMEOUT:-180}"
HEAP_OPTS="${STORES_OPENSEARCH_HEAP:--Xms512m -Xmx1g}"
LAUNCHER_DIR="$SERVICES_DIR/opensearch-launcher"
NODE_STATE="$STATE_DIR/opensearch"
JVM_PATTERN="dev.stores.opensearch.Launcher"
JVM_NODE_LABEL=OpenSearch
JVM_NODE_ENV_VAR=STORES_OPENSEARCH_URL
JVM_NODE_PORT_VAR=STORES_OPENSEARCH_PORT
JVM_NODE_JAVA_HOME_VAR=STORES_OPENSEARCH_JAVA_HOME
JVM_NODE_JAVA_HOME="${STORES_OPENSEARCH_JAVA_HOME:-}"
JVM_NODE_JAR=opensearch-launcher.jar
# shellcheck source=jvm_node.sh
source "$SERVICES_DIR/jvm_node.sh"

usage_updown "${1:-}"
lock_service opensearch
"jvm_node_$1"
