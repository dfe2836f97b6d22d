#!/usr/bin/env python3
"""Checks each workspace crate's `rust-version` against the floor its dependency tree sets.

The floor of a crate is the highest `rust-version` among the packages it depends on (normal
dependencies, optional ones included, transitively; workspace crates count with the value they
declare), and never below LANGUAGE_FLOOR, what our own code needs. A crate must declare exactly
its floor: lower would promise a toolchain that cannot build it, higher would turn users away for
nothing. Reads `cargo metadata` (no build). Exit 1 and a table when any crate is off.

Usage: scripts/msrv.py          # check
       scripts/msrv.py --show   # print every crate's floor and what sets it
"""

import json
import subprocess
import sys

# Edition 2024 needs 1.85; `if let ... && let ...` chains, used throughout, need 1.88.
LANGUAGE_FLOOR = "1.88"

# Crates whose own code needs a newer standard library (clippy's incompatible_msrv lint
# finds these from each crate's rust-version).
CODE_FLOORS = {
    "store-fs": ("1.89", "std::fs::File::try_lock"),
    "store-sync": ("1.89", "std::fs::File::try_lock"),
}


# Optional dependencies that only an opt-in feature turns on, left out of their crate's floor
# (and of the floors of crates that depend on it): a user who enables the feature needs the
# newer toolchain, as the crate's README says; cargo names the package that needs it.
FEATURE_ONLY = {
    "store-rds": ("iam", {"aws-sigv4", "aws-credential-types"}),
}


def key(version):
    parts = [int(part) for part in version.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


def main():
    metadata = json.loads(
        subprocess.run(
            ["cargo", "metadata", "--format-version", "1", "--locked"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    packages = {p["id"]: p for p in metadata["packages"]}
    nodes = {n["id"]: n for n in metadata["resolve"]["nodes"]}
    members = metadata["workspace_members"]
    wrong = []
    for member in members:
        package = packages[member]
        floor, reason = CODE_FLOORS.get(package["name"], (LANGUAGE_FLOOR, "our own code"))
        seen, stack = set(), [member]
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            if current != member:
                declared = packages[current].get("rust_version")
                if declared and key(declared) > key(floor):
                    floor = declared
                    reason = f"{packages[current]['name']} {packages[current]['version']}"
            opt_in = FEATURE_ONLY.get(packages[current]["name"], (None, set()))[1]
            for dep in nodes[current]["deps"]:
                if packages[dep["pkg"]]["name"] in opt_in:
                    continue
                if any(kind["kind"] is None for kind in dep["dep_kinds"]):
                    stack.append(dep["pkg"])
        declared = package.get("rust_version") or "0"
        off = key(declared) != key(floor)
        if "--show" in sys.argv or off:
            print(f"{package['name']:<20} declares {declared:<8} floor {floor:<8} set by {reason}")
        if off:
            wrong.append(package["name"])
    if wrong:
        print(f"rust-version differs from the floor for: {', '.join(wrong)}", file=sys.stderr)
        sys.exit(1)
    print(f"msrv: all {len(members)} crates declare their floor")


if __name__ == "__main__":
    main()
