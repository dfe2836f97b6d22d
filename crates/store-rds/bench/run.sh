#!/usr/bin/env bash
# Runs the store-rds benchmark against the harness's PostgreSQL, from a clean clone:
#   crates/store-rds/bench/run.sh [--rows N] [--insert-rows N] [--selects N] [--tasks N]
# Creates .services/venv-bench with psycopg2 for the Python baseline on first use.
set -euo pipefail
root="$(cd "$(dirname "$0")/../../.." && pwd)"
venv="$root/.services/venv-bench"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import psycopg2' 2>/dev/null; then
    mkdir -p "$root/.services"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet psycopg2-binary
fi
if [ -z "${STORES_POSTGRES_URL:-}" ] && [ -f "$root/.services/services.env" ]; then
    # shellcheck disable=SC1091
    . "$root/.services/services.env"
fi
if [ -z "${STORES_POSTGRES_URL:-}" ]; then
    echo "STORES_POSTGRES_URL is not set: start PostgreSQL with 'just services-up postgres'" >&2
    exit 2
fi
export STORES_POSTGRES_URL
cd "$root"
BENCH_PYTHON="$venv/bin/python" cargo run --quiet --release -p store-rds --example rds_bench -- "$@"
