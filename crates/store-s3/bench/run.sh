#!/usr/bin/env bash
# Runs the store-s3 benchmark against a local S3 server of the harness, from a clean clone:
#   crates/store-s3/bench/run.sh [--server moto|s3s] [--size-mib N] [--small-ops N] [--rounds N]
# Builds the transfer-manager baseline (bench/transfer-manager, a package outside the workspace,
# into target/bench-transfer-manager) on first use; the example creates .services/venv-bench
# with boto3 on first use for the boto3 baseline.
set -euo pipefail
root="$(cd "$(dirname "$0")/../../.." && pwd)"
cd "$root"
if [[ -f .services/services.env ]]; then
    set -a; . .services/services.env; set +a
fi
tm_target="${CARGO_TARGET_DIR:-$root/target}/bench-transfer-manager"
CARGO_TARGET_DIR="$tm_target" cargo build --quiet --release \
    --manifest-path crates/store-s3/bench/transfer-manager/Cargo.toml
export BENCH_TRANSFER_MANAGER="$tm_target/release/s3-transfer-manager-baseline"
exec cargo run --quiet --release -p store-s3 --example s3_bench -- "$@"
