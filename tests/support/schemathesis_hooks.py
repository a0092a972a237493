"""Schemathesis hooks for the contract run (SCHEMATHESIS_HOOKS=tests.support.schemathesis_hooks)."""

from __future__ import annotations

import re
import uuid
from typing import Any

import schemathesis

_VALID_KEY = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@schemathesis.hook
def before_call(ctx: Any, case: Any, **kwargs: Any) -> None:
    """A fresh Idempotency-Key for every request that carries a valid one.

    Generated keys repeat ("0", "A", …) across different bodies, which would turn most
    requests into 409s; invalid keys are kept, so that their rejection is still tested.
    """
    headers = case.headers or {}
    for name in list(headers):
        if (
            name.lower() == "idempotency-key"
            and isinstance(headers[name], str)
            and _VALID_KEY.match(headers[name])
        ):
            headers[name] = uuid.uuid4().hex
    case.headers = headers
