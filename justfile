# The verbs a contributor types. Each recipe is a thin wrapper over a script or cargo command,
# so everything also works without `just` installed.

# List the recipes.
default:
    @just --list

# Every test of the workspace, with the real services started and stopped around it.
test:
    ./scripts/test.sh

# Only store-core: value model, in-memory backends, conformance and property tests.
test-core:
    cargo test -p store-core --all-features

# The seed scenario on the embedded backends.
tour:
    cargo run -p stores-tour

# Formatting and lints, as CI checks them.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets --all-features -- -D warnings

# API docs of the workspace, failing on any rustdoc warning such as a broken link (as CI does).
doc:
    RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --all-features

# What crates.io would receive: each library crate packaged (README, licenses, metadata), the
# rust-version of each equal to its dependency tree's floor.
package:
    python3 scripts/msrv.py
    cargo package --workspace --exclude stores-cli --exclude stores-tour --exclude integration-tests --no-verify --allow-dirty

# Start PostgreSQL, moto (S3 + DynamoDB), OpenSearch and Elasticsearch locally (or only those named).
services-up *services:
    ./integration-tests/services/up.sh {{services}}

# Stop what services-up started.
services-down *services:
    ./integration-tests/services/down.sh {{services}}

# Every benchmark program at reduced sizes, in a few minutes, against the running services
# (`just services-up postgres moto s3s opensearch` first; it starts dynalite itself);
# `just bench rds s3-s3s` runs only those.
bench *names:
    ./scripts/bench.sh {{names}}

# Every benchmark program at the issues' sizes; a run of all of them writes docs/BENCHMARKS.md.
bench-full *names:
    ./scripts/bench.sh --full {{names}}

# The PostgreSQL benchmark (COPY vs INSERT vs psycopg2 vs psql \copy; pool vs raw client).
bench-rds *args:
    ./crates/store-rds/bench/run.sh {{args}}

# The OpenSearch bulk benchmark (ours vs opensearch-py helpers and raw _bulk loops).
bench-search *args:
    ./crates/store-search/bench/run.sh {{args}}

# The DynamoDB benchmark (batch_write vs a naive loop and boto3's batch_writer; gets vs the raw SDK);
# `just bench-dynamo --server dynalite` against dynalite instead of moto.
bench-dynamo *args:
    ./crates/store-dynamo/bench/run.sh {{args}}

# The S3 benchmark (1 GiB transfer vs boto3, the Rust transfer manager and the server's ceiling;
# small operations vs the raw SDK; peak memory); `--server s3s` for the fast local S3.
bench-s3 *args:
    ./crates/store-s3/bench/run.sh {{args}}

# The store-fs benchmark (put/get of small objects and a large file vs object_store's LocalFileSystem).
bench-fs *args:
    cargo run -p store-fs --release --example fs_bench -- {{args}}

# The store-rusqlite benchmark (bulk insert and streamed reads vs plain rusqlite loops).
bench-sqlite *args:
    cargo run -p store-rusqlite --release --example sqlite_bench -- {{args}}

# The cost of the layers on an in-memory get (the full stack, faults off).
bench-layers *args:
    cargo run -p store-layers --release --example layers_bench -- {{args}}

# The follower's lag and sustained rate, PostgreSQL to OpenSearch (vs a trigger + NOTIFY loop).
bench-follow *args:
    cargo build --release -p stores-cli
    cargo run --release -p stores-cli --example follow_bench -- {{args}}

# The `stores` backup/restore benchmark (vs dynamodump, elasticdump, pg_dump/pg_restore on the
# running services); reduced sizes by default, `just bench-sync --full` for the issue's sizes.
bench-sync *args:
    cargo build --release -p stores-cli
    cargo run --release -p stores-cli --example sync_bench -- {{args}}

# Coverage-guided fuzzing (cargo-fuzz on a nightly toolchain, installed if missing): each
# target of fuzz/ runs for SECONDS (default 60). A crash leaves its input in
# fuzz/artifacts/<target>/; make it a regression test in the crate it belongs to.
fuzz seconds="60":
    ./scripts/fuzz.sh {{seconds}}
