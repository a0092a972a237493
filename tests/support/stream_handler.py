"""A stream handler for testing the local event source mapping.

It records every batch it sees in the file named by STREAM_LOG, and reports as failed
each record whose key starts with "fail" (or raises, when the key starts with "crash").
"""

from __future__ import annotations

import json
import os
from typing import Any


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    keys = [record["dynamodb"]["Keys"]["pk"]["S"] for record in event["Records"]]
    with open(os.environ["STREAM_LOG"], "a", encoding="utf-8") as log:
        log.write(json.dumps(keys) + "\n")
    if any(key.startswith("crash") for key in keys):
        raise RuntimeError("batch failed")
    failures = [
        {"itemIdentifier": record["dynamodb"]["SequenceNumber"]}
        for record in event["Records"]
        if record["dynamodb"]["Keys"]["pk"]["S"].startswith("fail")
    ]
    return {"batchItemFailures": failures}
