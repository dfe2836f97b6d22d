#!/usr/bin/env python3
"""Turns the log of a full `scripts/bench.sh --full` run into docs/BENCHMARKS.md (on stdout):
the machine and server versions, then each program's `bench` lines as they were printed.

usage: bench-report.py LOG
"""

import json
import os
import platform
import re
import subprocess
import sys
import urllib.request


# cargo's own progress lines, should a program be run without --quiet.
CARGO = re.compile(r"^\s+(Compiling|Finished|Running|Blocking|Updating|Downloaded?)\b")


def run(*command: str) -> str:
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=30, check=True)
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def meminfo_gib() -> str:
    with open("/proc/meminfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return "unknown"


def cpu_model() -> str:
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def opensearch_version() -> str:
    url = os.environ.get("STORES_OPENSEARCH_URL")
    if not url:
        return "unknown"
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return "OpenSearch " + json.load(response)["version"]["number"]
    except (OSError, ValueError, KeyError):
        return "unknown"


def pinned(script: str, variable: str, name: str) -> str:
    """A version the harness pins in integration-tests/services/SCRIPT."""
    with open(f"integration-tests/services/{script}", encoding="utf-8") as f:
        found = re.search(rf"^{variable}=(\S+)", f.read(), re.MULTILINE)
    return f"{name} {found.group(1)}" if found else f"{name} (version unknown)"


def main() -> None:
    log_path = sys.argv[1]
    with open(log_path, encoding="utf-8", errors="replace") as f:
        lines = f.read().splitlines()
    postgres = run("psql", os.environ.get("STORES_POSTGRES_URL", ""), "-Atc", "show server_version")
    out = [
        "# Benchmarks",
        "",
        "The figures of the last full run, `just bench-full` (`scripts/bench.sh --full`), replaced on each",
        "full run. Each program warms up first, then runs the contenders interleaved for several rounds;",
        "a line gives the median of the rounds and their min–max (each program's own doc comment says",
        "how it warms up and orders its contenders). Unless a line says otherwise, the ratio is ours over",
        "the baseline in the unit shown: for rates (per second) above 1 means ours is faster, for times",
        "below 1 does. The sync and follow lines give the baseline's time over ours (above 1, ours is",
        "faster) and state their targets beside them. Where a line ends in `(per round: <median>x",
        "[<min>–<max>])`, that is the median and range of each round's own ratio (both contenders of a",
        "round ran on the machine as it was then), steadier than the ratio of medians when the machine's",
        "speed drifts between rounds.",
        "",
        "## The machine",
        "",
        f"- {os.cpu_count()} cores ({cpu_model()}), {meminfo_gib()} of memory, Linux {platform.release()}",
        f"- {run('rustc', '--version')}, Python {platform.python_version()}",
        f"- PostgreSQL {postgres}, {opensearch_version()}, "
        f"{pinned('moto.sh', 'MOTO_VERSION', 'moto')} (S3 and DynamoDB), "
        f"{pinned('s3s.sh', 'S3S_VERSION', 's3s-fs')}, "
        f"{pinned('dynalite.sh', 'DYNALITE_VERSION', 'dynalite')} (DynamoDB, for the benchmarks)",
        f"- commit {run('git', 'rev-parse', '--short', 'HEAD')}, log `{log_path}`",
        "",
    ]
    for line in lines:
        started = re.match(r"^== (\S+): (.*)$", line)
        took = re.match(r"^== (\S+) took (\d+) s$", line)
        if started:
            out += [f"## {started.group(1)}", "", f"`{started.group(2)}`", "", "```text"]
        elif took:
            out += ["```", "", f"({took.group(2)} s)", ""]
        elif line.startswith("bench ") or (
            line.startswith("  ") and not CARGO.match(line)
        ):
            out.append(line)
        elif line.startswith("== all took"):
            out.append(line.removeprefix("== ").split(";")[0].capitalize() + ".")
    print("\n".join(out))


if __name__ == "__main__":
    main()
