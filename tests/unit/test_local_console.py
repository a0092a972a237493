"""`clinic dev`'s console: a metric line (embedded metric format) as one short summary."""

from __future__ import annotations

import json

from clinic_infra.local.console import metric_summary


def _emf(**values: object) -> str:
    metrics = [{"Name": name, "Unit": "Count"} for name in values]
    directive = {"Namespace": "clinic-local", "Dimensions": [["service"]], "Metrics": metrics}
    return json.dumps({"_aws": {"Timestamp": 1, "CloudWatchMetrics": [directive]}, "service": "x", **values})


def test_every_metric_of_a_flush_is_summarized_with_its_total() -> None:
    line = _emf(LeadCreated=[1.0], NotificationSent=[1.0, 1.0], LatencyMs=12.5)
    assert metric_summary(line) == "metrics: LeadCreated=1, NotificationSent=2, LatencyMs=12.5"


def test_log_lines_and_broken_json_are_left_as_they_are() -> None:
    assert metric_summary('{"level":"INFO","message":"Lead stored","lead_id":"01J"}') is None
    assert metric_summary('{"_aws": {"CloudWatchMetrics": [') is None
    assert metric_summary("GET /articles -> 200 (3 ms)") is None
