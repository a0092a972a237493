"""What `clinic dev` prints: a function's metric line (CloudWatch's embedded metric format, one
JSON object per flush) becomes one short summary, since the raw JSON buries the request lines
around it. `--verbose` and the log file keep the raw line."""

from __future__ import annotations

import json
from typing import Any


def metric_summary(line: str) -> str | None:
    """`metrics: LeadCreated=1` for an embedded-metric-format line; None for any other line."""
    if not line.startswith("{") or '"_aws"' not in line:
        return None
    try:
        document: Any = json.loads(line)
        declared = document["_aws"]["CloudWatchMetrics"]
        names = [metric["Name"] for directive in declared for metric in directive["Metrics"]]
    except (ValueError, KeyError, TypeError):
        return None
    values = []
    for name in names:
        value = document.get(name)
        # Powertools lists every value added to a metric before a flush; their sum is the count.
        total = sum(value) if isinstance(value, list) else value
        values.append(f"{name}={total:g}" if isinstance(total, int | float) else f"{name}={total}")
    return "metrics: " + ", ".join(values) if values else None
