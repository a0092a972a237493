"""A Lambda handler for testing the local gateway: it answers with the event it received.

Headers steer it: `x-echo-raise` makes it raise, `x-echo-binary` answers base64 bytes,
`x-echo-bare` answers a bare dict (no statusCode), `x-echo-cookie` sets a cookie, and
`x-echo-hold: DIR` writes DIR/<pid> then waits for DIR/release (so a test can keep a container
busy). Every answer names the worker process it ran in (`x-worker-pid`).
"""

from __future__ import annotations

import base64
import json
import os
import time
from pathlib import Path
from typing import Any


def lambda_handler(event: dict[str, Any], context: Any) -> Any:
    headers = event.get("headers", {})
    if "x-echo-hold" in headers:
        hold = Path(headers["x-echo-hold"])
        (hold / str(os.getpid())).touch()
        while not (hold / "release").exists() and context.get_remaining_time_in_millis() > 1000:
            time.sleep(0.01)
    if "x-echo-raise" in headers:
        raise RuntimeError("the handler failed")
    if "x-echo-bare" in headers:
        return {"bare": True}
    if "x-echo-binary" in headers:
        return {
            "statusCode": 200,
            "headers": {"content-type": "image/png"},
            "body": base64.b64encode(b"\x89PNG\r\n").decode(),
            "isBase64Encoded": True,
        }
    answer: dict[str, Any] = {
        "statusCode": int(headers.get("x-echo-status", 200)),
        "headers": {
            "content-type": "application/json",
            "x-function": context.function_name,
            "x-worker-pid": str(os.getpid()),
        },
        "body": json.dumps(event),
    }
    if "x-echo-cookie" in headers:
        answer["cookies"] = ["session=abc; HttpOnly", "theme=dark"]
    return answer
