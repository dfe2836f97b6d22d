#!/usr/bin/env bash
# down.sh [postgres] [moto] [s3s] [opensearch] [elasticsearch] [dynalite] — stop the integration-test services
# (all when no name is given) that up.sh started, by their pid files only.
#
# Idempotent and safe after a failed or partial up. Tries every named service
# even if one of them fails to stop, then exits non-zero if any did.
set -euo pipefail
SERVICE_NAME=down
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ALL=(dynalite elasticsearch opensearch s3s moto postgres)
if (( $# == 0 )); then
    set -- "${ALL[@]}"
fi
for svc in "$@"; do
    case "$svc" in
        postgres | moto | s3s | opensearch | elasticsearch | dynalite) ;;
        *) die "unknown service '$svc' (known: ${ALL[*]})" ;;
    esac
done

start="$(now_ms)"
failed=()
for svc in "$@"; do
    "$SERVICES_DIR/$svc.sh" down || failed+=("$svc")
done
if (( ${#failed[@]} > 0 )); then
    die "could not stop: ${failed[*]}"
fi
log "all down in $(elapsed_since "$start")s ($*)"
