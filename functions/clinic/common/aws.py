"""How the API functions call AWS services."""

from __future__ import annotations

from botocore.config import Config

# Short timeouts and one retry with backoff: a failing dependency becomes a 503 well inside
# the function's 15 s timeout (two calls at most 3 s an attempt), not API Gateway's bare 503.
API_CLIENT_CONFIG = Config(connect_timeout=1, read_timeout=2, retries={"mode": "standard", "max_attempts": 2})

# The notifier and sweeper: more patience per call, still well inside the notifier's 30 s and
# its claim's 45 s lease, so a hung send ends as a reported failure, never a held claim.
WORKER_CLIENT_CONFIG = Config(
    connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3}
)
