"""Baseline for the store-dynamo benchmark: boto3's Table.batch_writer() writing N items of
about SIZE bytes into an existing table, as the seed's Python code did. Prints the elapsed
seconds as JSON on stdout.

usage: boto3_batch_writer.py ENDPOINT TABLE ITEMS SIZE
"""

import json
import os
import sys
import time

import boto3


def main() -> None:
    endpoint, table_name, items, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    resource = boto3.resource(
        "dynamodb",
        endpoint_url=endpoint,
        region_name=os.environ.get("AWS_REGION", "us-east-1"),
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
    )
    table = resource.Table(table_name)
    payload = "x" * size
    start = time.perf_counter()
    with table.batch_writer() as writer:
        for i in range(items):
            writer.put_item(Item={"pk": f"p{i % 100}", "sk": i, "payload": payload, "i": i})
    elapsed = time.perf_counter() - start
    print(json.dumps({"seconds": elapsed, "items": items}))


if __name__ == "__main__":
    main()
