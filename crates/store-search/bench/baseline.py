#!/usr/bin/env python3
"""Baselines for store-search's bulk benchmark: opensearch-py's helpers.bulk and parallel_bulk.

Usage: baseline.py URL MODE COUNT CHUNK [THREADS]
MODE is `bulk` or `parallel_bulk`. Creates a fresh index (1 shard, 0 replicas), loads COUNT
documents generated exactly as the Rust benchmark does, checks the count, deletes the index
and prints one JSON line: {"mode": ..., "seconds": ..., "docs": ...}.
"""

import json
import sys
import time
import uuid

from opensearchpy import OpenSearch, helpers

WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike "
         "november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu").split()


def doc(n):
    body = " ".join(WORDS[(n * 7 + i * 3) % len(WORDS)] for i in range(52))
    return {
        "id": n,
        "title": f"Document number {n}",
        "body": body,
        "tags": [WORDS[n % 26], WORDS[(n // 26) % 26]],
        "price": n * 1.25,
        "in_stock": n % 3 == 0,
        "created": f"2024-{(n % 12) + 1:02d}-{(n % 28) + 1:02d}T12:00:00Z",
    }


def actions(index, count):
    for n in range(count):
        yield {"_op_type": "index", "_index": index, "_id": f"d{n}", "_source": doc(n)}


def main():
    url, mode, count, chunk = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    threads = int(sys.argv[5]) if len(sys.argv) > 5 else 4
    client = OpenSearch(hosts=[url], timeout=120)
    index = f"bench-py-{mode.replace('_', '-')}-{uuid.uuid4().hex[:10]}"
    client.indices.create(index=index, body={"settings": {"number_of_shards": 1, "number_of_replicas": 0}})
    try:
        started = time.perf_counter()
        if mode == "bulk":
            ok, errors = helpers.bulk(client, actions(index, count), chunk_size=chunk, max_chunk_bytes=5 * 1024 * 1024)
            failed = len(errors)
        elif mode == "parallel_bulk":
            failed = 0
            for ok, _ in helpers.parallel_bulk(client, actions(index, count), thread_count=threads,
                                               chunk_size=chunk, max_chunk_bytes=5 * 1024 * 1024):
                failed += 0 if ok else 1
        else:
            raise SystemExit(f"unknown mode {mode}")
        seconds = time.perf_counter() - started
        client.indices.refresh(index=index)
        landed = client.count(index=index)["count"]
        if failed or landed != count:
            raise SystemExit(f"{mode}: {failed} failures, {landed} of {count} documents")
        print(json.dumps({"mode": mode, "seconds": seconds, "docs": count}))
    finally:
        client.indices.delete(index=index)


if __name__ == "__main__":
    main()
