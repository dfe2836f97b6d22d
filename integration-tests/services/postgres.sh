#!/usr/bin/env bash
# postgres.sh up|down|restart — a throwaway PostgreSQL (Debian packages, newest
# /usr/lib/postgresql/*/bin) for the integration tests.
#
# up:   installs `postgresql` with apt-get if no server binaries exist, creates a
#       fresh cluster (initdb, trust auth on 127.0.0.1 only, except for members of
#       the role password_checked, who log in with a password (md5: the
#       tests set each as a hash, so no password appears in a statement; durability off for
#       speed), starts it on 127.0.0.1:$STORES_PG_PORT (default 55432) with its
#       unix socket in its own directory, creates database stores_test, and
#       writes STORES_POSTGRES_URL to .services/services.env. TLS is on, with a
#       server certificate for localhost/127.0.0.1 from a throwaway CA made at
#       start-up (openssl); the CA is .services/postgres/ca.pem, named by
#       STORES_POSTGRES_CA. Idempotent: a running instance of ours is left alone.
# restart [immediate|fast]: the same server killed (or shut down) and started again on its
#       data directory; see cmd_restart.
# down: fast shutdown (SIGINT) of the postmaster recorded in the pid file,
#       SIGKILL after 20s; removes its line from services.env.
#
# Running as root, initdb/postgres run as the `postgres` user (setpriv). If that
# user cannot reach <repo>/.services (e.g. a repo under /root), or the socket
# path would be too long, the cluster lives under /tmp instead (logged).
set -euo pipefail
SERVICE_NAME=postgres
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PORT="${STORES_PG_PORT:-55432}"
DB_NAME=stores_test
TIMEOUT="${STORES_PG_TIMEOUT:-60}"
PG_STATE="$STATE_DIR/postgres"
PID_FILE="$PG_STATE/postgres.pid"
LOG_FILE="$PG_STATE/postgres.log"
URL="postgres://postgres@127.0.0.1:$PORT/$DB_NAME"
CA_FILE="$PG_STATE/ca.pem"   # the throwaway CA that signed the server's certificate

# Newest installed server version's bin dir (empty if none).
find_pg_bin() {
    local dir
    dir="$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)"
    if [[ -n "$dir" && -x "$dir/initdb" && -x "$dir/postgres" ]]; then
        printf '%s' "$dir"
    fi
}

# "${AS_PG[@]}" CMD... runs CMD as the postgres OS user when we are root
# (setpriv execs, no extra process).
AS_PG=()
if (( EUID == 0 )); then
    AS_PG=(setpriv --reuid=postgres --regid=postgres --init-groups --)
fi
PM_PATTERN="bin/postgres -D"   # how our postmaster's command line looks

as_pg() {
    "${AS_PG[@]}" "$@"
}

# make_certificates DIR — a throwaway CA (2 days) and a server certificate it signs for
# localhost and 127.0.0.1, so the TLS tests can verify the server (sslmode=verify-full) and
# refuse it with another CA. The key stays 0600 and the server's; the CA goes to $CA_FILE.
make_certificates() {
    local dir="$1"
    rm -rf "$dir"
    mkdir -p "$dir"
    {
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=stores test CA" \
            -keyout "$dir/ca.key" -out "$dir/ca.pem"
        openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
            -keyout "$dir/server.key" -out "$dir/server.csr"
        printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' \
            >"$dir/server.ext"
        openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
            -CAcreateserial -days 2 -extfile "$dir/server.ext" -out "$dir/server.pem"
    } >>"$LOG_FILE" 2>&1 || die "making the TLS certificates failed (see $LOG_FILE)"
    rm -f "$dir/ca.key" "$dir/server.csr"
    chmod 0600 "$dir/server.key"
    chmod 0644 "$dir/ca.pem" "$dir/server.pem"
    chmod 0755 "$dir"
    if (( EUID == 0 )); then
        chown -R postgres:postgres "$dir"
    fi
    cp "$dir/ca.pem" "$CA_FILE"
}

