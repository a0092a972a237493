"""The local stream mapping delivers as Lambda's event source mapping does."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from clinic_infra.local.events import StreamEventSource, rate_seconds
from clinic_infra.local.functions import LocalFunction
from clinic_infra.template import FunctionSpec
from tests.e2e.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": "us-east-1"}


@pytest.fixture
def aws_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def _client(url: str, service: str) -> Any:
    return boto3.client(service, endpoint_url=url, **CREDENTIALS)


@pytest.fixture
def table(aws_url: str) -> tuple[str, str]:
    # moto's servers in one process share their backends: every test gets its own names.
    dynamodb = _client(aws_url, "dynamodb")
    description = dynamodb.create_table(
        TableName=f"events-{uuid.uuid4().hex}",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"},
    )["TableDescription"]
    return description["TableName"], description["LatestStreamArn"]


def _mapping(aws_url: str, stream_arn: str, log: Path, queue_arn: str, **overrides: Any) -> StreamEventSource:
    spec = FunctionSpec("StreamFunction", "tests.support.stream_handler.lambda_handler", 10, 128, {}, {}, {})
    environment = {"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT), "STREAM_LOG": str(log)}
    function = LocalFunction(spec, environment, lambda *_: None)
    properties = {
        "BatchSize": 10,
        "StartingPosition": "TRIM_HORIZON",
        "MaximumRetryAttempts": 2,
        "BisectBatchOnFunctionError": True,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "FilterCriteria": {"Filters": [{"Pattern": '{"eventName": ["INSERT"]}'}]},
        "DestinationConfig": {"OnFailure": {"Type": "SQS", "Destination": queue_arn}},
        **overrides,
    }
    return StreamEventSource(
        _client(aws_url, "dynamodbstreams"),
        _client(aws_url, "sqs"),
        stream_arn,
        function,
        properties,
        lambda _: None,
        poll_seconds=0.1,
        retry_pause_seconds=0.05,
    )


def _batches(log: Path, count: int, timeout: float = 20) -> list[list[str]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = log.read_text().splitlines() if log.exists() else []
        if len(lines) >= count:
            time.sleep(0.3)  # any extra deliveries would show up now
            return [json.loads(line) for line in log.read_text().splitlines()]
        time.sleep(0.05)
    raise AssertionError(f"fewer than {count} batches delivered")


@pytest.fixture
def dead_letters(aws_url: str) -> tuple[str, str]:
    sqs = _client(aws_url, "sqs")
    url = sqs.create_queue(QueueName=f"dead-letters-{uuid.uuid4().hex}")["QueueUrl"]
    return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def test_inserts_are_delivered_in_order_and_other_events_filtered_out(
    aws_url: str, table: tuple[str, str], dead_letters: tuple[str, str], tmp_path: Path
) -> None:
    name, stream = table
    dynamodb = _client(aws_url, "dynamodb")
    for key in ("a", "b", "c"):
        dynamodb.put_item(TableName=name, Item={"pk": {"S": key}})
    dynamodb.update_item(
        TableName=name,
        Key={"pk": {"S": "a"}},
        UpdateExpression="SET x = :v",
        ExpressionAttributeValues={":v": {"S": "1"}},
    )  # a MODIFY, filtered out
    mapping = _mapping(aws_url, stream, tmp_path / "log", dead_letters[1])
    mapping.start()
    try:
        assert _batches(tmp_path / "log", 1) == [["a", "b", "c"]]
    finally:
        mapping.stop()


def test_retry_starts_at_the_first_reported_failure_then_the_batch_is_dead_lettered(
    aws_url: str, table: tuple[str, str], dead_letters: tuple[str, str], tmp_path: Path
) -> None:
    name, stream = table
    dynamodb = _client(aws_url, "dynamodb")
    for key in ("ok-1", "fail-2", "ok-3"):
        dynamodb.put_item(TableName=name, Item={"pk": {"S": key}})
    mapping = _mapping(aws_url, stream, tmp_path / "log", dead_letters[1])
    mapping.start()
    try:
        # first delivery, then two retries from the failed record on (MaximumRetryAttempts: 2)
        assert _batches(tmp_path / "log", 3) == [
            ["ok-1", "fail-2", "ok-3"],
            ["fail-2", "ok-3"],
            ["fail-2", "ok-3"],
        ]
    finally:
        mapping.stop()
    messages = _client(aws_url, "sqs").receive_message(QueueUrl=dead_letters[0])["Messages"]
    (message,) = messages
    info = json.loads(message["Body"])["DDBStreamBatchInfo"]
    assert info["batchSize"] == 2
    assert info["streamArn"] == stream
    assert "fail-2" not in message["Body"]  # where the batch was, never what it held


def test_a_crashing_batch_is_bisected_until_the_bad_record_is_alone(
    aws_url: str, table: tuple[str, str], dead_letters: tuple[str, str], tmp_path: Path
) -> None:
    name, stream = table
    dynamodb = _client(aws_url, "dynamodb")
    for key in ("ok-1", "ok-2", "crash-3", "ok-4"):
        dynamodb.put_item(TableName=name, Item={"pk": {"S": key}})
    mapping = _mapping(aws_url, stream, tmp_path / "log", dead_letters[1], MaximumRetryAttempts=0)
    mapping.start()
    try:
        batches = _batches(tmp_path / "log", 4)
    finally:
        mapping.stop()
    assert batches[0] == ["ok-1", "ok-2", "crash-3", "ok-4"]
    assert ["ok-1", "ok-2"] in batches  # the good half is delivered on its own
    assert ["crash-3"] in batches
    assert ["ok-4"] in batches


def test_rate_expressions() -> None:
    assert rate_seconds("rate(15 minutes)") == 900
    assert rate_seconds("rate(1 hour)") == 3600
    with pytest.raises(ValueError, match="unsupported"):
        rate_seconds("cron(0 12 * * ? *)")


def test_leads_after_a_cancelled_transaction_are_still_delivered(
    aws_url: str, table: tuple[str, str], dead_letters: tuple[str, str], tmp_path: Path
) -> None:
    # moto rolls a cancelled transaction back by swapping in a copy of the table, stream shard
    # included; a mapping that followed its old shard iterator would never see another record.
    name, stream = table
    dynamodb = _client(aws_url, "dynamodb")
    mapping = _mapping(aws_url, stream, tmp_path / "log", dead_letters[1])
    mapping.start()
    try:
        dynamodb.put_item(TableName=name, Item={"pk": {"S": "before"}})
        assert _batches(tmp_path / "log", 1) == [["before"]]
        with pytest.raises(dynamodb.exceptions.TransactionCanceledException):
            dynamodb.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": name, "Item": {"pk": {"S": "rolled-back"}}}},
                    {
                        "Put": {
                            "TableName": name,
                            "Item": {"pk": {"S": "before"}},
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                ]
            )
        dynamodb.put_item(TableName=name, Item={"pk": {"S": "after"}})
        assert _batches(tmp_path / "log", 2) == [["before"], ["after"]]
    finally:
        mapping.stop()


def test_batch_size_counts_the_records_that_pass_the_filter(
    aws_url: str, table: tuple[str, str], dead_letters: tuple[str, str], tmp_path: Path
) -> None:
    name, stream = table
    dynamodb = _client(aws_url, "dynamodb")
    for number in range(12):
        key = {"pk": {"S": f"lead-{number:02}"}}
        dynamodb.put_item(TableName=name, Item=key)
        for step in range(3):  # what the notifier's marks add to the stream: MODIFYs
            dynamodb.update_item(
                TableName=name,
                Key=key,
                UpdateExpression="SET step = :step",
                ExpressionAttributeValues={":step": {"N": str(step)}},
            )
    mapping = _mapping(aws_url, stream, tmp_path / "log", dead_letters[1])
    mapping.start()
    try:
        batches = _batches(tmp_path / "log", 2)
    finally:
        mapping.stop()
    assert batches == [[f"lead-{number:02}" for number in range(10)], ["lead-10", "lead-11"]]
