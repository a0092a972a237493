"""Integration fixtures: the template's resources in moto, the handler the template names."""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from clinic_infra.template import StackTemplate
from tests.helpers import FakeLambdaContext, challenge_event, http_event, solved_altcha
from tests.staff import StaffUser, add_staff_user, authorizer_context

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


# ---------------------------------------------------------------- the staff API

Call = Callable[..., dict[str, Any]]


@pytest.fixture
def users(stack: StackTemplate) -> dict[str, StaffUser]:
    cognito = boto3.client("cognito-idp")
    pool, client = stack.refs["StaffUserPool"], stack.refs["StaffConsoleClient"]
    return {
        "staff": add_staff_user(cognito, pool, client, "sam.staff@example-clinic.com", ["staff"]),
        "admin": add_staff_user(cognito, pool, client, "ada.admin@example-clinic.com", ["admin"]),
        "nobody": add_staff_user(cognito, pool, client, "no.group@example-clinic.com", []),
    }


@pytest.fixture
def staff_handler(stack: StackTemplate, monkeypatch: pytest.MonkeyPatch) -> Any:
    return load_handler(stack, "StaffFunction", monkeypatch)


def _route(method: str, path: str) -> tuple[str, dict[str, str]]:
    parts = path.split("/")
    if path.startswith("/staff/leads/") and len(parts) >= 4:
        suffix = f"/{parts[4]}" if len(parts) > 4 else ""  # /audit, /release
        return "/staff/leads/{id}" + suffix, {"id": parts[3]}
    return path, {}


@pytest.fixture
def call(staff_handler: Any, users: dict[str, StaffUser]) -> Call:
    """A staff API request as API Gateway delivers it after the authorizer accepted the token."""

    def send(
        method: str,
        path: str,
        who: str | dict[str, Any] = "staff",
        *,
        query: dict[str, str] | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        route, parameters = _route(method, path)
        event = http_event(
            method,
            path,
            route=route,
            query=query,
            path_parameters=parameters or None,
            headers={"content-type": "application/json", **(headers or {})},
            body=None if body is None else (body if isinstance(body, str) else json.dumps(body)),
        )
        claims = users[who].claims if isinstance(who, str) else who
        event["requestContext"]["authorizer"] = authorizer_context(claims)
        return invoke(staff_handler, event)

    return send
