#!/usr/bin/env bash
# moto.sh up|down — moto server (PyPI `moto[server]`, pinned) emulating S3,
# DynamoDB and DynamoDB Streams on one port for the integration tests.
#
# up:   creates the virtualenv venv-moto-<version>-py<python> in the user's
#       cache ($STORES_CACHE_DIR, else $XDG_CACHE_HOME/stores, else
#       ~/.cache/stores; shared by every clone, so a fresh clone does not
#       reinstall) with `python3 -m venv` and pip-installs
#       moto[server]==$MOTO_VERSION (only when the stamp file says that exact
#       pin isn't installed yet), starts moto_server_serialized.py
#       (moto_server with DynamoDB's model calls serialized, to avoid a moto race
#       that drops writes) on 127.0.0.1:$STORES_MOTO_PORT (default 55000), waits
#       until /moto-api/ answers, and writes STORES_S3_ENDPOINT,
#       STORES_DYNAMODB_ENDPOINT and the fake AWS_* credentials to
#       .services/services.env. Idempotent. moto keeps state in memory only, so
#       every fresh start is empty.
# down: SIGTERM to the recorded pid, SIGKILL after 15s; removes its env lines.
set -euo pipefail
SERVICE_NAME=moto
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MOTO_VERSION=5.2.5
MOTO_REQUIREMENT="moto[server]==$MOTO_VERSION"
PORT="${STORES_MOTO_PORT:-55000}"
TIMEOUT="${STORES_MOTO_TIMEOUT:-60}"
PYTHON="${STORES_PYTHON:-python3}"
MOTO_STATE="$STATE_DIR/moto"
PYTHON_VERSION="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || echo unknown)"
VENV="$CACHE_DIR/venv-moto-$MOTO_VERSION-py$PYTHON_VERSION"
STAMP="$VENV/.stores-installed"
PID_FILE="$MOTO_STATE/moto.pid"
LOG_FILE="$MOTO_STATE/moto.log"
INSTALL_LOG="$MOTO_STATE/install.log"
ENDPOINT="http://127.0.0.1:$PORT"
PATTERN="moto_server"
ENV_KEYS=(STORES_S3_ENDPOINT STORES_DYNAMODB_ENDPOINT AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION AWS_DEFAULT_REGION)

moto_installed() {
    [[ -x "$VENV/bin/moto_server" && -f "$STAMP" && "$(cat "$STAMP")" == "$MOTO_REQUIREMENT" ]]
}

install_moto() {
    log "installing $MOTO_REQUIREMENT into $VENV (log: $INSTALL_LOG)"
    rm -rf "$VENV"
    : >"$INSTALL_LOG"
    if ! "$PYTHON" -m venv "$VENV" >>"$INSTALL_LOG" 2>&1; then
        # Debian's own python3 needs python3-venv for ensurepip.
        log "'$PYTHON -m venv' failed; installing python3-venv and using /usr/bin/python3"
        apt_install python3-venv
        PYTHON=/usr/bin/python3
        rm -rf "$VENV"
        "$PYTHON" -m venv "$VENV" >>"$INSTALL_LOG" 2>&1 || { tail_log "$INSTALL_LOG"; die "cannot create $VENV"; }
    fi
    if ! "$VENV/bin/python" -m pip install --disable-pip-version-check -q "$MOTO_REQUIREMENT" >>"$INSTALL_LOG" 2>&1; then
        tail_log "$INSTALL_LOG"
        die "pip install $MOTO_REQUIREMENT failed"
    fi
    printf '%s' "$MOTO_REQUIREMENT" >"$STAMP"
}

# moto checks no signature, but the secret it is given is made at random once per state
# directory: a distinctive value that the suite's trace capture (scripts/check-trace-capture.py)
# can look for in every log line, as it could not for a secret such as `test`.
write_env() {
    local secret_file="$MOTO_STATE/secret"
    if [[ ! -s "$secret_file" ]]; then
        mkdir -p "$MOTO_STATE"
        printf 'motoSecret%s' "$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')" >"$secret_file"
    fi
    env_set STORES_S3_ENDPOINT "$ENDPOINT" \
        STORES_DYNAMODB_ENDPOINT "$ENDPOINT" \
        AWS_ACCESS_KEY_ID test \
        AWS_SECRET_ACCESS_KEY "$(cat "$secret_file")" \
        AWS_REGION us-east-1 \
        AWS_DEFAULT_REGION us-east-1   # boto3/aws-cli read this one, the Rust SDK AWS_REGION
}

cmd_up() {
    local start pid
    start="$(now_ms)"
    mkdir -p "$MOTO_STATE"
    need_cmd curl

    if pidfile_running "$PID_FILE" "$PATTERN"; then
        if http_ok "$ENDPOINT/moto-api/"; then
            log "already running (pid $(pidfile_read "$PID_FILE")) on port $PORT"
            write_env
            return 0
        fi
        log "pid file names a live moto_server that does not answer; restarting it"
        stop_pidfile "$PID_FILE" "$PATTERN" TERM 15 moto
    fi
    rm -f "$PID_FILE"
    require_port_free "$PORT" STORES_MOTO_PORT

    install_once "$VENV.lock" moto_installed install_moto
    : >"$LOG_FILE"
    log "starting on 127.0.0.1:$PORT"
    # moto_server_serialized.py is moto_server with DynamoDB's model calls under one lock
    # (moto 5.2.5 drops concurrent writes to a new partition; see that file). The venv's
    # python runs it directly, so $! is the server.
    spawn "$LOG_FILE" "$VENV/bin/python" "$SERVICES_DIR/moto_server_serialized.py" -H 127.0.0.1 -p "$PORT"
    pid="$SPAWNED_PID"
    echo "$pid" >"$PID_FILE"

    if ! wait_until "$TIMEOUT" "$pid" "$LOG_FILE" "GET $ENDPOINT/moto-api/" http_ok "$ENDPOINT/moto-api/"; then
        stop_pidfile "$PID_FILE" "$PATTERN" TERM 15 moto
        exit 1
    fi
    write_env
    log "up in $(elapsed_since "$start")s: $ENDPOINT (moto $MOTO_VERSION, pid $pid, log $LOG_FILE)"
}

cmd_down() {
    local start
    start="$(now_ms)"
    stop_pidfile "$PID_FILE" "$PATTERN" TERM 15 moto
    env_unset "${ENV_KEYS[@]}"
    log "down in $(elapsed_since "$start")s"
}

usage_updown "${1:-}"
lock_service moto
"cmd_$1"