# Pick the directory that holds data/ and run/ (the socket dir).
choose_cluster_base() {
    local base="$PG_STATE/cluster"
    mkdir -p "$base"
    if (( EUID == 0 )); then
        chown postgres:postgres "$base"
        if ! as_pg test -w "$base"; then
            base=""
        fi
    fi
    # unix socket paths are limited to ~107 bytes: ".../run/.s.PGSQL.NNNNN"
    if [[ -z "$base" ]] || (( ${#base} > 80 )); then
        base="${TMPDIR:-/tmp}/stores-services-$(id -u)-$(printf '%s' "$REPO_ROOT" | cksum | cut -d' ' -f1)/postgres"
        log "using $base for the cluster (postgres user cannot use $PG_STATE, or its path is too long)"
        mkdir -p "$base"
        (( EUID == 0 )) && chown postgres:postgres "$base"
    fi
    printf '%s' "$base"
}

pg_ready() {
    "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" -d postgres -U postgres \
        && "$PG_BIN/psql" -qAtX -h 127.0.0.1 -p "$PORT" -U postgres -d "$DB_NAME" -c 'select 1' | grep -qx 1
}

cmd_up() {
    local start pid base data run
    start="$(now_ms)"
    mkdir -p "$PG_STATE"

    PG_BIN="$(find_pg_bin)"
    if [[ -z "$PG_BIN" ]]; then
        apt_install postgresql
        PG_BIN="$(find_pg_bin)"
        [[ -n "$PG_BIN" ]] || die "no /usr/lib/postgresql/*/bin after installing postgresql"
    fi
    (( EUID != 0 )) || need_cmd setpriv util-linux
    need_cmd openssl

    if pidfile_running "$PID_FILE" "$PM_PATTERN"; then
        if pg_ready; then
            log "already running (pid $(pidfile_read "$PID_FILE")) on port $PORT"
            env_set STORES_POSTGRES_URL "$URL" STORES_POSTGRES_CA "$CA_FILE"
            return 0
        fi
        log "pid file names a live postgres that does not answer; restarting it"
        stop_pidfile "$PID_FILE" "$PM_PATTERN" INT 20 postgres
    fi
    rm -f "$PID_FILE"
    require_port_free "$PORT" STORES_PG_PORT

    base="$(choose_cluster_base)"
    data="$base/data"
    run="$base/run"
    rm -rf "$data" "$run"
    as_pg mkdir -p "$data" "$run"
    chmod 700 "$data"
    : >"$LOG_FILE"
    make_certificates "$base/tls"

    log "initdb ($PG_BIN) in $data"
    if ! as_pg "$PG_BIN/initdb" -D "$data" -U postgres --auth=trust --no-locale -E UTF8 --no-sync \
            >>"$LOG_FILE" 2>&1 </dev/null; then
        log "initdb failed"
        tail_log "$LOG_FILE"
        exit 1
    fi
    as_pg tee "$data/pg_hba.conf" >/dev/null <<'EOF'
# TYPE  DATABASE  USER                ADDRESS        METHOD
local   all       all                                trust
host    all       +password_checked   127.0.0.1/32   md5
host    all       all                 127.0.0.1/32   trust
EOF
    as_pg tee -a "$data/postgresql.conf" >/dev/null <<EOF

# --- stores integration tests (throwaway cluster) ---
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$run'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
# logical decoding, for the change-feed tests (store-rds feature replication)
wal_level = logical
max_replication_slots = 32
# TLS with a certificate from a throwaway CA (clients choose with sslmode; prefer is the default)
ssl = on
ssl_cert_file = '$base/tls/server.pem'
ssl_key_file = '$base/tls/server.key'
EOF

    log "starting on 127.0.0.1:$PORT"
    spawn "$LOG_FILE" "${AS_PG[@]}" "$PG_BIN/postgres" -D "$data"
    pid="$SPAWNED_PID"
    echo "$pid" >"$PID_FILE"

    if ! wait_until "$TIMEOUT" "$pid" "$LOG_FILE" "postgres to accept connections" \
            "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" -d postgres -U postgres; then
        stop_pidfile "$PID_FILE" "$PM_PATTERN" INT 20 postgres
        exit 1
    fi
    if ! "$PG_BIN/psql" -qX -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres -d postgres \
            -c "CREATE DATABASE $DB_NAME" -c "CREATE ROLE password_checked NOLOGIN" \
            >>"$LOG_FILE" 2>&1; then
        log "CREATE DATABASE $DB_NAME failed"
        tail_log "$LOG_FILE"
        stop_pidfile "$PID_FILE" "$PM_PATTERN" INT 20 postgres
        exit 1
    fi
    if ! wait_until "$TIMEOUT" "$pid" "$LOG_FILE" "select 1 on $DB_NAME" pg_ready; then
        stop_pidfile "$PID_FILE" "$PM_PATTERN" INT 20 postgres
        exit 1
    fi

    env_set STORES_POSTGRES_URL "$URL" STORES_POSTGRES_CA "$CA_FILE"
    log "up in $(elapsed_since "$start")s: $URL (pid $pid, log $LOG_FILE)"
}

# restart [immediate|fast] — stops the running server and starts it again on the same data
# directory, keeping every committed row: `immediate` (the default) as a crash would (every
# backend killed at once, no checkpoint, crash recovery at start), `fast` as a clean shutdown.
# For the tests that restart the server under load (tests/restart.rs).
cmd_restart() {
    local start mode pid base data
    start="$(now_ms)"
    mode="${1:-immediate}"
    [[ "$mode" == immediate || "$mode" == fast ]] || die "restart mode must be immediate or fast, not '$mode'"
    PG_BIN="$(find_pg_bin)"
    [[ -n "$PG_BIN" ]] || die "no PostgreSQL installed: run up first"
    pidfile_running "$PID_FILE" "$PM_PATTERN" || die "not running: run up first"
    base="$(choose_cluster_base)"
    data="$base/data"
    [[ -d "$data" ]] || die "no data directory at $data"
    pid="$(pidfile_read "$PID_FILE")"
    if [[ "$mode" == immediate ]]; then
        kill -QUIT "$pid"   # the postmaster kills every backend at once: a crash, to PostgreSQL
    else
        kill -INT "$pid"
    fi
    wait_pid_exit "$pid" 20 || kill_and_wait "$pid" KILL 5 postgres
    rm -f "$PID_FILE"
    spawn "$LOG_FILE" "${AS_PG[@]}" "$PG_BIN/postgres" -D "$data"
    pid="$SPAWNED_PID"
    echo "$pid" >"$PID_FILE"
    if ! wait_until "$TIMEOUT" "$pid" "$LOG_FILE" "postgres to accept connections again" pg_ready; then
        exit 1
    fi
    log "restarted ($mode) in $(elapsed_since "$start")s (pid $pid)"
}

cmd_down() {
    local start
    start="$(now_ms)"
    # SIGINT = PostgreSQL "fast" shutdown (SIGTERM would wait for clients).
    stop_pidfile "$PID_FILE" "$PM_PATTERN" INT 20 postgres
    env_unset STORES_POSTGRES_URL STORES_POSTGRES_CA
    log "down in $(elapsed_since "$start")s"
}

usage_updown "${1:-}"
lock_service postgres
"cmd_$1" "${@:2}"
