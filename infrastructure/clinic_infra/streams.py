"""DynamoDB stream records as Lambda delivers them, and the event filters Lambda applies.

The local stack polls moto's DynamoDB Streams and hands the notifier what Lambda's event
source mapping would: records in the Lambda event shape, filtered by the template's
FilterCriteria, in batches. Tests build their stream events with the same code.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any


def lambda_record(record: Mapping[str, Any], stream_arn: str) -> dict[str, Any]:
    """One record from GetRecords, as it appears in a Lambda event (epoch times, source ARN)."""
    dynamodb = dict(record["dynamodb"])
    created = dynamodb.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        dynamodb["ApproximateCreationDateTime"] = int(created.timestamp())
    return {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": record.get("eventVersion", "1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": record["awsRegion"],
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    }


def _matches(pattern: Any, value: Any) -> bool:
    if isinstance(pattern, dict):
        return isinstance(value, Mapping) and all(
            _matches(rule, value.get(key)) for key, rule in pattern.items()
        )
    if isinstance(pattern, list):
        return any(_matches_value(rule, value) for rule in pattern)
    return False


def _matches_value(rule: Any, value: Any) -> bool:
    if isinstance(rule, dict):
        if "exists" in rule:
            return (value is not None) == bool(rule["exists"])
        if "prefix" in rule:
            return isinstance(value, str) and value.startswith(rule["prefix"])
        raise ValueError(f"unsupported filter rule {rule}")
    return bool(value == rule)


def passes_filters(record: Mapping[str, Any], filters: Iterable[Mapping[str, Any]]) -> bool:
    """Lambda event filtering: a record passes when any filter's pattern matches (no filters: all)."""
    patterns = [json.loads(item["Pattern"]) for item in filters]
    return not patterns or any(_matches(pattern, record) for pattern in patterns)


def stream_event(records: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    return {"Records": list(records)}
