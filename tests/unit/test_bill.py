"""The monthly bill's arithmetic (bench/bill.py), on a small made-up price table."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Any

import pytest
from bench.bill import HOURS_PER_MONTH, Invocations, Stack, monthly_bill, monthly_usage

PRICES: dict[str, dict[str, Any]] = {
    key: {"label": key, "unit": "made up", "price": price, **({"free_per_month": free} if free else {})}
    for key, price, free in [
        ("kms_key_month", 1.0, 0),
        ("secret_month", 0.5, 0),
        ("cloudwatch_alarm_month", 0.1, 2),
        ("dynamodb_pitr_gb_month", 0.2, 0),
        ("dynamodb_storage_gb_month", 0.25, 0),
        ("http_api_request", 0.001, 0),
        ("lambda_request", 0.0001, 0),
        ("lambda_arm64_gb_second", 0.01, 0),
        ("xray_trace_recorded", 0.0, 0),
        ("data_transfer_out_gb", 0.0, 0),
        ("cloudwatch_logs_ingested_gb", 1.0, 0),
        ("cloudwatch_logs_stored_gb_month", 0.1, 0),
        ("cloudwatch_metric_month", 0.3, 0),
        ("s3_get", 0.002, 0),
    ]
}
STACK = Stack(
    kms_keys=1,
    secrets=1,
    alarms=12,
    pitr_tables_bytes=2 * 1024**3,
    table_bytes=2 * 1024**3,
    log_retention_days=90,
    platform_log_bytes=0,
    access_log_bytes=0,
)


def _articles(per_month: float, **changes: Any) -> Invocations:
    fields: dict[str, Any] = {
        "name": "GET /articles",
        "per_month": per_month,
        "duration_ms": 100,
        "memory_mb": 1024,
        "usage": {"s3_get": 1},
        "http_api": True,
    }
    return Invocations(**{**fields, **changes})


def _costs(per_month: float, **changes: Any) -> dict[str, float]:
    usage = monthly_usage([_articles(per_month, **changes)], STACK)
    return {line.key: line.cost for line in monthly_bill(usage, PRICES)}


def test_fixed_costs_are_counted_once_a_month_whatever_the_traffic() -> None:
    quiet, busy = _costs(1_000), _costs(1_000_000)
    for key, expected in [
        ("kms_key_month", 1.0),
        ("secret_month", 0.5),
        ("cloudwatch_alarm_month", 12 * 0.1),
        ("dynamodb_pitr_gb_month", 2 * 0.2),
        ("dynamodb_storage_gb_month", 2 * 0.25),
    ]:
        assert quiet[key] == pytest.approx(expected), key
        assert busy[key] == quiet[key], key


def test_per_request_costs_scale_with_the_workload() -> None:
    once, ten_times = _costs(1_000), _costs(10_000)
    assert once["http_api_request"] == pytest.approx(1_000 * 0.001)
    assert once["s3_get"] == pytest.approx(1_000 * 0.002)
    assert once["lambda_request"] == pytest.approx(1_000 * 0.0001)
    # 1,000 invocations of 100 ms at 1 GB are 100 GB-seconds.
    assert once["lambda_arm64_gb_second"] == pytest.approx(100 * 0.01)
    for key in ("http_api_request", "s3_get", "lambda_request", "lambda_arm64_gb_second"):
        assert ten_times[key] == pytest.approx(10 * once[key]), key


def test_a_cold_start_bills_its_init_duration() -> None:
    warm = _costs(1_000)["lambda_arm64_gb_second"]
    half_cold = _costs(1_000, cold_share=0.5, init_ms=1_000)["lambda_arm64_gb_second"]
    # Half of 1,000 invocations add 1 s each at 1 GB: 500 GB-seconds more.
    assert half_cold - warm == pytest.approx(500 * 0.01)


def test_logs_are_ingested_once_and_stored_for_the_retention_period() -> None:
    gib = 1024**3
    costs = _costs(1_024, log_bytes=1024**2)  # 1,024 invocations of 1 MiB: 1 GiB
    assert costs["cloudwatch_logs_ingested_gb"] == pytest.approx(1.0)
    assert costs["cloudwatch_logs_stored_gb_month"] == pytest.approx(90 / 30 * 0.1)
    access_logged = monthly_usage([_articles(gib)], Stack(**{**STACK.__dict__, "access_log_bytes": 1}))
    assert access_logged["cloudwatch_logs_ingested_gb"] == pytest.approx(1.0)


def test_a_custom_metric_costs_for_the_hours_it_is_published() -> None:
    always = monthly_usage([_articles(1_000_000, metrics=frozenset({"Served"}))], STACK)
    once = monthly_usage([_articles(1, metrics=frozenset({"Served"}))], STACK)
    assert always["cloudwatch_metric_month"] == pytest.approx(1.0)
    assert once["cloudwatch_metric_month"] == pytest.approx((1 - math.exp(-1 / HOURS_PER_MONTH)), rel=1e-6)
    two = monthly_usage([_articles(1_000_000, metrics=frozenset({"Served", "NotFound"}))], STACK)
    assert two["cloudwatch_metric_month"] == pytest.approx(2.0)


def test_the_free_tier_is_deducted_from_the_month_not_from_each_line() -> None:
    [alarms] = [
        line for line in monthly_bill(monthly_usage([], STACK), PRICES) if line.key.startswith("cloudwatch_a")
    ]
    assert alarms.cost == pytest.approx(1.2)
    assert alarms.cost_after_free_tier == pytest.approx((12 - 2) * 0.1)


def test_a_unit_without_a_price_is_refused_rather_than_left_off_the_bill() -> None:
    with pytest.raises(KeyError, match="ses_email"):
        monthly_bill({"ses_email": 10.0}, PRICES)


def test_every_price_the_bill_uses_gives_its_date_and_source() -> None:
    prices = tomllib.loads((Path(__file__).resolve().parents[2] / "bench" / "prices.toml").read_text())
    for key, entry in prices.items():
        assert entry.get("label"), key
        assert entry["source"].startswith("https://aws.amazon.com/"), key
        assert len(entry["as_of"]) == len("2026-12-01"), key
        assert entry["price"] >= 0, key
