"""Privacy canary: unique values in every field of real submissions, traced through the local stack.

After the notifier and the sweeper have run, each canary may be only where docs/api.md and the README let
it be: in the lead itself (encrypted table), as far as the detail level allows in the
staff email, and in what the signed-in staff inbox shows staff. Never in a log line, a metric, a
topic message, an error answer, the patient's confirmation or an audit event. Once staff have
erased the lead (DELETE, or by person), nowhere at all: not in the leads, audit or guard
tables, not in a log line, not in what the staff API answers.
"""

from __future__ import annotations

import base64
import http.client
import json
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest

from clinic_infra.local.calls import PATIENT_ADDRESS
from clinic_infra.local.stack import LocalStack
from tests.helpers import altcha_from_api
from tests.staff import sign_in

# The patients' own address: Linux answers the whole of 127.0.0.0/8 on loopback, so the
# requests can come from an address found nowhere else, as API Gateway's sourceIp.
PATIENT_IP = "127.83.119.47"

CANARIES = {
    "name": "Zqxcanary Name",
    "email": "zqx.canary.mail@example.org",
    "phone_digits": "4155550163",
    "message": "zqx-canary-message words",
    "page": "/zqx-canary-page/",
    "referrer": "https://zqx-canary-referrer.example/",
    "utm": "zqx-canary-utm",
    "ip": PATIENT_IP,
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


# A second patient, whom staff erase by their email address (POST /staff/erasures).
SECOND = {
    "name": "Qjvcanary Second",
    "email": "qjv.canary.second@example.org",
    "phone_digits": "4155550187",
    "message": "qjv-canary-second words",
    "page": "/qjv-canary-page/",
}
SECOND_SUBMISSION = {
    **SUBMISSION,
    "name": SECOND["name"],
    "email": SECOND["email"],
    "phone": "415-555-0187",
    "message": SECOND["message"],
    "source": {"page": SECOND["page"]},
}


def _post(stack: LocalStack, body: bytes, content_type: str, key: str | None = None) -> tuple[int, str]:
    """POST /consultations from the patient's address."""
    headers = {"content-type": content_type, **({"idempotency-key": key} if key else {})}
    api = urlsplit(stack.api_url)
    assert api.hostname is not None
    connection = http.client.HTTPConnection(
        api.hostname, api.port, timeout=30, source_address=(PATIENT_IP, 0)
    )
    try:
        connection.request("POST", "/consultations", body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def _found(text: str, canaries: dict[str, str], phone: tuple[str, ...]) -> list[str]:
    lowered = text.lower()
    found = [name for name, value in canaries.items() if value.lower() in lowered]
    if all(part in text for part in phone):
        found.append("phone")
    return found


def _contains_canary(text: str) -> list[str]:
    return _found(text, CANARIES, ("415", "555", "0163"))


def _contains_any_canary(text: str) -> list[str]:
    """Either patient's values (the second one's prefixed "second.")."""
    return _contains_canary(text) + [
        f"second.{name}" for name in _found(text, SECOND, ("415", "555", "0187"))
    ]


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


# ------------------------------------------------------------ through the staff inbox


def _staff(
    stack: LocalStack,
    token: str,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], str]:
    """One signed-in staff API request: status, headers, body text."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(  # noqa: S310
        f"{stack.api_url}{path}",
        data=data,
        method=method,
        headers={"authorization": f"Bearer {token}", "content-type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, dict(response.headers), response.read().decode("utf-8-sig")
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def _scan(stack: LocalStack, table: str) -> str:
    """Every item of one of the stack's tables, as text."""
    assert stack.template is not None
    paginator = stack.client("dynamodb").get_paginator("scan")
    items = [
        item for page in paginator.paginate(TableName=stack.template.refs[table]) for item in page["Items"]
    ]
    return json.dumps(items)


@pytest.fixture(scope="module")
def worked(local_stack: LocalStack, traced: dict[str, Any]) -> dict[str, Any]:
    """An administrator lists, views, changes and exports the canary lead, refuses bad requests
    that carry canary values, then erases it, and a second patient's lead by their email."""
    token = sign_in(local_stack, "admin@clinic.test")["access"]
    lead_id = traced["lead_id"]
    shown: dict[str, str] = {}  # what staff were shown: the patient's details are theirs to see
    refused: list[str] = []  # answers to bad requests, which must not echo them

    def ok(
        expected: int, method: str, path: str, body: Any = None, **headers: str
    ) -> tuple[dict[str, str], str]:
        status, answer_headers, text = _staff(local_stack, token, method, path, body, headers)
        assert status == expected, (method, path, status, text)
        return answer_headers, text

    _, shown["list"] = ok(200, "GET", "/staff/leads?limit=100")
    headers, shown["detail"] = ok(200, "GET", f"/staff/leads/{lead_id}")
    note = {"status": "contacted", "note": "Called back, left a voicemail; trying again Friday."}
    _, shown["changed"] = ok(200, "PATCH", f"/staff/leads/{lead_id}", note, **{"if-match": headers["ETag"]})
    _, shown["export"] = ok(200, "GET", "/staff/exports/leads.csv")
    current = {"if-match": '"1"'}  # the version after the change: each is refused for its body
    for method, path, body, extra in (
        (
            "PATCH",
            f"/staff/leads/{lead_id}",
            {"note": CANARIES["message"], "status": CANARIES["name"]},
            current,
        ),
        ("PATCH", f"/staff/leads/{lead_id}", {"assignee": CANARIES["email"], "x": CANARIES["utm"]}, current),
        ("POST", "/staff/erasures", {"email": CANARIES["email"] + "@x", "phone": CANARIES["name"]}, {}),
    ):
        status, _, text = _staff(local_stack, token, method, path, body, extra)
        assert status == 422, (method, path, status, text)
        refused.append(text)

    second = {**SECOND_SUBMISSION, "altcha": altcha_from_api(local_stack.api_url)}  # notified
    status, accepted = _post(local_stack, json.dumps(second).encode(), "application/json")
    assert status == 201, accepted
    second_id = json.loads(accepted)["id"]
    _wait_until_notified(local_stack, second_id)
    stored_before = _scan(local_stack, "LeadsTable")

    _, erased = ok(204, "DELETE", f"/staff/leads/{lead_id}")
    _, by_person = ok(200, "POST", "/staff/erasures", {"email": SECOND["email"]})
    # The first patient's quarantined requests (a replayed and a missing proof of work) are theirs
    # too: erasing the person finds them by their hashes, held or not.
    ok(200, "POST", "/staff/erasures", {"email": CANARIES["email"]})
    after = {
        "erased": erased,
        "by_person": by_person,
        "detail": _staff(local_stack, token, "GET", f"/staff/leads/{lead_id}")[2],
        "second_detail": _staff(local_stack, token, "GET", f"/staff/leads/{second_id}")[2],
        "list": ok(200, "GET", "/staff/leads?limit=100")[1],
        "export": ok(200, "GET", "/staff/exports/leads.csv")[1],
        "trail": ok(200, "GET", f"/staff/leads/{lead_id}/audit")[1],
        "second_trail": ok(200, "GET", f"/staff/leads/{second_id}/audit")[1],
    }
    assert local_stack.config.log_file is not None
    return {
        "lead_ids": (lead_id, second_id),
        "shown": shown,
        "refused": refused,
        "stored_before": stored_before,
        "after": after,
        "leads": _scan(local_stack, "LeadsTable"),
        "audit": _scan(local_stack, "AuditTable"),
        "guard": _scan(local_stack, "GuardTable"),
        "log": local_stack.config.log_file.read_text(encoding="utf-8"),
        "aws_calls": local_stack.config.aws_call_log.read_text(encoding="utf-8")
        if local_stack.config.aws_call_log
        else "",
    }


def test_the_staff_inbox_shows_staff_the_patients_details(worked: dict[str, Any]) -> None:
    # What the canary is checked against below was there to be found: staff saw it, the table held it.
    for answer in ("list", "detail", "changed", "export"):
        assert "name" in _contains_canary(worked["shown"][answer]), answer
    assert {"email", "phone", "message"} <= set(_contains_canary(worked["shown"]["detail"]))
    assert {"name", "email", "message"} <= set(_contains_canary(worked["stored_before"]))
    assert {"second.name", "second.email", "second.message"} <= set(
        _contains_any_canary(worked["stored_before"])
    )


def test_no_canary_in_a_refused_staff_request_s_answer(worked: dict[str, Any]) -> None:
    for answer in worked["refused"]:
        assert '"validation_error"' in answer
        assert _contains_canary(answer) == [], answer


def test_no_canary_in_any_audit_event(worked: dict[str, Any]) -> None:
    # Every action was recorded (the refused ones too, with their error code), and none with a
    # patient's value: the audit table keeps events for years, erasure or not.
    audit = worked["audit"]
    for action in ("lead.viewed", "lead.updated", "leads.exported", "lead.erased", "person.erased"):
        assert f'"{action}"' in audit, action
    assert '"validation_error"' in audit
    assert _contains_any_canary(audit) == []
    for trail in (worked["after"]["trail"], worked["after"]["second_trail"]):
        assert '"lead.erased"' in trail
        assert _contains_any_canary(trail) == []


def test_after_erasure_no_canary_is_left_in_any_table(worked: dict[str, Any]) -> None:
    for lead_id in worked["lead_ids"]:
        assert lead_id in worked["leads"]  # the erased leads remain, with their id and history
    assert worked["leads"].count('"erased"') >= 2
    for table in ("leads", "audit", "guard"):
        assert _contains_any_canary(worked[table]) == [], table


def test_after_erasure_the_staff_api_shows_no_canary(worked: dict[str, Any]) -> None:
    after = worked["after"]
    assert json.loads(after["by_person"]) == {"erased": 1}
    assert json.loads(after["detail"])["error"]["code"] == "not_found"
    assert json.loads(after["second_detail"])["error"]["code"] == "not_found"
    for name, answer in after.items():
        assert _contains_any_canary(answer) == [], name


def test_no_canary_in_any_log_line_the_stack_wrote_through_erasure(worked: dict[str, Any]) -> None:
    log = worked["log"]
    first, second = worked["lead_ids"]
    # The staff requests went through the gateway to the staff function, and were logged.
    assert f"DELETE /staff/leads/{first} -> 204" in log
    assert "POST /staff/erasures -> 200" in log
    assert f"PATCH /staff/leads/{first} -> 422" in log
    assert f"GET /staff/leads/{second} -> 404" in log
    assert _contains_any_canary(log) == []
    assert _contains_any_canary(worked["aws_calls"]) == []
