"""Baseline for `cargo run --release -p store-s3 --example s3_bench`: boto3's upload_file and
download_file with the default TransferConfig, against the same server and bucket.

Usage: boto3_baseline.py ENDPOINT BUCKET SOURCE_FILE DOWNLOAD_FILE
Credentials and region come from the environment (AWS_ACCESS_KEY_ID, ...).
Leaves the downloaded file for the benchmark to compare. Prints one JSON line: {"upload_s": ..., "download_s": ..., "bytes": ...}.
"""

import json
import os
import sys
import time

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config


def main() -> None:
    endpoint, bucket, source, target = sys.argv[1:5]
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=os.environ.get("AWS_REGION", "us-east-1"),
        config=Config(s3={"addressing_style": "path"}),
    )
    config = TransferConfig()  # the defaults: 8 MiB threshold and parts, 10 threads
    key = "bench/boto3-" + os.path.basename(source)
    started = time.perf_counter()
    client.upload_file(source, bucket, key, Config=config)
    upload_s = time.perf_counter() - started
    started = time.perf_counter()
    client.download_file(bucket, key, target, Config=config)
    # Like store-s3's download_file, which syncs the file before it returns.
    with open(target, "rb") as downloaded:
        os.fsync(downloaded.fileno())
    download_s = time.perf_counter() - started
    size = os.path.getsize(target)
    client.delete_object(Bucket=bucket, Key=key)
    print(json.dumps({"upload_s": upload_s, "download_s": download_s, "bytes": size}))


if __name__ == "__main__":
    main()
