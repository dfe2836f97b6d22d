#!/usr/bin/env bash
# up.sh [postgres] [moto] [s3s] [opensearch] [elasticsearch] [dynalite] — start the
# integration-test services (all but dynalite, a benchmarks-only DynamoDB server, when no
# name is given), each waiting until it really answers.
#
# Idempotent: services already running are left alone. On the first failure
# the failing service's log tail is printed and this exits non-zero (services
# started before it keep running; `down.sh` stops everything).
# Afterwards:  source .services/services.env   (see README in this directory)
set -euo pipefail
SERVICE_NAME=up
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ALL=(postgres moto s3s opensearch elasticsearch)
if (( $# == 0 )); then
    set -- "${ALL[@]}"
fi
for svc in "$@"; do
    case "$svc" in
        postgres | moto | s3s | opensearch | elasticsearch | dynalite) ;;
        *) die "unknown service '$svc' (known: ${ALL[*]} dynalite)" ;;
    esac
done

start="$(now_ms)"
# Tests read what we write with other clients, as a user would: archives with zstd, jq and
# sha256sum, search documents over plain HTTP with curl, progress lines in a pty with script;
# openssl makes the throwaway CAs of the HTTPS tests.
missing=()
for tool in zstd jq sha256sum curl script openssl; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if (( ${#missing[@]} )); then
    apt_install zstd jq coreutils curl bsdutils openssl
fi
# JSON Schema checks of archive manifests and the CLI's events (scripts/validate-json.py).
if ! /usr/bin/python3 -c 'import jsonschema' >/dev/null 2>&1; then
    apt_install python3-jsonschema
fi
# The harness's ports lie in Linux's ephemeral range (32768-60999), so a client socket of
# another program can briefly hold one: a service that found its port taken is started
# again, up to 3 times, a few seconds apart.
for svc in "$@"; do
    attempt=1
    until "$SERVICES_DIR/$svc.sh" up; do
        if (( attempt >= 3 )) || ! grep -qiE 'address already in use|could not bind' \
                "$STATE_DIR/$svc"/*.log 2>/dev/null; then
            die "$svc failed to start; run integration-tests/services/down.sh to stop what did start"
        fi
        attempt=$((attempt + 1))
        log "$svc found its port taken; starting it again (attempt $attempt of 3)"
        sleep 3
    done
done
log "all up in $(elapsed_since "$start")s ($*); env: $ENV_FILE"
