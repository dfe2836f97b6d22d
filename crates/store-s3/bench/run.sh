#!/usr/bin/env bash
# Runs the store-s3 benchmark against the local S3 server (moto from `just services-up moto`).
# Usage: crates/store-s3/bench/run.sh [--size-mib N] [--small-ops N]
# The example creates .services/venv-bench with boto3 on first use for the baseline.
set -euo pipefail
root="$(cd "$(dirname "$0")/../../.." && pwd)"
cd "$root"
if [[ -f .services/services.env ]]; then
    set -a; . .services/services.env; set +a
fi
exec cargo run --release -p store-s3 --example s3_bench -- "$@"
