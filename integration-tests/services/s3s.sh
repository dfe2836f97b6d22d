#!/usr/bin/env bash
# s3s.sh up|down — a second S3 server that checks every signature: s3s-fs (crates.io,
# pinned; the newest that builds on this toolchain) storing objects in a directory.
# moto accepts expired and tampered presigned URLs; this one refuses them, so the presign
# and credential tests run against it.
#
# up:   `cargo install`s s3s-fs $S3S_VERSION into the user's cache ($STORES_CACHE_DIR, else
#       $XDG_CACHE_HOME/stores, else ~/.cache/stores; shared by every clone, built once),
#       makes a fresh data directory, starts it on 127.0.0.1:$STORES_S3S_PORT (default
#       55010) with an access key and a secret made at start-up, waits until it answers
#       (an unsigned request gets 403), and writes STORES_S3_VERIFYING_ENDPOINT,
#       STORES_S3_VERIFYING_ACCESS_KEY and STORES_S3_VERIFYING_SECRET_KEY to
#       .services/services.env. Idempotent.
# down: SIGTERM to the recorded pid, SIGKILL after 10s; removes its env lines.
set -euo pipefail
SERVICE_NAME=s3s
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

S3S_VERSION=0.14.1
PORT="${STORES_S3S_PORT:-55010}"
TIMEOUT="${STORES_S3S_TIMEOUT:-30}"
S3S_STATE="$STATE_DIR/s3s"
INSTALL_ROOT="$CACHE_DIR/s3s-fs-$S3S_VERSION"
BIN="$INSTALL_ROOT/bin/s3s-fs"
PID_FILE="$S3S_STATE/s3s.pid"
LOG_FILE="$S3S_STATE/s3s.log"
INSTALL_LOG="$S3S_STATE/install.log"
KEYS_FILE="$S3S_STATE/keys"
DATA_DIR="$S3S_STATE/data"
ENDPOINT="http://127.0.0.1:$PORT"
PATTERN="s3s-fs --host"
ENV_KEYS=(STORES_S3_VERIFYING_ENDPOINT STORES_S3_VERIFYING_ACCESS_KEY STORES_S3_VERIFYING_SECRET_KEY)

s3s_installed() { [[ -x "$BIN" ]]; }

install_s3s() {
    need_cmd cargo
    log "cargo install s3s-fs $S3S_VERSION into $INSTALL_ROOT (log: $INSTALL_LOG; a few minutes, once)"
    if ! cargo install s3s-fs --version "$S3S_VERSION" --features binary --locked \
            --root "$INSTALL_ROOT" >"$INSTALL_LOG" 2>&1; then
        tail_log "$INSTALL_LOG"
        die "cargo install s3s-fs $S3S_VERSION failed"
    fi
}

# An unsigned request is refused with 403: the server is up and checking signatures.
answers_403() {
    [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$ENDPOINT/")" == 403 ]]
}

write_env() {
    local access secret
    read -r access secret <"$KEYS_FILE"
    env_set STORES_S3_VERIFYING_ENDPOINT "$ENDPOINT" \
        STORES_S3_VERIFYING_ACCESS_KEY "$access" \
        STORES_S3_VERIFYING_SECRET_KEY "$secret"
}

cmd_up() {
    local start pid access secret
    start="$(now_ms)"
    mkdir -p "$S3S_STATE"
    need_cmd curl

    if pidfile_running "$PID_FILE" "$PATTERN" && [[ -f "$KEYS_FILE" ]]; then
        if answers_403; then
            log "already running (pid $(pidfile_read "$PID_FILE")) on port $PORT"
            write_env
            return 0
        fi
        log "pid file names a live s3s-fs that does not answer; restarting it"
        stop_pidfile "$PID_FILE" "$PATTERN" TERM 10 s3s
    fi
    rm -f "$PID_FILE"
    require_port_free "$PORT" STORES_S3S_PORT

    install_once "$INSTALL_ROOT.lock" s3s_installed install_s3s
    rm -rf "$DATA_DIR"
    mkdir -p "$DATA_DIR"
    access="stores$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
    secret="$(od -An -N20 -tx1 /dev/urandom | tr -d ' \n')"
    ( umask 077 && printf '%s %s\n' "$access" "$secret" >"$KEYS_FILE" )
    : >"$LOG_FILE"
    log "starting on 127.0.0.1:$PORT"
    spawn "$LOG_FILE" env RUST_LOG=info "$BIN" --host 127.0.0.1 --port "$PORT" \
        --access-key "$access" --secret-key "$secret" "$DATA_DIR"
    pid="$SPAWNED_PID"
    echo "$pid" >"$PID_FILE"

    if ! wait_until "$TIMEOUT" "$pid" "$LOG_FILE" "GET $ENDPOINT/ refused unsigned" answers_403; then
        stop_pidfile "$PID_FILE" "$PATTERN" TERM 10 s3s
        exit 1
    fi
    write_env
    log "up in $(elapsed_since "$start")s: $ENDPOINT (s3s-fs $S3S_VERSION, pid $pid, log $LOG_FILE)"
}

cmd_down() {
    local start
    start="$(now_ms)"
    stop_pidfile "$PID_FILE" "$PATTERN" TERM 10 s3s
    env_unset "${ENV_KEYS[@]}"
    log "down in $(elapsed_since "$start")s"
}

usage_updown "${1:-}"
lock_service s3s
"cmd_$1"
