# jvm_node.sh — sourced by opensearch.sh and elasticsearch.sh: build a Maven
# launcher, run it as an in-process search node, stop it. Both nodes share this
# life cycle; the caller sets, before sourcing lib.sh and this file:
#
#   JVM_NODE_LABEL          name in logs ("OpenSearch")
#   JVM_NODE_ENV_VAR        the services.env variable holding its URL
#   JVM_NODE_PORT_VAR       the variable that overrides PORT (named in errors)
#   JVM_NODE_JAVA_HOME_VAR  the variable naming a Java 17 JDK, and its value in
#   JVM_NODE_JAVA_HOME
#   JVM_NODE_JAR            the launcher jar's file name under target/
#   PORT TRANSPORT_PORT TIMEOUT HEAP_OPTS LAUNCHER_DIR NODE_STATE JVM_PATTERN
#
# up:   builds the launcher with Maven on Java 17 (only when pom.xml or src/
#       changed: checksum stamp; the first build downloads its jars into
#       ~/.m2; the output is kept in the user's cache by that checksum, so
#       another clone reuses it), starts it on a flat classpath with a fresh data dir, waits for
#       its "READY http://..." line and for cluster health yellow, and writes
#       the URL to .services/services.env. Idempotent.
#       The JVM's stdin is a fifo held open by a tracked `sleep infinity`
#       holder: the launcher closes the node and exits when stdin hits EOF.
# restart: SIGKILL and start again on the same data directory (jvm_node_restart).
# down: kills the holder (EOF -> the JVM shuts down by itself), waits up to
#       15s, then SIGTERM / SIGKILL the JVM by pid; removes its env line.

TARGET_DIR="$LAUNCHER_DIR/target"
BUILD_STAMP="$TARGET_DIR/.stores-build-stamp"
PID_FILE="$NODE_STATE/node.pid"
HOLDER_PID_FILE="$NODE_STATE/stdin-holder.pid"
FIFO="$NODE_STATE/stdin.fifo"
LOG_FILE="$NODE_STATE/node.log"
BUILD_LOG="$NODE_STATE/build.log"
URL="http://127.0.0.1:$PORT"
HOLDER_PATTERN="sleep infinity"
HEALTH_URL="$URL/_cluster/health?wait_for_status=yellow&timeout=5s"

