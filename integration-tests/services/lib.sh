# shellcheck shell=bash
# lib.sh — shared helpers for the local integration-test services
# (postgres.sh, moto.sh, opensearch.sh, elasticsearch.sh, jvm_node.sh, up.sh, down.sh). Source it; don't run it.
#
# Provides: paths (REPO_ROOT, STATE_DIR, ENV_FILE), logging (log, die),
# pid-file handling (pid_alive, pidfile_read, stop_pidfile), port/HTTP
# readiness waits that also notice a dead process, a log tail on failure,
# per-service locking, the services.env editor (env_set/env_unset) and an
# apt-get installer that runs `apt-get update` at most once per process.
#
# All state lives in <repo>/.services/ (gitignored). Nothing here ever kills
# a process by name: only pids recorded in our own pid files, and only after
# checking that the pid still runs the command we started.

SERVICES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SERVICES_DIR/../.." && pwd)"
STATE_DIR="$REPO_ROOT/.services"
ENV_FILE="$STATE_DIR/services.env"
# What may outlive a clone and be shared between clones: the moto virtualenv and the
# launchers' Maven build output, each keyed by exactly what it was made from.
CACHE_DIR="${STORES_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/stores}"
LOG_TAIL_LINES="${STORES_LOG_TAIL_LINES:-40}"

mkdir -p "$STATE_DIR" "$CACHE_DIR"

# ---------------------------------------------------------------- logging ---

# Name printed in front of every message; each service script sets it.
SERVICE_NAME="${SERVICE_NAME:-services}"

log() {
    printf '[%s %s] %s\n' "$(date +%H:%M:%S)" "$SERVICE_NAME" "$*" >&2
}

die() {
    log "ERROR: $*"
    exit 1
}

# tail_log FILE — print the last LOG_TAIL_LINES lines of FILE to stderr.
tail_log() {
    local file="$1"
    if [[ -s "$file" ]]; then
        printf -- '----- last %s lines of %s -----\n' "$LOG_TAIL_LINES" "$file" >&2
        tail -n "$LOG_TAIL_LINES" "$file" >&2
        printf -- '----- end of %s -----\n' "$file" >&2
    else
        log "(log $file is empty or missing)"
    fi
}

# ----------------------------------------------------------------- timing ---

now_ms() { date +%s%3N; }

# elapsed_since START_MS — seconds with one decimal, e.g. "3.4"
elapsed_since() {
    local ms=$(( $(now_ms) - $1 ))
    printf '%d.%d' $(( ms / 1000 )) $(( (ms % 1000) / 100 ))
}

# ---------------------------------------------------------------- locking ---

# lock_service NAME — serialise concurrent up/down of one service (held until exit).
lock_service() {
    exec 9>"$STATE_DIR/.lock-$1"
    flock 9
}

# ------------------------------------------------------------------- pids ---

# pid_alive PID — true if PID exists and is not a zombie (PID 1 here may be
# slow to reap orphans, and a zombie has already released its ports).
pid_alive() {
    local stat=""
    [[ "${1:-}" =~ ^[0-9]+$ ]] && kill -0 "$1" 2>/dev/null || return 1
    read -r stat <"/proc/$1/stat" 2>/dev/null || return 1
    stat="${stat##*) }"
    [[ "${stat%% *}" != Z ]]
}

# pid_matches PID PATTERN — true if PID is alive and its command line contains PATTERN
# (guards against acting on a recycled pid).
pid_matches() {
    local pid="$1" pattern="$2" cmdline
    pid_alive "$pid" || return 1
    cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
    [[ "$cmdline" == *"$pattern"* ]]
}

# pidfile_read FILE — print the pid stored in FILE (nothing if missing/garbage).
pidfile_read() {
    local pid=""
    if [[ -f "$1" ]]; then
        read -r pid <"$1" || true
    fi
    [[ "$pid" =~ ^[0-9]+$ ]] && printf '%s' "$pid"
    return 0
}

# pidfile_running FILE PATTERN — true if FILE names a live process matching PATTERN.
pidfile_running() {
    local pid
    pid="$(pidfile_read "$1")"
    pid_matches "$pid" "$2"
}

