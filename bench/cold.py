"""Cold first answer: a new process imports a handler and answers one event, AWS through Stubber.

Beside each real handler runs a bare one: only boto3, making the same AWS calls in the same
order, with the least work around them. The ratio of the two whole processes (interpreter
start, imports, client creation, the one answer) is what the project's code and libraries add
to a visitor's first request on a new container.

One sample is one process: `python -m bench.cold CASE real|bare FIXTURE`. Only the standard
library, boto3 and botocore are imported before the handler, so neither side pre-pays the
other's imports. Every client either side creates, however it creates it, is stubbed.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import os
import sys
import uuid
from collections.abc import Callable
from typing import Any

import boto3
import botocore.session
from botocore.response import StreamingBody
from botocore.stub import Stubber

CONSULTATION = {
    "name": "Bench Patient",
    "phone": "(415) 555-0100",
    "preferred_contact": "phone",
    "concerns": ["anxiety"],
    "message": "A message of ordinary length for a consultation request.",
    "consent": True,
}
LEAD_ITEM = {
    "id": {"S": "01KBENCHLEAD00000000000000"},
    "created_at": {"S": "2026-11-27T12:00:00.000Z"},
    "status": {"S": "new"},
    "name": {"S": "Bench Patient"},
    "phone": {"S": "+14155550100"},
    "preferred_contact": {"S": "phone"},
    "preferred_time": {"S": "any"},
    "concerns": {"L": [{"S": "anxiety"}]},
    "notify_state": {"S": "pending"},
    "notification_claimed_until": {"N": "1795780845"},
}
# Environment each handler's settings need beyond bench.run's ENVIRONMENT.
NOTIFIER_ENVIRONMENT = {
    "STAFF_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:bench-staff",
    "SENDER_ADDRESS": "no-reply@example-clinic.com",
    "STAFF_ADDRESSES": "staff@example-clinic.com",
    "CLINIC_NAME": "Example Clinic",
    "CLINIC_CONTACT_LINE": "call (555) 010-0100.",
    "SES_CONFIGURATION_SET": "bench-tls",
    "SEND_CONFIRMATION": "false",
}


def _http_event(method: str, path: str, body: str | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"host": "api.example", "content-type": "application/json"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "bench",
            "domainName": "api.example",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.9"},
            "requestId": "bench",
            "routeKey": f"{method} {path}",
            "stage": "$default",
            "timeEpoch": 1795780800000,
        },
        "isBase64Encoded": False,
    }
    if body is not None:
        event["body"] = body
    return event


def _stream_event() -> dict[str, Any]:
    return {
        "Records": [
            {
                "eventID": "1",
                "eventName": "INSERT",
                "eventSource": "aws:dynamodb",
                "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/bench-leads/stream/x",
                "dynamodb": {
                    "Keys": {"id": LEAD_ITEM["id"]},
                    "SequenceNumber": "100",
                    "StreamViewType": "KEYS_ONLY",
                },
            }
        ]
    }


# ---------------------------------------------------------------- the bare handlers


def bare_articles(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    s3 = boto3.client("s3")
    index = json.loads(s3.get_object(Bucket="bench-content", Key="published/index.json")["Body"].read())
    return {"statusCode": 200, "body": json.dumps({"items": index["articles"][:10], "next_cursor": None})}


def bare_consultations(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    secret = boto3.client("secretsmanager").get_secret_value(SecretId="bench")["SecretString"]
    fields = json.loads(event["body"])
    client = hmac.new(secret.encode(), event["requestContext"]["http"]["sourceIp"].encode(), hashlib.sha256)
    lead_id = uuid.uuid4().hex
    boto3.client("dynamodb").transact_write_items(
        TransactItems=[
            {
                "Update": {
                    "TableName": "bench-guard",
                    "Key": {"pk": {"S": f"rate#{client.hexdigest()}"}},
                    "UpdateExpression": "ADD requests :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}},
                }
            },
            {
                "Put": {
                    "TableName": "bench-leads",
                    "Item": {"id": {"S": lead_id}, "name": {"S": fields["name"]}},
                    "ConditionExpression": "attribute_not_exists(id)",
                }
            },
        ]
    )
    return {"statusCode": 201, "body": json.dumps({"id": lead_id, "status": "received"})}


def bare_notifications(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    dynamodb, ses, sns = boto3.client("dynamodb"), boto3.client("sesv2"), boto3.client("sns")

    def mark(key: dict[str, Any], name: str) -> Any:
        return dynamodb.update_item(
            TableName="bench-leads",
            Key=key,
            UpdateExpression=f"SET {name} = :now",
            ExpressionAttributeValues={":now": {"S": "2026-11-27T12:00:01.000Z"}},
            ReturnValues="ALL_NEW",
        )

    for record in event["Records"]:
        key = record["dynamodb"]["Keys"]
        lead = mark(key, "claimed")["Attributes"]  # the claim, which reads the lead
        raw = f"Subject: New consultation request {lead['id']['S']}\r\n\r\nCall {lead['phone']['S']}.\r\n"
        ses.send_email(
            FromEmailAddress="no-reply@example-clinic.com",
            Content={"Raw": {"Data": raw.encode()}},
            ConfigurationSetName="bench-tls",
        )
        mark(key, "staff_email_at")
        sns.publish(TopicArn=NOTIFIER_ENVIRONMENT["STAFF_TOPIC_ARN"], Message=json.dumps({"lead_id": "x"}))
        mark(key, "topic_at")
        mark(key, "notified_at")
    return {"batchItemFailures": []}


# ---------------------------------------------------------------- the cases


def _body(data: bytes) -> StreamingBody:
    return StreamingBody(io.BytesIO(data), len(data))


def _responses(case: str, fixture: bytes) -> dict[str, list[tuple[str, Callable[[], dict[str, Any]]]]]:
    """What each service answers, in order: the same calls for the real and the bare handler."""
    if case == "articles":
        return {"s3": [("get_object", lambda: {"Body": _body(fixture)})]}
    if case == "consultations":
        return {
            "secretsmanager": [
                ("get_secret_value", lambda: {"SecretString": "bench-secret", "Name": "bench"})
            ],
            "dynamodb": [("transact_write_items", dict)],
        }
    marked: Callable[[], dict[str, Any]] = dict
    return {
        "dynamodb": [("update_item", lambda: {"Attributes": LEAD_ITEM})] + [("update_item", marked)] * 3,
        "sesv2": [("send_email", lambda: {"MessageId": "bench"})],
        "sns": [("publish", lambda: {"MessageId": "bench"})],
    }


CASES: dict[str, dict[str, Any]] = {
    "articles": {
        "handler": "clinic.articles.handler",
        "bare": bare_articles,
        "event": lambda: _http_event("GET", "/articles"),
        "expect": lambda answer: answer["statusCode"] == 200,
        "environment": {},
    },
    "consultations": {
        "handler": "clinic.consultations.handler",
        "bare": bare_consultations,
        "event": lambda: _http_event("POST", "/consultations", json.dumps(CONSULTATION)),
        "expect": lambda answer: answer["statusCode"] == 201,
        "environment": {},
    },
    "notifications": {
        "handler": "clinic.notifications.handler",
        "bare": bare_notifications,
        "event": _stream_event,
        "expect": lambda answer: answer == {"batchItemFailures": []},
        "environment": NOTIFIER_ENVIRONMENT,
    },
}


class LambdaContext:
    """The context attributes Powertools reads (the real object exists only inside Lambda)."""

    function_name = "bench"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    aws_request_id = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def _stub_every_client(responses: dict[str, list[tuple[str, Callable[[], dict[str, Any]]]]]) -> None:
    """Every client created from now on, by any session, answers from `responses`."""
    create_client = botocore.session.Session.create_client
    stubbers: list[Stubber] = []

    def stubbed(self: botocore.session.Session, service_name: str, *args: Any, **kwargs: Any) -> Any:
        client = create_client(self, service_name, *args, **kwargs)
        stubber = Stubber(client)
        for operation, response in responses.get(service_name, []):
            stubber.add_response(operation, response())
        stubber.activate()
        stubbers.append(stubber)
        return client

    botocore.session.Session.create_client = stubbed  # type: ignore[method-assign]


def main() -> int:
    case_name, side, fixture_path = sys.argv[1:4]
    case = CASES[case_name]
    with open(fixture_path, "rb") as fixture:
        _stub_every_client(_responses(case_name, fixture.read()))
    if side == "real":
        module_name = case["handler"]
        module = __import__(module_name, fromlist=["lambda_handler"])
        handler = module.lambda_handler
    else:
        handler = case["bare"]
    answer = handler(case["event"](), LambdaContext())
    if not case["expect"](answer):
        print(f"unexpected answer from {side} {case_name}: {answer}", file=sys.stderr)
        return 1
    return 0


def measure_cold_answers(base_environment: dict[str, str], index_json: bytes, runs: int) -> dict[str, Any]:
    """Median seconds of a whole process answering one event, real and bare, per case.

    Samples alternate real and bare so that both meet the same machine noise.
    """
    import statistics
    import subprocess  # nosec B404 - this interpreter, on this module
    import tempfile
    import time

    with tempfile.NamedTemporaryFile(suffix=".json") as fixture:
        fixture.write(index_json)
        fixture.flush()
        figures: dict[str, Any] = {}
        for case in CASES:
            env = {**os.environ, **base_environment, **CASES[case]["environment"]}
            samples: dict[str, list[float]] = {"real": [], "bare": []}
            for _ in range(runs):
                for side, timings in samples.items():
                    command = [sys.executable, "-m", "bench.cold", case, side, fixture.name]
                    started = time.perf_counter()
                    # The handlers' log lines are not the benchmark's output.
                    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)  # noqa: S603  # nosec B603
                    timings.append(time.perf_counter() - started)
            real, bare = (statistics.median(samples[side]) for side in ("real", "bare"))
            figures[case] = {"real": real, "bare": bare, "ratio": real / bare}
    return figures


if __name__ == "__main__":
    sys.exit(main())
