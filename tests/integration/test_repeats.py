"""Repeat requests: the same email or phone within 7 days links the new lead to the earlier one,
and the staff email and the inbox say so (through the handlers the template names)."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest
from boto3.dynamodb.types import TypeDeserializer

from clinic_infra.template import StackTemplate
from tests.helpers import http_event
from tests.integration.conftest import Call, altcha_from, invoke, load_handler, notifier_event
from tests.integration.test_notifications import sent_emails

PATIENT = {
    "name": "Repeat Patient",
    "email": "Repeat.Patient@Example.org",
    "phone": "(415) 555-0166",
    "preferred_contact": "phone",
    "consent": True,
    "message": "Private words",
}


@pytest.fixture
def consultations(stack: StackTemplate, monkeypatch: pytest.MonkeyPatch) -> Any:
    return load_handler(stack, "ConsultationsFunction", monkeypatch, RATE_LIMIT_PER_WINDOW="1000")


def _submit(consultations: Any, **changes: Any) -> str:
    # A person's request, with its proof of work solved (else it is quarantined: test_quarantine.py)
    solved = {"altcha": altcha_from(consultations)}
    fields = {name: value for name, value in {**PATIENT, **solved, **changes}.items() if value is not None}
    event = http_event(
        "POST", "/consultations", headers={"content-type": "application/json"}, body=json.dumps(fields)
    )
    response = invoke(consultations, event)
    assert response["statusCode"] == 201, response["body"]
    time.sleep(0.002)  # distinct milliseconds: ids (ULIDs) sort as the leads were made
    return str(json.loads(response["body"])["id"])


def _lead(stack: StackTemplate, lead_id: str) -> dict[str, Any]:
    item = boto3.client("dynamodb").get_item(TableName=stack.refs["LeadsTable"], Key={"id": {"S": lead_id}})
    return {name: TypeDeserializer().deserialize(value) for name, value in item["Item"].items()}


def _guard_items(stack: StackTemplate) -> list[dict[str, Any]]:
    items = boto3.client("dynamodb").scan(TableName=stack.refs["GuardTable"])["Items"]
    return [{name: TypeDeserializer().deserialize(value) for name, value in item.items()} for item in items]


def test_the_same_email_or_phone_within_the_window_links_to_the_latest_earlier_lead(
    stack: StackTemplate, consultations: Any
) -> None:
    first = _submit(consultations)
    # The same address typed differently, another phone: still the same person
    by_email = _submit(consultations, email="repeat.patient@example.org", phone="(415) 555-0100")
    # Only the phone in common, in another notation
    by_phone = _submit(consultations, email=None, phone="+1 415 555 0166", preferred_contact="text")
    someone_else = _submit(
        consultations, email="other.person@example.org", phone=None, preferred_contact="email"
    )
    # Both in common again: the latest earlier request of either
    again = _submit(consultations)
    assert "repeat_of" not in _lead(stack, first)
    assert _lead(stack, by_email)["repeat_of"] == first
    assert _lead(stack, by_phone)["repeat_of"] == first  # by_email gave another phone
    assert "repeat_of" not in _lead(stack, someone_else)
    assert _lead(stack, again)["repeat_of"] == by_phone


def test_the_guard_table_keeps_only_keyed_hashes_and_forgets_after_7_days(
    stack: StackTemplate, consultations: Any
) -> None:
    first = _submit(consultations)
    contacts = [item for item in _guard_items(stack) if item["pk"].startswith("contact#")]
    assert len(contacts) == 2  # the email's and the phone's
    lead = _lead(stack, first)
    assert {item["pk"] for item in contacts} == {
        f"contact#{lead['email_hash']}",
        f"contact#{lead['phone_hash']}",
    }
    text = json.dumps(contacts, default=str).lower()
    for value in ("repeat.patient", "example.org", "555", "0166"):
        assert value not in text
    created = int(lead["expires_at"]) - 365 * 86400
    assert {int(item["expires_at"]) for item in contacts} == {created + 7 * 86400}
    # Once the window has passed (TTL deletion lags; the record's expiry is what counts)
    for item in contacts:
        boto3.client("dynamodb").update_item(
            TableName=stack.refs["GuardTable"],
            Key={"pk": {"S": item["pk"]}},
            UpdateExpression="SET expires_at = :past",
            ExpressionAttributeValues={":past": {"N": str(created - 1)}},
        )
    assert "repeat_of" not in _lead(stack, _submit(consultations))


def test_staff_are_told_it_is_a_repeat_in_the_email_and_the_inbox(
    stack: StackTemplate, consultations: Any, call: Call, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _submit(consultations)
    second = _submit(consultations)
    notifier = load_handler(stack, "NotifierFunction", monkeypatch)
    assert invoke(notifier, notifier_event(stack)) == {"batchItemFailures": []}
    staff = [email for email in sent_emails() if email["To"] == "staff@example-clinic.com"]
    subjects = sorted(str(email["Subject"]) for email in staff)
    assert [subject.split(" ")[0] for subject in subjects] == ["New", "Repeat"]
    (repeat,) = [email for email in staff if str(email["Subject"]).startswith("Repeat")]
    text = str(repeat.get_body(preferencelist=("plain",)).get_content())  # type: ignore[union-attr]
    assert f"#lead={first}" in text
    assert "Repeat Patient" not in text
    listed = {
        lead["id"]: lead["repeat_of"] for lead in json.loads(call("GET", "/staff/leads")["body"])["items"]
    }
    assert listed == {second: first, first: None}
    assert json.loads(call("GET", f"/staff/leads/{second}")["body"])["repeat_of"] == first


def test_erasing_the_person_removes_the_link_between_their_requests(
    stack: StackTemplate, consultations: Any, call: Call
) -> None:
    _submit(consultations)
    second = _submit(consultations)
    response = call("POST", "/staff/erasures", "admin", body={"email": PATIENT["email"]})
    assert json.loads(response["body"]) == {"erased": 2}
    assert "repeat_of" not in _lead(stack, second)


def test_a_repeat_is_counted(
    stack: StackTemplate, consultations: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    _submit(consultations)
    assert "LeadRepeat" not in capsys.readouterr().out
    _submit(consultations)
    assert '"LeadRepeat":[1.0]' in capsys.readouterr().out


def test_a_quarantined_lead_is_counted_in_all_and_by_its_reason(
    consultations: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from clinic.consultations.service import Accepted
    from clinic.leads.record import QuarantineReason

    # As intake answers a lead it stored quarantined (the handler's own metrics code)
    consultations._count_kind(
        Accepted("01JZ0000000000000000000000", "K7M4-QX2P", quarantine_reason=QuarantineReason.HONEYPOT)
    )
    consultations.metrics.flush_metrics()
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    quarantined = [line for line in lines if "LeadQuarantined" in line]
    dimensions = sorted(tuple(line["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0]) for line in quarantined)
    assert dimensions == [("service",), ("service", "reason")]
    (by_reason,) = [line for line in quarantined if "reason" in line]
    assert by_reason["reason"] == "honeypot"
    assert by_reason["service"] == "consultations"


def _contacts(stack: StackTemplate) -> list[dict[str, Any]]:
    return [item for item in _guard_items(stack) if item["pk"].startswith("contact#")]


def test_erasing_the_person_forgets_their_contact_hashes_so_a_new_request_is_no_repeat(
    stack: StackTemplate, consultations: Any, call: Call
) -> None:
    _submit(consultations)
    assert len(_contacts(stack)) == 2
    response = call("POST", "/staff/erasures", "admin", body={"phone": PATIENT["phone"]})
    assert json.loads(response["body"]) == {"erased": 1}
    assert _contacts(stack) == []
    assert "repeat_of" not in _lead(stack, _submit(consultations))


def test_erasing_one_lead_forgets_only_the_records_that_still_name_it(
    stack: StackTemplate, consultations: Any, call: Call
) -> None:
    first = _submit(consultations)
    # A later request with the same email but another phone now holds the email's record
    later = _submit(consultations, phone="(415) 555-0100")
    assert call("DELETE", f"/staff/leads/{first}", "admin")["statusCode"] == 204
    held = {item["pk"]: item["lead_id"] for item in _contacts(stack)}
    assert sorted(held.values()) == [later, later]  # the first's phone record is gone
    assert _lead(stack, _submit(consultations, phone=None, preferred_contact="email"))["repeat_of"] == later