# wait_pid_exit PID TIMEOUT_S — wait until PID is gone; false on timeout.
wait_pid_exit() {
    local pid="$1" deadline=$(( $(date +%s) + $2 ))
    while pid_alive "$pid"; do
        (( $(date +%s) >= deadline )) && return 1
        sleep 0.2
    done
    return 0
}

# stop_pidfile FILE PATTERN SIGNAL TIMEOUT_S LABEL
# Stop the process named in FILE (if it is still ours), escalating to SIGKILL
# after TIMEOUT_S, then remove FILE. A stale or foreign pid is only forgotten.
stop_pidfile() {
    local file="$1" pattern="$2" signal="$3" timeout="$4" label="$5" pid
    pid="$(pidfile_read "$file")"
    if [[ -z "$pid" ]]; then
        rm -f "$file"
        return 0
    fi
    if ! pid_matches "$pid" "$pattern"; then
        log "$label: pid $pid is not running (or is no longer ours); forgetting it"
        rm -f "$file"
        return 0
    fi
    kill_and_wait "$pid" "$signal" "$timeout" "$label"
    rm -f "$file"
}

# kill_and_wait PID SIGNAL TIMEOUT_S LABEL — send SIGNAL, wait, SIGKILL after
# TIMEOUT_S. Only call it for a pid already verified to be ours (a pid cannot
# be recycled while that process still exists).
kill_and_wait() {
    local pid="$1" signal="$2" timeout="$3" label="$4"
    pid_alive "$pid" || return 0
    log "$label: stopping pid $pid (SIG$signal)"
    kill -s "$signal" "$pid" 2>/dev/null || true
    if ! wait_pid_exit "$pid" "$timeout"; then
        log "$label: pid $pid still alive after ${timeout}s; sending SIGKILL"
        kill -s KILL "$pid" 2>/dev/null || true
        wait_pid_exit "$pid" 10 || die "$label: pid $pid survived SIGKILL"
    fi
}

# spawn LOGFILE CMD... — start an external CMD in the background with stdin
# from /dev/null, stdout+stderr appended to LOGFILE and the lock fd closed.
# CMD must be a program, not a shell function, so that the pid is CMD's own.
# Sets SPAWNED_PID.
# shellcheck disable=SC2034  # read by the scripts that source this file
SPAWNED_PID=""
spawn() {
    local logfile="$1"
    shift
    "$@" >>"$logfile" 2>&1 </dev/null 9>&- &
    # shellcheck disable=SC2034
    SPAWNED_PID=$!
}

# ------------------------------------------------------------------ ports ---

# port_in_use PORT — true if something accepts TCP connections on 127.0.0.1:PORT.
port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# require_port_free PORT VAR_NAME — fail clearly if a foreign process holds PORT.
require_port_free() {
    local port="$1" var="$2"
    [[ "$port" =~ ^[0-9]+$ ]] || die "$var must be a port number, got '$port'"
    if port_in_use "$port"; then
        log "port $port is already in use by a process that these scripts did not start:"
        if command -v ss >/dev/null 2>&1; then
            ss -ltnpH "sport = :$port" >&2 || true
        fi
        die "port $port busy; stop that process or choose another port with $var=<port>"
    fi
}

# wait_until TIMEOUT_S PID LOGFILE DESCRIPTION COMMAND...
# Poll COMMAND until it succeeds. Fails (log tail, non-zero) if PID dies or
# the timeout passes. PID may be empty to skip the liveness check.
wait_until() {
    local timeout="$1" pid="$2" logfile="$3" what="$4"
    shift 4
    local deadline=$(( $(date +%s) + timeout ))
    until "$@" >/dev/null 2>&1; do
        if [[ -n "$pid" ]] && ! pid_alive "$pid"; then
            log "process $pid exited while waiting for $what"
            tail_log "$logfile"
            return 1
        fi
        if (( $(date +%s) >= deadline )); then
            log "timed out after ${timeout}s waiting for $what"
            tail_log "$logfile"
            return 1
        fi
        sleep 0.3
    done
}

