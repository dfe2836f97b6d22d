#!/usr/bin/env bash
# Every benchmark program of the workspace, one after the other, against the services
# `just services-up` started (postgres moto s3s opensearch; this script starts dynalite, a
# benchmarks-only DynamoDB server, itself):
#   scripts/bench.sh            reduced sizes, a few minutes (`just bench`)
#   scripts/bench.sh --full     the issues' sizes; writes docs/BENCHMARKS.md (`just bench-full`)
#   scripts/bench.sh [--full] NAME…   only those programs (rds dynamo dynamo-dynalite search
#                                     s3-moto s3-s3s fs sqlite redb tantivy layers sync follow)
# Each program warms up (the server programs with a full-size run of every contender), then
# interleaves rounds of the contenders and prints `bench <name>: ours <median> [min–max] vs
# <baseline> <median> [min–max] = <ratio>x`, most of them followed by `(per round: <median>x
# [min–max])`, the rounds' own ratios. The whole output also goes to
# target/bench/<time>.log.
set -euo pipefail
cd "$(dirname "$0")/.."

full=0
only=()
for arg in "$@"; do
    case "$arg" in
        --full) full=1 ;;
        -*) echo "bench.sh: unknown option $arg" >&2; exit 2 ;;
        *) only+=("$arg") ;;
    esac
done
known=" rds dynamo dynamo-dynalite search s3-moto s3-s3s fs sqlite redb tantivy layers sync follow "
local_only=" fs sqlite redb tantivy layers "
needs_services=0
for name in "${only[@]}"; do
    if [[ ! $known =~ " $name " ]]; then
        echo "bench.sh: no benchmark named $name; the names:$known" >&2
        exit 2
    fi
    if [[ ! $local_only =~ " $name " ]]; then needs_services=1; fi
