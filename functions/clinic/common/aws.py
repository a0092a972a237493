"""How the API functions call AWS services."""

from __future__ import annotations

from botocore.config import Config

# Short timeouts and standard retries with backoff: a failing dependency becomes a 503
# well inside the function's timeout, instead of a hung request.
API_CLIENT_CONFIG = Config(connect_timeout=1, read_timeout=2, retries={"mode": "standard", "max_attempts": 3})
