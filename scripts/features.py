#!/usr/bin/env python3
"""Prints every feature of every workspace crate as `crate/feature`, comma-separated, except
the ones a test run must not build (the Docker path of integration-tests): what
`--all-features` would turn on, minus those."""

import json
import subprocess

EXCLUDED = {("integration-tests", "docker")}

metadata = json.loads(
    subprocess.run(
        ["cargo", "metadata", "--no-deps", "--format-version", "1"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
)
members = set(metadata["workspace_members"])
features = [
    f"{package['name']}/{feature}"
    for package in metadata["packages"]
    if package["id"] in members
    for feature in sorted(package["features"])
    if feature != "default" and (package["name"], feature) not in EXCLUDED
]
print(",".join(features))
