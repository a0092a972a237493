"""One local Lambda execution environment: imports a handler once, then runs events one at a time.

Run as `python -m clinic_infra.local.worker module.function`. Events arrive as JSON lines on
stdin; answers go to the file descriptor in CLINIC_WORKER_RESULT_FD, so that whatever the
handler prints (its logs) stays on stdout and stderr, as in CloudWatch.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
import uuid
from typing import Any

from clinic_infra.local.calls import record_worker_calls


class LocalContext:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    def __init__(self, function_name: str, memory_mb: int, timeout_s: int, region: str, account: str) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = memory_mb
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{account}:function:{function_name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _load(handler_path: str) -> Any:
    module_name, _, function_name = handler_path.rpartition(".")
    return getattr(importlib.import_module(module_name), function_name)


def main() -> None:
    handler_path = sys.argv[1]
    results = os.fdopen(int(os.environ["CLINIC_WORKER_RESULT_FD"]), "w", encoding="utf-8")

    def reply(message: dict[str, Any]) -> None:
        results.write(json.dumps(message, default=str) + "\n")
        results.flush()

    record_worker_calls(os.environ.get("AWS_LAMBDA_FUNCTION_NAME", handler_path), os.environ)
    try:
        handler = _load(handler_path)
    except Exception as error:  # an init error, as Lambda reports Runtime.ImportModuleError
        traceback.print_exc()
        reply({"init_error": type(error).__name__})
        return
    reply({"ready": True})
    name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", handler_path)
    memory = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
    timeout = int(os.environ.get("CLINIC_FUNCTION_TIMEOUT", "3"))
    region = os.environ.get("AWS_REGION", "us-east-1")
    account = os.environ.get("CLINIC_ACCOUNT_ID", "123456789012")
    for line in sys.stdin:
        event = json.loads(line)
        context = LocalContext(name, memory, timeout, region, account)
        try:
            reply({"result": handler(event, context)})
        except Exception as error:  # Lambda reports the error type; the stack goes to the logs
            traceback.print_exc()
            reply({"error": type(error).__name__})


if __name__ == "__main__":
    main()
