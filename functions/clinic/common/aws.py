"""How the functions call AWS services: the client settings, and the one way clients are made.

Every class that calls AWS takes its client as an argument (the tests, the local stack and
the bench pass their own) and otherwise makes it with `LazyClient` when it first calls the
service: never at import and never in a constructor, so a cold start pays only for the
services its first event uses. Clients come from boto3's default session, so botocore event
hooks registered on it (the tests' fault injection) see every call.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from botocore.config import Config

ClientT = TypeVar("ClientT")

# Short timeouts and one retry with backoff: a failing dependency becomes a 503 well inside
# the function's 15 s timeout (two calls at most 3 s an attempt), not API Gateway's bare 503.
API_CLIENT_CONFIG = Config(connect_timeout=1, read_timeout=2, retries={"mode": "standard", "max_attempts": 2})

# The notifier and sweeper: more patience per call, still well inside the notifier's 30 s and
# its claim's 45 s lease, so a hung send ends as a reported failure, never a held claim.
WORKER_CLIENT_CONFIG = Config(
    connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3}
)


class LazyClient(Generic[ClientT]):
    """The client given, or the one `make` returns on the first call, kept for the container's life."""

    def __init__(self, given: ClientT | None, make: Callable[[], ClientT]) -> None:
        self._client = given
        self._make = make
        # boto3's default session is not thread-safe while it makes a client.
        self._lock = threading.Lock()

    def __call__(self) -> ClientT:
        client = self._client
        if client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._make()
                client = self._client
        return client
