"""Privacy canary: unique values in every field of real submissions, traced through the local stack.

After the notifier and the sweeper have run, each canary may be only where docs/api.md and the README let
it be: in the lead itself (encrypted table) and, as far as the detail level allows, in the
staff email. Never in a log line, a metric, a topic message, an error answer or the
patient's confirmation.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlencode

import pytest

from clinic_infra.local.calls import PATIENT_ADDRESS
from clinic_infra.local.stack import LocalStack
from tests.helpers import altcha_from_api

CANARIES = {
    "name": "Zqxcanary Name",
    "email": "zqx.canary.mail@example.org",
    "phone_digits": "4155550163",
    "message": "zqx-canary-message words",
    "page": "/zqx-canary-page/",
    "referrer": "https://zqx-canary-referrer.example/",
    "utm": "zqx-canary-utm",
}
SUBMISSION = {
    "name": CANARIES["name"],
    "email": CANARIES["email"],
    "phone": "(415) 555-0163",
    "preferred_contact": "phone",
    "preferred_time": "morning",
    "concerns": ["ptsd"],
    "message": CANARIES["message"],
    "consent": True,
    "source": {
        "page": CANARIES["page"],
        "referrer": CANARIES["referrer"],
        **{f"utm_{part}": CANARIES["utm"] for part in ("source", "medium", "campaign", "term", "content")},
    },
}


def _post(stack: LocalStack, body: bytes, content_type: str, key: str | None = None) -> tuple[int, str]:
    headers = {"content-type": content_type, **({"idempotency-key": key} if key else {})}
    url = f"{stack.api_url}/consultations"
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _contains_canary(text: str) -> list[str]:
    lowered = text.lower()
    found = [name for name, value in CANARIES.items() if value.lower() in lowered]
    if "415" in text and "555" in text and "0163" in text:
        found.append("phone")
    return found


@pytest.fixture(scope="module")
def topic_queue(local_stack: LocalStack) -> str:
    assert local_stack.template is not None
    sqs = local_stack.client("sqs")
    url = sqs.create_queue(QueueName="privacy-canary-topic")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    local_stack.client("sns").subscribe(
        TopicArn=local_stack.template.refs["StaffTopic"], Protocol="sqs", Endpoint=arn,
        Attributes={"RawMessageDelivery": "true"},
    )  # fmt: skip
    return str(url)


def _wait_until_notified(stack: LocalStack, lead_id: str, timeout: float = 30) -> None:
    """Until the notifier has sent every step and marked the lead."""
    assert stack.template is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        item = stack.client("dynamodb").get_item(
            TableName=stack.template.refs["LeadsTable"], Key={"id": {"S": lead_id}}, ConsistentRead=True
        )["Item"]
        if "notified_at" in item:
            return
        time.sleep(0.2)
    raise AssertionError(f"lead {lead_id} was not notified within {timeout} s")


@pytest.fixture(scope="module")
def traced(local_stack: LocalStack, topic_queue: str) -> dict[str, Any]:
    """Submit through every path, let the notifier and the sweeper run, collect what came out."""
    answers: list[str] = []
    invalid = {**SUBMISSION, "email": CANARIES["email"] + "@x", "consent": 1}
    solved = {**SUBMISSION, "altcha": altcha_from_api(local_stack.api_url)}  # notified, as from the site
    status, body = _post(local_stack, json.dumps(solved).encode(), "application/json", key="zqx-key-1")
    assert status == 201
    lead_id = json.loads(body)["id"]
    reference = json.loads(body)["reference"]
    answers.append(body)
    for attempt in (
        (json.dumps(solved).encode(), "application/json", "zqx-key-1"),  # replay
        (json.dumps(solved).encode(), "application/json", None),  # a used solution: quarantined
        (json.dumps(SUBMISSION).encode(), "application/json", None),  # no solution: quarantined
        (json.dumps({**SUBMISSION, "message": "other"}).encode(), "application/json", "zqx-key-1"),  # 409
        (json.dumps(invalid).encode(), "application/json", None),  # 422
        (urlencode({"name": CANARIES["name"], "message": CANARIES["message"]}).encode(),
         "application/x-www-form-urlencoded", None),  # an HTML problems page
        (b"{" + CANARIES["message"].encode(), "application/json", None),  # 400
        (base64.b64encode(CANARIES["name"].encode()), "text/plain", None),  # 415
    ):  # fmt: skip
        status, body = _post(local_stack, *attempt)
        assert status in (201, 400, 409, 415, 422)
        answers.append(body)
    _wait_until_notified(local_stack, lead_id)
    local_stack.schedules["SweeperFunction"].run_once()
    with urllib.request.urlopen(f"{local_stack.api_url}/_local/outbox.json", timeout=10) as response:  # noqa: S310
        emails = json.loads(response.read())
    messages = local_stack.client("sqs").receive_message(QueueUrl=topic_queue, MaxNumberOfMessages=10)
    assert local_stack.config.log_file is not None
    return {
        "lead_id": lead_id,
        "answers": answers,
        "staff": [email for email in emails if reference in email["subject"]],
        "confirmations": [email for email in emails if email["to"] == CANARIES["email"]],
        "topic": [message["Body"] for message in messages.get("Messages", [])],
        "log": local_stack.config.log_file.read_text(encoding="utf-8"),
        "aws_calls": local_stack.config.aws_call_log.read_text(encoding="utf-8")
        if local_stack.config.aws_call_log
        else "",
    }


def test_no_canary_in_any_log_line_or_metric(traced: dict[str, Any]) -> None:
    assert "Lead stored" in traced["log"]  # the functions' logs and metrics were captured
    assert '"LeadCreated"' in traced["log"]
    assert _contains_canary(traced["log"]) == []


def test_no_canary_in_any_answer_the_api_gave(traced: dict[str, Any]) -> None:
    for answer in traced["answers"]:
        assert _contains_canary(answer) == [], answer


def test_no_canary_in_the_topic_message(traced: dict[str, Any]) -> None:
    (message,) = [body for body in traced["topic"] if traced["lead_id"] in body]
    assert set(json.loads(message)) == {"lead_id", "received_at"}
    assert _contains_canary("".join(traced["topic"])) == []


def test_no_canary_in_the_patients_confirmation(traced: dict[str, Any]) -> None:
    (confirmation,) = traced["confirmations"]
    assert _contains_canary(confirmation["subject"] + confirmation["text"]) == []


def test_staff_email_holds_only_what_the_default_minimal_detail_level_allows(traced: dict[str, Any]) -> None:
    (staff,) = traced["staff"]  # one email, the sweeper sent nothing more
    assert _contains_canary(staff["subject"]) == []
    # Nothing the patient typed: staff follow its link to the lead in the console
    assert _contains_canary(staff["text"]) == []
    assert f"/staff#lead={traced['lead_id']}" in staff["text"]


def test_no_canary_in_the_recording_of_aws_calls(traced: dict[str, Any]) -> None:
    # The least-privilege check's recording keeps resource names and condition values only;
    # the patient's address, to which the confirmation went, is recorded as a stand-in.
    assert PATIENT_ADDRESS in traced["aws_calls"]
    assert _contains_canary(traced["aws_calls"]) == []
