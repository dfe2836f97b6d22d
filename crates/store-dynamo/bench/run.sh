#!/usr/bin/env bash
# Runs the store-dynamo benchmark against the harness's DynamoDB (moto), from a clean clone:
#   crates/store-dynamo/bench/run.sh [--server moto|dynalite]
# --server dynalite measures against dynalite (`integration-tests/services/up.sh dynalite`), a
# DynamoDB server that costs far less CPU a request than moto (the default).
# - reads endpoints and fake credentials from .services/services.env (written by
#   `integration-tests/services/up.sh`), or from the environment;
# - creates the virtualenv .services/venv-bench with boto3 for the Python baseline (once);
# - builds and runs `cargo run --release -p store-dynamo --example dynamo_bench`.
# BENCH_ITEMS (default 10000) and BENCH_GETS (default 2000) change the sizes.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
cd "$ROOT"
if [[ -f .services/services.env ]]; then
    set -a
    # shellcheck disable=SC1091
    . .services/services.env
    set +a
fi
SERVER=moto
while (( $# )); do
    case "$1" in
        --server) SERVER="${2:?--server takes moto or dynalite}"; shift 2 ;;
        *) echo "unknown argument $1 (--server moto|dynalite)" >&2; exit 2 ;;
    esac
done
case "$SERVER" in
    moto)
        if [[ -z "${STORES_DYNAMODB_ENDPOINT:-}" ]]; then
            echo "STORES_DYNAMODB_ENDPOINT is not set: start the services with integration-tests/services/up.sh" >&2
            exit 1
        fi
        export STORES_BENCH_SERVER_PID_FILE="$ROOT/.services/moto/moto.pid" ;;
    dynalite)
        if [[ -z "${STORES_DYNALITE_ENDPOINT:-}" ]]; then
            echo "STORES_DYNALITE_ENDPOINT is not set: start it with integration-tests/services/up.sh dynalite" >&2
            exit 1
        fi
        export STORES_DYNAMODB_ENDPOINT="$STORES_DYNALITE_ENDPOINT"
        export STORES_BENCH_SERVER_PID_FILE="$ROOT/.services/dynalite/dynalite.pid" ;;
    *) echo "--server takes moto or dynalite, not $SERVER" >&2; exit 2 ;;
esac
export STORES_BENCH_SERVER="$SERVER"
VENV="$ROOT/.services/venv-bench"
if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -c 'import boto3' 2>/dev/null; then
    echo "creating $VENV with boto3 ..." >&2
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet boto3
fi
export STORES_BENCH_PYTHON="$VENV/bin/python"
export STORES_BENCH_BOTO3_SCRIPT="$ROOT/crates/store-dynamo/bench/boto3_batch_writer.py"
exec cargo run --quiet --release -p store-dynamo --example dynamo_bench
