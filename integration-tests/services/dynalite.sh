#!/usr/bin/env bash
# dynalite.sh up|down — a second DynamoDB server for the benchmarks: dynalite (npm, MIT,
# pinned), DynamoDB's API on Node with an in-memory LevelDB. moto spends several times more
# CPU a request, on one core, so against moto every fast client measures moto; against
# dynalite the clients' own costs show. Not started by the test command (`up.sh` with no
# names); `just services-up … dynalite` or `up.sh dynalite` starts it.
#
# up:   `npm install`s dynalite $DYNALITE_VERSION into the user's cache ($STORES_CACHE_DIR,
#       else $XDG_CACHE_HOME/stores, else ~/.cache/stores; shared by every clone, installed
#       once), starts it on 127.0.0.1:$STORES_DYNALITE_PORT (default 55020) with tables
#       created and deleted at once (no CREATING state), waits until it answers, and writes
#       STORES_DYNALITE_ENDPOINT to .services/services.env. Idempotent.
# down: SIGTERM to the recorded pid, SIGKILL after 10s; removes its env line.
set -euo pipefail
SERVICE_NAME=dynalite
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DYNALITE_VERSION=4.0.0
PORT="${STORES_DYNALITE_PORT:-55020}"
TIMEOUT="${STORES_DYNALITE_TIMEOUT:-30}"
DYNALITE_STATE="$STATE_DIR/dynalite"
INSTALL_ROOT="$CACHE_DIR/npm-dynalite-$DYNALITE_VERSION"
BIN="$INSTALL_ROOT/node_modules/.bin/dynalite"
PID_FILE="$DYNALITE_STATE/dynalite.pid"
LOG_FILE="$DYNALITE_STATE/dynalite.log"
INSTALL_LOG="$DYNALITE_STATE/install.log"
ENDPOINT="http://127.0.0.1:$PORT"
PATTERN="dynalite --port"

dynalite_installed() { [[ -x "$BIN" ]]; }

install_dynalite() {
    need_cmd npm
    mkdir -p "$INSTALL_ROOT"
    log "npm install dynalite@$DYNALITE_VERSION into $INSTALL_ROOT (log: $INSTALL_LOG; once)"
    if ! npm install --prefix "$INSTALL_ROOT" --no-audit --no-fund \
            "dynalite@$DYNALITE_VERSION" >"$INSTALL_LOG" 2>&1; then
        tail_log "$INSTALL_LOG"
        die "npm install dynalite@$DYNALITE_VERSION failed"
    fi
}

# An unsigned request gets DynamoDB's own refusal (HTTP 400): the server is up.
answers() {
    curl -s --max-time 5 -X POST "$ENDPOINT/" \
        -H 'X-Amz-Target: DynamoDB_20120810.ListTables' \
        -H 'Content-Type: application/x-amz-json-1.0' -d '{}' | grep -q '__type'
}

cmd_up() {
    local start pid
    start="$(now_ms)"
    mkdir -p "$DYNALITE_STATE"
    need_cmd curl
    need_cmd node

    if pidfile_running "$PID_FILE" "$PATTERN"; then
        if answers; then
            log "already running (pid $(pidfile_read "$PID_FILE")) on port $PORT"
            env_set STORES_DYNALITE_ENDPOINT "$ENDPOINT"
            return 0
        fi
        log "pid file names a live dynalite that does not answer; restarting it"
        stop_pidfile "$PID_FILE" "$PATTERN" TERM 10 dynalite
    fi
    rm -f "$PID_FILE"
    require_port_free "$PORT" STORES_DYNALITE_PORT

    install_once "$INSTALL_ROOT.lock" dynalite_installed install_dynalite
    : >"$LOG_FILE"
    log "starting on 127.0.0.1:$PORT"
    spawn "$LOG_FILE" node "$BIN" --port "$PORT" --host 127.0.0.1 \
        --createTableMs 0 --deleteTableMs 0 --updateTableMs 0
    pid="$SPAWNED_PID"
    echo "$pid" >"$PID_FILE"

    if ! wait_until "$TIMEOUT" "$pid" "$LOG_FILE" "POST $ENDPOINT/ answered" answers; then
        stop_pidfile "$PID_FILE" "$PATTERN" TERM 10 dynalite
        exit 1
    fi
    env_set STORES_DYNALITE_ENDPOINT "$ENDPOINT"
    log "up in $(elapsed_since "$start")s: $ENDPOINT (dynalite $DYNALITE_VERSION, pid $pid, log $LOG_FILE)"
}

cmd_down() {
    local start
    start="$(now_ms)"
    stop_pidfile "$PID_FILE" "$PATTERN" TERM 10 dynalite
    env_unset STORES_DYNALITE_ENDPOINT
    log "down in $(elapsed_since "$start")s"
}

usage_updown "${1:-}"
lock_service dynalite
"cmd_$1"