done
if [[ ${#only[@]} -eq 0 ]]; then needs_services=1; fi
if [[ $needs_services = 1 && ! -f .services/services.env ]]; then
    echo "bench.sh: no .services/services.env: start the services first:" \
        "just services-up postgres moto s3s opensearch" >&2
    exit 1
fi
# dynalite is a benchmarks-only server: started here (or found running: up.sh is idempotent)
# when a DynamoDB program will run; `just services-down` stops it with the rest. If it cannot
# start, its parts fail (dynamo-dynalite) or are skipped with a note (sync), the rest runs.
if [[ $needs_services = 1 ]] && [[ ${#only[@]} -eq 0 || " ${only[*]} " =~ " dynamo-dynalite " \
        || " ${only[*]} " =~ " sync " ]]; then
    if ! ./integration-tests/services/up.sh dynalite; then
        echo "== dynalite did not start: the DynamoDB parts on it will fail or be skipped"
        sed -i '/^export STORES_DYNALITE_ENDPOINT=/d' .services/services.env
    fi
fi
if [[ -f .services/services.env ]]; then
    set -a
    # shellcheck disable=SC1091
    . .services/services.env
    set +a
fi

# Every program is built first, so no build competes with a measurement and the measuring
# time below is the programs' own. Each build names one package as its run will (a build of
# several packages at once unifies their features, and the single-package `cargo run` of a
# bench/run.sh script would then rebuild).
built=$(date +%s)
cargo build --release --quiet -p stores-cli \
    --example sync_bench --example follow_bench --bin stores
cargo build --release --quiet -p store-fs -p store-rusqlite -p store-redb -p store-tantivy \
    -p store-layers --examples
for program in store-rds:rds_bench store-dynamo:dynamo_bench store-search:search_bench \
    store-s3:s3_bench; do
    cargo build --release --quiet -p "${program%%:*}" --example "${program##*:}"
done
CARGO_TARGET_DIR=target/bench-transfer-manager cargo build --quiet --release \
    --manifest-path crates/store-s3/bench/transfer-manager/Cargo.toml
echo "== built in $(( $(date +%s) - built )) s"

mkdir -p target/bench
suffix=""
if [[ $full = 1 ]]; then suffix="-full"; fi
log="target/bench/$(date -u +%Y%m%dT%H%M%SZ)$suffix.log"
# The programs built above, wherever cargo put them.
examples="${CARGO_TARGET_DIR:-target}/release/examples"

# name | reduced arguments | full arguments (each run as `env ARGS… program`)
programs=(
    "rds|./crates/store-rds/bench/run.sh --rows 50000 --insert-rows 5000 --selects 10000|./crates/store-rds/bench/run.sh --rows 1000000 --insert-rows 100000 --selects 100000"
    "dynamo|env BENCH_ITEMS=1000 BENCH_GETS=300 ./crates/store-dynamo/bench/run.sh|env BENCH_ITEMS=10000 BENCH_GETS=2000 ./crates/store-dynamo/bench/run.sh"
    "dynamo-dynalite|env BENCH_ITEMS=1000 BENCH_GETS=300 ./crates/store-dynamo/bench/run.sh --server dynalite|env BENCH_ITEMS=10000 BENCH_GETS=2000 ./crates/store-dynamo/bench/run.sh --server dynalite"
    "search|./crates/store-search/bench/run.sh 10000 3|./crates/store-search/bench/run.sh 100000 3"
    "s3-moto|./crates/store-s3/bench/run.sh --server moto --size-mib 32 --small-ops 100|./crates/store-s3/bench/run.sh --server moto --size-mib 256 --small-ops 1000"
    "s3-s3s|./crates/store-s3/bench/run.sh --server s3s --size-mib 64 --small-ops 100|./crates/store-s3/bench/run.sh --server s3s --size-mib 1024 --small-ops 200"
    "fs|$examples/fs_bench --size-mib 128 --small 1000|$examples/fs_bench --size-mib 1024 --small 10000"
    "sqlite|$examples/sqlite_bench --rows 100000 --runs 3|$examples/sqlite_bench --rows 1000000 --runs 3"
    "redb|$examples/redb_bench --items 20000 --runs 3|$examples/redb_bench --items 100000 --runs 3"
    "tantivy|$examples/tantivy_bench --docs 20000 --rounds 3|$examples/tantivy_bench --docs 100000 --rounds 5"
    "layers|$examples/layers_bench --ops 2000 --rounds 401|$examples/layers_bench --ops 2000 --rounds 2001"
    "sync|$examples/sync_bench --rounds 3|$examples/sync_bench --full --rounds 3"
    "follow|$examples/follow_bench --rounds 3 --seconds 5 --stage-seconds 4|$examples/follow_bench --full --rounds 3"
)

failed=()
started=$(date +%s)
for entry in "${programs[@]}"; do
    IFS='|' read -r name reduced whole <<<"$entry"
    if [[ ${#only[@]} -gt 0 && ! " ${only[*]} " =~ " $name " ]]; then
        continue
    fi
    command=$reduced
    if [[ $full = 1 ]]; then command=$whole; fi
    echo "== $name: $command" | tee -a "$log"
    t0=$(date +%s)
    # shellcheck disable=SC2086
    if ! $command 2>&1 | tee -a "$log"; then
        failed+=("$name")
        echo "== $name FAILED" | tee -a "$log"
    fi
    echo "== $name took $(( $(date +%s) - t0 )) s" | tee -a "$log"
done
echo "== all programs took $(( $(date +%s) - started )) s (builds before them not counted); log: $log" | tee -a "$log"

if [[ $full = 1 && ${#only[@]} -eq 0 && ${#failed[@]} -eq 0 ]]; then
    python3 scripts/bench-report.py "$log" > "$log.md"
    mv "$log.md" docs/BENCHMARKS.md
    echo "docs/BENCHMARKS.md written from $log"
fi
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "failed: ${failed[*]}" >&2
    exit 1
fi
