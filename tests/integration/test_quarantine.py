"""Quarantined leads: staff see them with their reason, release one (told of it exactly once,
through the stream and the sweeper the template names) or mark it spam."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from clinic.consultations.service import new_lead_id
from clinic.leads.record import LeadStatus, StoredLead, new_reference
from clinic_infra.template import StackTemplate
from tests.helpers import FakeLambdaContext
from tests.integration.conftest import Call, invoke, load_handler, notifier_event
from tests.integration.test_notifications import sent_emails
from tests.integration.test_staff_api import _body, _error, _events

QUARANTINE_DAYS = 30


def put_quarantined_lead(
    stack: StackTemplate, reason: str = "honeypot", *, age: timedelta = timedelta(0), **fields: Any
) -> str:
    """A lead as intake stores one that failed a spam test (its insert reaches the stream)."""
    created = datetime.now(UTC) - age
    values: dict[str, Any] = {
        "name": "Held Patient",
        "email": "held.patient@example.org",
        "preferred_contact": "email",
        **fields,
    }
    lead = StoredLead(
        id=new_lead_id(created.timestamp()),
        created_at=created,
        reference=new_reference(),
        status=LeadStatus.QUARANTINED,
        quarantine_reason=reason,
        expires_at=int(created.timestamp()) + QUARANTINE_DAYS * 86400,
        **values,
    )
    item = {name: TypeSerializer().serialize(value) for name, value in lead.to_item().items()}
    boto3.client("dynamodb").put_item(TableName=stack.refs["LeadsTable"], Item=item)
    time.sleep(0.002)  # distinct milliseconds: ids sort as the leads were made
    return lead.id


def stored(stack: StackTemplate, lead_id: str) -> dict[str, Any]:
    item = boto3.client("dynamodb").get_item(TableName=stack.refs["LeadsTable"], Key={"id": {"S": lead_id}})
    return {name: TypeDeserializer().deserialize(value) for name, value in item["Item"].items()}


def staff_emails() -> list[Any]:
    return [email for email in sent_emails() if email["To"] == "staff@example-clinic.com"]


def _sweep(sweeper: Any) -> dict[str, int]:
    return sweeper.sweep_handler({}, FakeLambdaContext(remaining_ms=120_000))  # type: ignore[no-any-return]


def _release(call: Call, lead_id: str, version: int = 0, who: str = "staff") -> dict[str, Any]:
    return call("POST", f"/staff/leads/{lead_id}/release", who, headers={"if-match": f'"{version}"'})


def test_the_quarantine_view_lists_each_held_lead_with_its_reason_and_the_inbox_does_not(
    stack: StackTemplate, call: Call
) -> None:
    honeypot = put_quarantined_lead(stack, "honeypot")
    replayed = put_quarantined_lead(stack, "proof_of_work_replayed")
    held = _body(call("GET", "/staff/leads", query={"status": "quarantined"}))["items"]
    assert [(lead["id"], lead["quarantine_reason"]) for lead in held] == [
        (replayed, "proof_of_work_replayed"),
        (honeypot, "honeypot"),
    ]
    assert _body(call("GET", "/staff/leads"))["items"] == []
    detail = _body(call("GET", f"/staff/leads/{honeypot}"))
    assert detail["quarantine_reason"] == "honeypot"
    assert detail["next_statuses"] == ["spam"]


def test_a_quarantined_lead_is_never_notified_by_the_stream_or_the_sweeper(
    stack: StackTemplate, monkeypatch: pytest.MonkeyPatch
) -> None:
    lead_id = put_quarantined_lead(stack, age=timedelta(hours=2))
    notifier = load_handler(stack, "NotifierFunction", monkeypatch)
    event = notifier_event(stack)
    assert [record["dynamodb"]["Keys"]["id"]["S"] for record in event["Records"]] == [lead_id]
    assert invoke(notifier, event) == {"batchItemFailures": []}
    sweeper = load_handler(stack, "SweeperFunction", monkeypatch)
    assert _sweep(sweeper) == {"recovered": 0, "released": 0, "failed": 0}
    assert sent_emails() == []
    item = stored(stack, lead_id)
    assert "notify_state" not in item  # not in the pending index at all
    assert "notification_claimed_until" not in item


def test_a_released_lead_becomes_new_and_staff_are_told_exactly_once(
    stack: StackTemplate, call: Call, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a quarantined lead whose insert the notifier has passed over
    lead_id = put_quarantined_lead(stack, "proof_of_work_missing")
    notifier = load_handler(stack, "NotifierFunction", monkeypatch)
    assert invoke(notifier, notifier_event(stack)) == {"batchItemFailures": []}
    assert staff_emails() == []
    # When a staff member releases it
    response = _release(call, lead_id)
    assert response["statusCode"] == 200, response["body"]
    assert response["headers"]["ETag"] == '"1"'
    detail = _body(response)
    assert detail["status"] == "new"
    assert [(entry["status"], entry["by"]) for entry in detail["history"]] == [
        ("new", "sam.staff@example-clinic.com")
    ]
    assert '"LeadReleased":[1.0]' in capsys.readouterr().out
    # And it is kept as long as any lead, no longer as briefly as quarantine keeps it
    item = stored(stack, lead_id)
    created = datetime.fromisoformat(item["created_at"]).timestamp()
    assert int(item["expires_at"]) == int(created) + 365 * 86400
    # Then the sweeper's next run tells staff, though the lead is younger than the sweep age
    sweeper = load_handler(stack, "SweeperFunction", monkeypatch)
    assert _sweep(sweeper) == {"recovered": 0, "released": 1, "failed": 0}
    (email,) = staff_emails()
    assert detail["reference"] in str(email["Subject"])
    out = capsys.readouterr().out
    assert '"NotificationSent":[1.0]' in out
    assert "SweeperRecovered" not in out  # not a stream failure: no alarm
    # And never again: another sweep, the stream's insert redelivered, a second release
    assert _sweep(sweeper) == {"recovered": 0, "released": 0, "failed": 0}
    assert invoke(notifier, notifier_event(stack)) == {"batchItemFailures": []}
    again = _release(call, lead_id, version=1)
    assert again["statusCode"] == 422
    assert _sweep(sweeper) == {"recovered": 0, "released": 0, "failed": 0}
    assert len(staff_emails()) == 1
    item = stored(stack, lead_id)
    assert "notify_state" not in item
    assert "notified_at" in item
    # And the release is in the audit trail, with who did it
    (event,) = [event for event in _events(stack, "lead.released") if event["outcome"] == "success"]
    assert event["lead_id"] == lead_id
    assert event["actor_username"] == "sam.staff@example-clinic.com"


def test_a_stream_retry_of_the_insert_after_the_release_and_the_sweeper_send_once_between_them(
    stack: StackTemplate, call: Call, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A retried stream record can arrive after the release: whichever comes first sends it
    lead_id = put_quarantined_lead(stack)
    assert _release(call, lead_id)["statusCode"] == 200
    notifier = load_handler(stack, "NotifierFunction", monkeypatch)
    assert invoke(notifier, notifier_event(stack)) == {"batchItemFailures": []}
    sweeper = load_handler(stack, "SweeperFunction", monkeypatch)
    assert _sweep(sweeper) == {"recovered": 0, "released": 0, "failed": 0}
    assert invoke(notifier, notifier_event(stack)) == {"batchItemFailures": []}
    assert len(staff_emails()) == 1


def test_a_release_needs_the_current_version_and_a_quarantined_lead(stack: StackTemplate, call: Call) -> None:
    lead_id = put_quarantined_lead(stack)
    no_match = call("POST", f"/staff/leads/{lead_id}/release")
    assert no_match["statusCode"] == 428
    assert _release(call, lead_id, version=3)["statusCode"] == 412
    assert _release(call, "01ARZ3NDEKTSV4RRFFQ69G5FAV")["statusCode"] == 404
    assert stored(stack, lead_id)["status"] == "quarantined"
    # A quarantined lead cannot become new by a plain change: only a release notifies
    patched = call("PATCH", f"/staff/leads/{lead_id}", body={"status": "new"}, headers={"if-match": '"0"'})
    assert patched["statusCode"] == 422
    assert _error(patched) == "validation_error"
    refused = [event["outcome"] for event in _events(stack, "lead.released")]
    assert sorted(refused) == ["not_found", "precondition_failed", "precondition_required"]


def test_someone_without_a_staff_group_cannot_release(stack: StackTemplate, call: Call) -> None:
    lead_id = put_quarantined_lead(stack)
    response = _release(call, lead_id, who="nobody")
    assert response["statusCode"] == 403
    assert _error(response) == "forbidden"
    assert stored(stack, lead_id)["status"] == "quarantined"


def test_marking_a_quarantined_lead_spam_closes_it_without_telling_anyone(
    stack: StackTemplate, call: Call, monkeypatch: pytest.MonkeyPatch
) -> None:
    lead_id = put_quarantined_lead(stack)
    response = call("PATCH", f"/staff/leads/{lead_id}", body={"status": "spam"}, headers={"if-match": '"0"'})
    assert response["statusCode"] == 200, response["body"]
    assert _body(response)["status"] == "spam"
    sweeper = load_handler(stack, "SweeperFunction", monkeypatch)
    assert _sweep(sweeper) == {"recovered": 0, "released": 0, "failed": 0}
    notifier = load_handler(stack, "NotifierFunction", monkeypatch)
    assert invoke(notifier, notifier_event(stack)) == {"batchItemFailures": []}
    assert sent_emails() == []
    assert json.dumps(_body(call("GET", "/staff/leads", query={"status": "quarantined"}))["items"]) == "[]"
