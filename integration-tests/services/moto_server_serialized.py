"""moto_server with DynamoDB's model calls serialized: the harness's moto launcher.

moto 5.2.5 keeps a table's items in a `defaultdict(dict)` keyed by Python objects whose
`__hash__` runs bytecode, so two threads that write the first items of one new partition at
the same moment can each create that partition's dict, and the later assignment drops the
other's items: batch_write_item answers success with no UnprocessedItems, and the writes are
gone (reproduced with plain boto3: 16 threads, each partition split over two concurrent
batches, 1 to 6 items of 10,000 lost per run). Real DynamoDB has no such race, so the harness
runs moto with every public method of its DynamoDB backend under one re-entrant lock. Request
parsing and S3 stay concurrent; only the in-memory model calls take turns.

Usage: python moto_server_serialized.py -H 127.0.0.1 -p 55000   (the same flags as moto_server)
"""

import functools
import inspect
import threading

from moto.dynamodb.models import DynamoDBBackend
from moto.server import main

_LOCK = threading.RLock()


def _serialized(method):
    @functools.wraps(method)
    def call(*args, **kwargs):
        with _LOCK:
            return method(*args, **kwargs)

    return call


def serialize_dynamodb_backend():
    """Wraps each public method of moto's DynamoDB backend in the one lock."""
    for name, member in list(vars(DynamoDBBackend).items()):
        # Plain functions only: static methods (the endpoint-service helper) need no lock.
        if name.startswith("_") or not inspect.isfunction(member):
            continue
        setattr(DynamoDBBackend, name, _serialized(member))


if __name__ == "__main__":
    serialize_dynamodb_backend()
    main()
