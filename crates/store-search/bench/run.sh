#!/usr/bin/env bash
# The store-search bulk benchmark, from a clean clone, in one command:
#   crates/store-search/bench/run.sh [COUNT [ROUNDS]]
# Needs a running OpenSearch (STORES_OPENSEARCH_URL, else .services/services.env, else
# http://localhost:9200). Creates .services/venv-bench with opensearch-py for the baselines.
set -euo pipefail
root="$(cd "$(dirname "$0")/../../.." && pwd)"
cd "$root"
if [[ -z "${STORES_OPENSEARCH_URL:-}" && -f .services/services.env ]]; then
  set -a; . .services/services.env; set +a
fi
export STORES_OPENSEARCH_URL="${STORES_OPENSEARCH_URL:-http://localhost:9200}"
venv="$root/.services/venv-bench"
if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c "import opensearchpy" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet opensearch-py
fi
export STORES_BENCH_PYTHON="${STORES_BENCH_PYTHON:-$venv/bin/python}"
exec cargo run --quiet --release -p store-search --example search_bench -- "${1:-100000}" "${2:-3}"