# http_ok URL — true if URL answers with a 2xx status.
http_ok() {
    curl -fsS -o /dev/null --max-time 10 "$1"
}

# ---------------------------------------------------------------- env file ---

# env_set KEY VALUE... — set (replace) `export KEY=VALUE` lines in services.env.
# Arguments come in pairs. Other services' lines are kept untouched.
env_set() {
    local tmp pattern="" i
    local -a pairs=("$@")
    (( ${#pairs[@]} % 2 == 0 )) || die "env_set needs KEY VALUE pairs"
    for (( i = 0; i < ${#pairs[@]}; i += 2 )); do
        [[ "${pairs[i+1]}" =~ ^[A-Za-z0-9_./:@%+=,-]*$ ]] \
            || die "refusing to write unsafe value for ${pairs[i]}: ${pairs[i+1]}"
        pattern+="${pattern:+|}${pairs[i]}"
    done
    tmp="$(mktemp "$STATE_DIR/.services.env.XXXXXX")"
    {
        if [[ -f "$ENV_FILE" ]]; then
            grep -Ev "^export ($pattern)=" "$ENV_FILE" || true
        else
            echo "# Written by integration-tests/services/*.sh — source it: . .services/services.env"
        fi
        for (( i = 0; i < ${#pairs[@]}; i += 2 )); do
            printf 'export %s=%s\n' "${pairs[i]}" "${pairs[i+1]}"
        done
    } >"$tmp"
    mv -f "$tmp" "$ENV_FILE"
}

# env_unset KEY... — remove those keys' lines from services.env.
env_unset() {
    [[ -f "$ENV_FILE" ]] || return 0
    local tmp pattern
    pattern="$(IFS='|'; echo "$*")"
    tmp="$(mktemp "$STATE_DIR/.services.env.XXXXXX")"
    grep -Ev "^export ($pattern)=" "$ENV_FILE" >"$tmp" || true
    mv -f "$tmp" "$ENV_FILE"
}

# ------------------------------------------------------------ installing ---

_APT_UPDATED=0

# apt_install PACKAGE... — install Debian packages (apt-get update once first).
apt_install() {
    local -a sudo=()
    if (( EUID != 0 )); then
        command -v sudo >/dev/null 2>&1 || die "need root (or sudo) to apt-get install $*"
        sudo=(sudo)
    fi
    command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install $* by hand"
    if (( _APT_UPDATED == 0 )); then
        log "apt-get update"
        "${sudo[@]}" apt-get update -qq >&2 || die "apt-get update failed"
        _APT_UPDATED=1
    fi
    log "apt-get install -y $*"
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "$@" >&2 \
        || die "apt-get install $* failed"
}

# install_once LOCK DONE INSTALL — run the function INSTALL unless the function DONE says the
# work is there. Clones sharing one cache directory take turns on the lock file LOCK, and one
# that waited finds the work done and skips it. A `die` in INSTALL exits, which frees the lock.
install_once() {
    local lock="$1" done_fn="$2" install_fn="$3" start
    "$done_fn" && return 0
    mkdir -p "$(dirname "$lock")"
    exec 8>"$lock"
    flock 8
    if ! "$done_fn"; then
        start="$(now_ms)"
        "$install_fn"
        log "installed in $(elapsed_since "$start")s"
    fi
    flock -u 8
}

# need_cmd CMD [PACKAGE] — make sure CMD exists, installing PACKAGE via apt if not.
need_cmd() {
    command -v "$1" >/dev/null 2>&1 && return 0
    apt_install "${2:-$1}"
    command -v "$1" >/dev/null 2>&1 || die "$1 still missing after installing ${2:-$1}"
}

# usage_updown — common argument check for the per-service scripts.
usage_updown() {
    case "${1:-}" in
        up | down) ;;
        restart)
            if ! declare -F cmd_restart >/dev/null && ! declare -F jvm_node_restart >/dev/null; then
                echo "$0 cannot restart its service (up and down only)" >&2
                exit 2
            fi
            ;;
        *)
            echo "usage: $0 up|down|restart" >&2
            exit 2
            ;;
    esac
}