# Print JAVA_HOME of a Java 17 JDK (needs javac for the Maven build).
find_jdk17() {
    local d
    for d in ${JVM_NODE_JAVA_HOME:-} /usr/lib/jvm/java-17-* /usr/lib/jvm/*-17-* /usr/lib/jvm/*17*; do
        if [[ -x "$d/bin/java" && -x "$d/bin/javac" ]] \
            && "$d/bin/java" -version 2>&1 | grep -q 'version "17\.'; then
            printf '%s' "$d"
            return 0
        fi
    done
    return 1
}

source_checksum() {
    (cd "$LAUNCHER_DIR" && find pom.xml src ../launcher-common -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
}

ensure_built() {
    local sum start cached
    sum="$(source_checksum)"
    if [[ -f "$BUILD_STAMP" && "$(cat "$BUILD_STAMP")" == "$sum" \
          && -f "$TARGET_DIR/$JVM_NODE_JAR" && -d "$TARGET_DIR/dependency" ]]; then
        return 0
    fi
    # Built before from the same sources (by this clone or another): reuse that output.
    cached="$CACHE_DIR/launchers/$(basename "$LAUNCHER_DIR")-$sum"
    rm -rf "$TARGET_DIR/dependency" "$BUILD_STAMP"
    if [[ -f "$cached/.complete" ]]; then
        mkdir -p "$TARGET_DIR"
        cp "$cached/$JVM_NODE_JAR" "$TARGET_DIR/" && cp -r "$cached/dependency" "$TARGET_DIR/"
        printf '%s' "$sum" >"$BUILD_STAMP"
        log "launcher taken from the cache ($cached)"
        return 0
    fi
    need_cmd mvn maven
    start="$(now_ms)"
    log "building the launcher with Maven (JAVA_HOME=$JDK; log: $BUILD_LOG)"
    if ! (cd "$LAUNCHER_DIR" && JAVA_HOME="$JDK" mvn -q -B package dependency:copy-dependencies) \
            >"$BUILD_LOG" 2>&1 </dev/null; then
        tail_log "$BUILD_LOG"
        die "Maven build of $LAUNCHER_DIR failed"
    fi
    printf '%s' "$sum" >"$BUILD_STAMP"
    log "built in $(elapsed_since "$start")s"
    # Keyed by the sources' checksum; written aside and renamed, so a reader never sees half.
    mkdir -p "$CACHE_DIR/launchers"
    local partial="$cached.partial.$$"
    rm -rf "$partial"
    mkdir -p "$partial"
    if cp "$TARGET_DIR/$JVM_NODE_JAR" "$partial/" && cp -r "$TARGET_DIR/dependency" "$partial/" \
            && touch "$partial/.complete" && mv -T "$partial" "$cached" 2>/dev/null; then
        log "launcher cached in $cached"
    fi
    rm -rf "$partial"
}

# Stop what an earlier up started (holder and JVM), whatever state it is in.
stop_all() {
    local pid
    pid="$(pidfile_read "$PID_FILE")"
    if ! pid_matches "$pid" "$JVM_PATTERN"; then
        # No JVM of ours (never started, crashed, or already gone): just clean up.
        stop_pidfile "$HOLDER_PID_FILE" "$HOLDER_PATTERN" TERM 5 "stdin holder"
        stop_pidfile "$PID_FILE" "$JVM_PATTERN" TERM 15 "$JVM_NODE_LABEL"
        rm -f "$FIFO"
        return 0
    fi
    # Closing the JVM's stdin is the polite shutdown request: the launcher
    # closes the node and exits by itself.
    stop_pidfile "$HOLDER_PID_FILE" "$HOLDER_PATTERN" TERM 5 "stdin holder"
    log "waiting up to 15s for the JVM (pid $pid) to close the node"
    if wait_pid_exit "$pid" 15; then
        log "JVM exited"
    else
        kill_and_wait "$pid" TERM 15 "$JVM_NODE_LABEL"
    fi
    rm -f "$PID_FILE" "$FIFO"
}

# start_jvm HOME — starts the node on HOME (its data kept as it is) with a fresh stdin fifo
# and holder, and waits for its READY line and for cluster health yellow (exit 1 otherwise).
start_jvm() {
    local home="$1" pid holder
    rm -f "$FIFO"
    mkfifo "$FIFO"

    log "starting $JVM_NODE_LABEL on 127.0.0.1:$PORT (java: $JDK)"
    # The JVM's open() of the fifo blocks until the holder opens the write end.
    # shellcheck disable=SC2086  # HEAP_OPTS is a list of JVM flags
    "$JDK/bin/java" $HEAP_OPTS \
        -XX:+UseG1GC -XX:+ExitOnOutOfMemoryError \
        -Djava.io.tmpdir="$home/tmp" \
        -Djava.locale.providers=SPI,COMPAT \
        -Dfile.encoding=UTF-8 \
        -Dio.netty.noUnsafe=true -Dio.netty.noKeySetOptimization=true \
        -Dio.netty.recycler.maxCapacityPerThread=0 \
        -Dlog4j.shutdownHookEnabled=false -Dlog4j2.disable.jmx=true \
        -cp "$TARGET_DIR/$JVM_NODE_JAR:$TARGET_DIR/dependency/*" \
        "$JVM_PATTERN" \
        path.home="$home" path.data="$home/data" path.logs="$home/logs" \
        cluster.name=stores-test node.name=stores-test-node \
        network.host=127.0.0.1 http.port="$PORT" transport.port="$TRANSPORT_PORT" \
        discovery.type=single-node \
        cluster.routing.allocation.disk.threshold_enabled=false \
        <"$FIFO" >>"$LOG_FILE" 2>&1 9>&- &
    pid=$!
    echo "$pid" >"$PID_FILE"
    sleep infinity >"$FIFO" 2>/dev/null 9>&- &
    holder=$!
    echo "$holder" >"$HOLDER_PID_FILE"

    if ! wait_until "$TIMEOUT" "$pid" "$LOG_FILE" "the launcher's READY line" grep -q '^READY ' "$LOG_FILE" \
        || ! wait_until "$TIMEOUT" "$pid" "$LOG_FILE" "cluster health yellow at $URL" http_ok "$HEALTH_URL"; then
        stop_all
        exit 1
    fi
}

jvm_node_up() {
    local start home
    start="$(now_ms)"
    mkdir -p "$NODE_STATE"
    need_cmd curl

    if pidfile_running "$PID_FILE" "$JVM_PATTERN"; then
        if http_ok "$HEALTH_URL"; then
            log "already running (pid $(pidfile_read "$PID_FILE")) on port $PORT"
            env_set "$JVM_NODE_ENV_VAR" "$URL"
            return 0
        fi
        log "pid file names a live launcher that is not healthy; restarting it"
    fi
    stop_all   # also cleans up after a failed or partial earlier up
    require_port_free "$PORT" "$JVM_NODE_PORT_VAR"

    if ! JDK="$(find_jdk17)"; then
        apt_install openjdk-17-jdk-headless
        JDK="$(find_jdk17)" || die "no Java 17 JDK found under /usr/lib/jvm (set $JVM_NODE_JAVA_HOME_VAR)"
    fi
    ensure_built

    home="$NODE_STATE/home"
    rm -rf "$home"
    mkdir -p "$home/config" "$home/plugins" "$home/modules" "$home/data" "$home/logs" "$home/tmp"
    : >"$LOG_FILE"
    start_jvm "$home"
    env_set "$JVM_NODE_ENV_VAR" "$URL"
    log "up in $(elapsed_since "$start")s: $URL (pid $(pidfile_read "$PID_FILE"), log $LOG_FILE)"
}

# restart: the node killed (SIGKILL, as a crash would) and started again on the same data
# directory: what was acknowledged must be there (tests/restart.rs).
jvm_node_restart() {
    local start pid
    start="$(now_ms)"
    pidfile_running "$PID_FILE" "$JVM_PATTERN" || die "not running: run up first"
    JDK="$(find_jdk17)" || die "no Java 17 JDK found under /usr/lib/jvm (set $JVM_NODE_JAVA_HOME_VAR)"
    pid="$(pidfile_read "$PID_FILE")"
    kill_and_wait "$pid" KILL 15 "$JVM_NODE_LABEL"
    stop_pidfile "$HOLDER_PID_FILE" "$HOLDER_PATTERN" TERM 5 "stdin holder"
    rm -f "$PID_FILE" "$FIFO"
    mv -f "$LOG_FILE" "$LOG_FILE.before-restart"   # its READY line is the old node's
    : >"$LOG_FILE"
    start_jvm "$NODE_STATE/home"
    log "restarted in $(elapsed_since "$start")s"
}

jvm_node_down() {
    local start
    start="$(now_ms)"
    stop_all
    env_unset "$JVM_NODE_ENV_VAR"
    log "down in $(elapsed_since "$start")s"
}

