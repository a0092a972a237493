"""A clinic's monthly AWS bill: what a month of a stated workload uses, times each price.

Only arithmetic lives here (tests/unit/test_bill.py checks it on made-up prices): bench/run.py
measures what one invocation of each kind uses (AWS calls, duration, log bytes, metrics) and
reads the fixed resources from template.yaml; the workload is bench/workload.toml and the
prices bench/prices.toml.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HOURS_PER_MONTH = 730  # AWS prices "per month" as 730 hours
GB = 1024**3
FULL_CPU_MB = 1769  # Lambda gives one full vCPU at 1,769 MB; less memory, a share of it


@dataclass(frozen=True)
class Invocations:
    """One kind of Lambda invocation in a month, and what each one uses.

    `usage` holds per-invocation quantities in the units of prices.toml (for example
    `s3_get`, `dynamodb_write_request_unit`, `ses_email`); `metrics` the custom metrics one
    invocation publishes, each a name with its dimensions.
    """

    name: str
    per_month: float
    duration_ms: float
    memory_mb: int
    cold_share: float = 0.0
    init_ms: float = 0.0
    log_bytes: float = 0.0
    usage: Mapping[str, float] = field(default_factory=dict)
    metrics: frozenset[str] = frozenset()
    http_api: bool = False  # a request through the HTTP API (billed, access-logged, answered)
    response_bytes: float = 0.0

    @property
    def gb_seconds(self) -> float:
        billed_ms = max(1.0, self.duration_ms) + self.cold_share * self.init_ms
        return self.per_month * billed_ms / 1000 * self.memory_mb / 1024


@dataclass(frozen=True)
class Stack:
    """What the stack holds whatever the traffic, counted from template.yaml."""

    kms_keys: int
    secrets: int
    alarms: int
    pitr_tables_bytes: float  # the size of every table with point-in-time recovery, together
    table_bytes: float
    log_retention_days: int
    platform_log_bytes: float  # the START, END and REPORT lines Lambda writes per invocation
    access_log_bytes: float  # one HTTP API access-log line
    xray_traced: bool = True


def _hours_with_data(events_per_month: float) -> float:
    """Hours in a month with at least one event, events arriving at random (Poisson).

    CloudWatch bills a custom metric for the hours in which it was published, prorated.
    """
    per_hour = events_per_month / HOURS_PER_MONTH
    return HOURS_PER_MONTH * (1 - math.exp(-per_hour))


def monthly_usage(invocations: Iterable[Invocations], stack: Stack) -> dict[str, float]:
    """Quantity of each priced unit in one month."""
    invocations = list(invocations)
    usage: dict[str, float] = {
        # Fixed: counted once a month, whatever the traffic.
        "kms_key_month": stack.kms_keys,
        "secret_month": stack.secrets,
        "cloudwatch_alarm_month": stack.alarms,
        "dynamodb_pitr_gb_month": stack.pitr_tables_bytes / GB,
        "dynamodb_storage_gb_month": stack.table_bytes / GB,
    }

    def add(key: str, quantity: float) -> None:
        usage[key] = usage.get(key, 0.0) + quantity

    ingested = 0.0
    metric_events: dict[str, float] = {}
    for kind in invocations:
        add("lambda_request", kind.per_month)
        add("lambda_arm64_gb_second", kind.gb_seconds)
        if stack.xray_traced:
            add("xray_trace_recorded", kind.per_month)
        ingested += kind.per_month * (kind.log_bytes + stack.platform_log_bytes)
        if kind.http_api:
            add("http_api_request", kind.per_month)
            add("data_transfer_out_gb", kind.per_month * kind.response_bytes / GB)
            ingested += kind.per_month * stack.access_log_bytes
        for key, quantity in kind.usage.items():
            add(key, kind.per_month * quantity)
        for metric in kind.metrics:
            metric_events[metric] = metric_events.get(metric, 0.0) + kind.per_month
    add("cloudwatch_logs_ingested_gb", ingested / GB)
    # Every line is kept for the retention period (uncompressed here: CloudWatch bills stored
    # logs compressed, so this is an upper bound).
    add("cloudwatch_logs_stored_gb_month", ingested / GB * stack.log_retention_days / 30)
    hours = sum(_hours_with_data(events) for events in metric_events.values())
    add("cloudwatch_metric_month", hours / HOURS_PER_MONTH)
    return usage


@dataclass(frozen=True)
class LineItem:
    key: str
    label: str
    quantity: float
    unit: str
    price: float
    cost: float
    cost_after_free_tier: float


def monthly_bill(usage: Mapping[str, float], prices: Mapping[str, Mapping[str, Any]]) -> list[LineItem]:
    """One line per priced unit the month uses, fixed costs first, in prices.toml's order."""
    lines = []
    for key, entry in prices.items():
        if key not in usage or "label" not in entry:
            continue
        quantity = usage[key]
        free = float(entry.get("free_per_month", 0.0))
        price = float(entry["price"])
        lines.append(
            LineItem(
                key=key,
                label=str(entry["label"]),
                quantity=quantity,
                unit=str(entry["unit"]),
                price=price,
                cost=quantity * price,
                cost_after_free_tier=max(0.0, quantity - free) * price,
            )
        )
    unpriced = set(usage) - {line.key for line in lines}
    if unpriced:
        raise KeyError(f"no price (with a label) in prices.toml for {sorted(unpriced)}")
    return lines


def cpu_scaled_ms(full_cpu_ms: float, memory_mb: int) -> float:
    """A duration measured on a whole CPU, at the CPU share Lambda gives `memory_mb`."""
    return full_cpu_ms * max(1.0, FULL_CPU_MB / memory_mb)


def load_toml(name: str) -> dict[str, Any]:
    with (Path(__file__).parent / name).open("rb") as source:
        return tomllib.load(source)
