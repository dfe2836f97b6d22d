#!/usr/bin/env bash
# The README's test command: runs every test of the workspace against real servers.
#
# Starts PostgreSQL, moto (S3 + DynamoDB), s3s-fs (an S3 that checks signatures), OpenSearch and
# Elasticsearch through the repo's own scripts
# (installing them from Debian, PyPI, crates.io and Maven Central on a fresh machine), runs the whole
# workspace test suite, and always stops what it started, also when tests fail.
set -euo pipefail
cd "$(dirname "$0")/.."

# Build output goes to the user's cache, shared by every clone as moto's virtualenv and the
# launchers are: a fresh clone compiles only the workspace's own crates, not its ~400
# dependencies (cargo's fingerprints decide what is stale). A target directory of the caller's
# own (CARGO_TARGET_DIR) wins; the shared one is emptied when it outgrows
# STORES_TARGET_CACHE_GIB (default 40), since every clone's path adds its own workspace builds.
cache_dir="${STORES_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/stores}"
if [ -z "${CARGO_TARGET_DIR:-}" ]; then
    CARGO_TARGET_DIR="$cache_dir/target"
    export CARGO_TARGET_DIR
    mkdir -p "$CARGO_TARGET_DIR"
    # Every run holds a shared lock on the cache while it lasts; only a run that finds no
    # other may empty it (a file vanishing under `du` while another clone builds is no error).
    exec 7>"$cache_dir/target.lock"
    if flock -xn 7; then
        used_kib=$(du -sk "$CARGO_TARGET_DIR" 2>/dev/null | cut -f1 || true)
        used_gib=$(( ${used_kib:-0} / 1048576 ))
        if [ "$used_gib" -ge "${STORES_TARGET_CACHE_GIB:-40}" ]; then
            echo "the shared build cache holds ${used_gib} GiB: emptying $CARGO_TARGET_DIR"
            rm -rf "$CARGO_TARGET_DIR" && mkdir -p "$CARGO_TARGET_DIR"
        fi
    fi
    flock -s 7
fi
echo "build output in $CARGO_TARGET_DIR"

# Formatting and each crate's rust-version are checked first: cheap, and they fail fast.
cargo fmt --all -- --check
python3 scripts/msrv.py

started=0
# Every integration test binary captures its tracing events and log records at TRACE and scans
# them for the run's secrets (integration_tests::trace_capture); checked after the tests.
STORES_TRACE_CAPTURE="$(mktemp -d -t stores-trace.XXXXXX)"
export STORES_TRACE_CAPTURE
cleanup() {
    rm -rf "$STORES_TRACE_CAPTURE"
    if [ "$started" = 1 ]; then
        ./integration-tests/services/down.sh || true
    fi
}
trap cleanup EXIT

t0=$(date +%s)
started=1
./integration-tests/services/up.sh
echo "services ready in $(( $(date +%s) - t0 )) s"

# shellcheck disable=SC1091
. ./.services/services.env

# Every feature but the Docker path of integration-tests (scripts/features.py), which this run
# does not use: its 70 crates stay out of the test binaries.
cargo test --workspace --features "$(python3 scripts/features.py)" --no-fail-fast
echo "tests finished in $(( $(date +%s) - t0 )) s"
python3 scripts/check-trace-capture.py "$STORES_TRACE_CAPTURE"

# The crates as crates.io would receive them, and their docs with no broken link.
cargo package --workspace --exclude stores-cli --exclude stores-tour --exclude integration-tests \
    --no-verify --allow-dirty --quiet
# Every feature, the Docker path included, compiles (checked, not built), and the docs of all.
cargo check --workspace --all-features --quiet
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --all-features --quiet
echo "packages and docs checked in $(( $(date +%s) - t0 )) s"
