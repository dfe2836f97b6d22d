#!/usr/bin/python3
"""validate-json.py SCHEMA [FILE] -- check JSON documents against a JSON Schema.

Reads FILE (or stdin): one JSON document, or NDJSON (one document per line). Prints the first
violation with its line number and exits 1; exits 0 when every document conforms. Uses the
`jsonschema` package (Debian: python3-jsonschema, which integration-tests/services/up.sh
installs when missing).
"""
import json
import sys

import jsonschema


def main() -> int:
    if len(sys.argv) not in (2, 3):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    with open(sys.argv[1], encoding="utf-8") as f:
        schema = json.load(f)
    validator = jsonschema.Draft202012Validator(schema)
    text = open(sys.argv[2], encoding="utf-8").read() if len(sys.argv) == 3 else sys.stdin.read()
    try:
        documents = [(1, json.loads(text))]
    except json.JSONDecodeError:
        documents = [(n, json.loads(line)) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    if not documents:
        print("no JSON document to check", file=sys.stderr)
        return 1
    for n, document in documents:
        errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
        if errors:
            e = errors[0]
            path = "/".join(str(p) for p in e.path)
            print(f"line {n}: at /{path}: {e.message}", file=sys.stderr)
            return 1
    print(f"{len(documents)} document(s) conform")
    return 0


if __name__ == "__main__":
    sys.exit(main())
