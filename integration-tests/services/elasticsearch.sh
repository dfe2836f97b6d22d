#!/usr/bin/env bash
# elasticsearch.sh up|down — an in-process Elasticsearch 7.10.2 node (the last
# Apache-2.0 release; no Docker, no distribution tarball) for the integration
# tests, on 127.0.0.1:59201 (STORES_ELASTICSEARCH_PORT); writes
# STORES_ELASTICSEARCH_URL. The life cycle (Maven build, fifo-held stdin,
# READY line, health wait) is jvm_node.sh's.
#
# The launcher loads what Maven Central publishes of 7.10.2: the server with
# the netty4 HTTP layer, reindex, mapper-extras, and x-pack-core (Elastic
# License 2.0; it holds 7.10's point in time; security off). Not published
# there, so absent: analysis-common (ngram, asciifolding, ... filters) and
# lang-painless (scripts).
#
# Runs on Java 17 as OpenSearch does (built for 11-15, it needs no extra flag
# when started without its Bootstrap): $STORES_ELASTICSEARCH_JAVA_HOME, else
# /usr/lib/jvm/java-17-*, else openjdk-17-jdk-headless is apt-installed.
set -euo pipefail
SERVICE_NAME=elasticsearch
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PORT="${STORES_ELASTICSEARCH_PORT:-59201}"
TRANSPORT_PORT="${STORES_ELASTICSEARCH_TRANSPORT_PORT:-59400-59499}"
TIMEOUT="${STORES_ELASTICSEARCH_TIMEOUT:-180}"
HEAP_OPTS="${STORES_ELASTICSEARCH_HEAP:--Xms512m -Xmx1g}"
LAUNCHER_DIR="$SERVICES_DIR/elasticsearch-launcher"
NODE_STATE="$STATE_DIR/elasticsearch"
JVM_PATTERN="dev.stores.elasticsearch.Launcher"
JVM_NODE_LABEL=Elasticsearch
JVM_NODE_ENV_VAR=STORES_ELASTICSEARCH_URL
JVM_NODE_PORT_VAR=STORES_ELASTICSEARCH_PORT
JVM_NODE_JAVA_HOME_VAR=STORES_ELASTICSEARCH_JAVA_HOME
JVM_NODE_JAVA_HOME="${STORES_ELASTICSEARCH_JAVA_HOME:-}"
JVM_NODE_JAR=elasticsearch-launcher.jar
# shellcheck source=jvm_node.sh
source "$SERVICES_DIR/jvm_node.sh"

usage_updown "${1:-}"
lock_service elasticsearch
"jvm_node_$1"
