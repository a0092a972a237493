"""Integration fixtures: the template's resources in moto, the handler the template names."""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from clinic_infra.template import StackTemplate
from tests.helpers import FakeLambdaContext, challenge_event, solved_altcha

Hooks = Callable[..., None]


@pytest.fixture
def boto_hooks(aws: None) -> Iterator[Hooks]:
    """Register botocore event hooks on the test's default session (the `aws` fixture's), before
    handlers create their clients.

    `first=True` runs the hook before moto's own `before-send` handler, to inject faults.
    """
    session = boto3.DEFAULT_SESSION
    assert session is not None
    registered: list[tuple[str, Callable[..., Any]]] = []

    def register(event_name: str, hook: Callable[..., Any], *, first: bool = False) -> None:
        if first:
            session.events.register_first(event_name, hook)
        else:
            session.events.register(event_name, hook)
        registered.append((event_name, hook))

    yield register
    for event_name, hook in registered:
        session.events.unregister(event_name, hook)


def load_handler(
    stack: StackTemplate, function: str, monkeypatch: pytest.MonkeyPatch, **overrides: str
) -> Any:
    """The handler module the template names for `function`, loaded afresh (a cold start) with
    the template's environment and `overrides` of it."""
    spec = stack.functions()[function]
    for name, value in {**spec.environment, **overrides}.items():
        monkeypatch.setenv(name, value)
    module = importlib.import_module(spec.handler.rsplit(".", 1)[0])
    # Powertools reads its settings (metrics namespace, service) when the module is imported.
    return importlib.reload(module)


def invoke(module: Any, event: dict[str, Any]) -> dict[str, Any]:
    return module.lambda_handler(event, FakeLambdaContext())  # type: ignore[no-any-return]


def altcha_from(consultations: Any) -> str:
    """A solution to a challenge the consultations handler issued (GET /consultations/challenge)."""
    return solved_altcha(lambda: json.loads(invoke(consultations, challenge_event())["body"]))


def stream_records(stack: StackTemplate) -> list[dict[str, Any]]:
    """Every record moto's DynamoDB Streams holds for the leads table, as Lambda shapes them."""
    from clinic_infra.streams import lambda_record

    arn = stack.attributes[("LeadsTable", "StreamArn")]
    streams = boto3.client("dynamodbstreams")
    records: list[dict[str, Any]] = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        records += [
            lambda_record(record, arn) for record in streams.get_records(ShardIterator=iterator)["Records"]
        ]
    return records


def notifier_event(stack: StackTemplate, records: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The event the notifier's event source mapping delivers: the template's filter applied."""
    from clinic_infra.streams import passes_filters, stream_event

    filters = stack.functions()["NotifierFunction"].events["NewLeads"]["Properties"]["FilterCriteria"][
        "Filters"
    ]
    source = stream_records(stack) if records is None else records
    return stream_event(record for record in source if passes_filters(record, filters))
