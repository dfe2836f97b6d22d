#!/usr/bin/env bash
# Runs every fuzz target of fuzz/ for the given number of seconds (default 60) and prints one
# line per target: runs, coverage and whether it crashed. Installs what it needs: a nightly
# toolchain (rustup) and cargo-fuzz (crates.io). Exits 1 if any target crashed; the crashing
# input is left in fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"

rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked

cargo +nightly fuzz build -O
failed=0
for target in $(cargo +nightly fuzz list); do
    log="fuzz/artifacts/$target.log"
    mkdir -p "fuzz/artifacts" "fuzz/corpus/$target"
    if cargo +nightly fuzz run -O "$target" -- -max_total_time="$seconds" >"$log" 2>&1; then
        verdict="ok"
    else
        verdict="CRASHED (see $log and fuzz/artifacts/$target/)"
        failed=1
    fi
    stats="$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)"
    echo "fuzz $target: $verdict; last: ${stats:-no stats}"
done
exit "$failed"
