#!/usr/bin/env python3
"""Checks the suite-wide trace capture (integration_tests::trace_capture): every integration
test binary ran with its tracing events and `log` records captured at TRACE and scanned for the
run's secrets (moto's and s3s-fs's secret keys, the test roles' passwords...). Fails when a line
held a secret (printing it, the secret masked) or when the capture did not run.

Usage: scripts/check-trace-capture.py DIR   (the STORES_TRACE_CAPTURE directory of the run)
"""

import pathlib
import sys

# The capture must have seen at least this many test binaries and lines, or it did not run.
MIN_BINARIES = 8
MIN_LINES = 10_000


def main():
    folder = pathlib.Path(sys.argv[1])
    leaks = sorted(folder.glob("leak-*.txt"))
    for leak in leaks:
        print(f"secret in the logs ({leak.name}):\n{leak.read_text()}", file=sys.stderr)
    binaries, lines, most_secrets = set(), 0, 0
    for counted in folder.glob("lines-*"):
        seen, secrets = (int(n) for n in counted.read_text().split())
        binaries.add(counted.name.split("-")[1])
        lines += seen
        most_secrets = max(most_secrets, secrets)
    print(
        f"trace capture: {lines:,} lines at TRACE from {len(binaries)} test binaries, "
        f"scanned for up to {most_secrets} secrets: {len(leaks)} holding one"
    )
    if leaks:
        sys.exit(1)
    if len(binaries) < MIN_BINARIES or lines < MIN_LINES or most_secrets == 0:
        print(
            f"the capture did not run over the suite (at least {MIN_BINARIES} binaries, "
            f"{MIN_LINES:,} lines and one secret expected)",
            file=sys.stderr,
        )
        sys.exit(1)


if __name__ == "__main__":
    main()
