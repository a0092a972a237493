"""Privacy canary for quarantined leads, through the local stack: a held request carrying unique
values in every field passes the stream, the staff API (list, view, release), the sweeper and
the daily digest, and then its person is erased. Its values may be in the lead itself and in
the staff API's answers to signed-in staff, nowhere else: no log line, metric, topic message,
staff email or digest. Erasure by person finds the quarantined lead too, by its keyed hashes."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from typing import Any

import pytest
from boto3.dynamodb.types import TypeSerializer

from clinic.consultations.service import new_lead_id
from clinic.leads.record import LeadSource, LeadStatus, StoredLead, contact_hash, new_reference
from clinic_infra.local.stack import LocalStack
from tests.staff import sign_in

CANARIES = {
    "name": "Qvkcanary Held",
    "email": "qvk.canary.held@example.org",
    "message": "qvk-canary-held message",
    "page": "/qvk-canary-page/",
    "utm": "qvk-canary-utm",
}
PHONE = "+14155550177"


def _found(text: str) -> list[str]:
    lowered = text.lower()
    found = [name for name, value in CANARIES.items() if value.lower() in lowered]
    return found + (["phone"] if "5550177" in text or "555-0177" in text else [])


def _hold(stack: LocalStack) -> StoredLead:
    """The lead as intake stores a request that failed a spam test, with its keyed hashes."""
    assert stack.template is not None
    secret = stack.client("secretsmanager").get_secret_value(SecretId=stack.template.refs["ClientHashSecret"])
    key = secret["SecretString"].encode()
    now = datetime.now(UTC)
    lead = StoredLead(
        id=new_lead_id(now.timestamp()),
        created_at=now,
        reference=new_reference(),
        status=LeadStatus.QUARANTINED,
        quarantine_reason="honeypot",
        name=CANARIES["name"],
        email=CANARIES["email"],
        phone=PHONE,
        preferred_contact="email",
        message=CANARIES["message"],
        source=LeadSource(page=CANARIES["page"], utm_source=CANARIES["utm"]),
        email_hash=contact_hash(key, "email", CANARIES["email"]),
        phone_hash=contact_hash(key, "phone", PHONE),
        expires_at=int(now.timestamp()) + 30 * 86400,
    )
    item = {name: TypeSerializer().serialize(value) for name, value in lead.to_item().items()}
    stack.client("dynamodb").put_item(TableName=stack.template.refs["LeadsTable"], Item=item)
    return lead


def _call(stack: LocalStack, method: str, path: str, token: str, body: Any = None, **headers: str) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(  # noqa: S310 - the local API
        f"{stack.api_url}{path}",
        data=data,
        method=method,
        headers={"authorization": f"Bearer {token}", "content-type": "application/json", **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def _outbox(stack: LocalStack) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{stack.api_url}/_local/outbox.json", timeout=10) as response:  # noqa: S310
        return json.loads(response.read())  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def traced(local_stack: LocalStack) -> dict[str, Any]:
    assert local_stack.template is not None
    assert local_stack.config.log_file is not None
    held, waiting = _hold(local_stack), _hold(local_stack)
    time.sleep(3)  # the stream delivers both inserts; the notifier holds them
    token = sign_in(local_stack, "admin@clinic.test")["access"]
    status, page = _call(local_stack, "GET", "/staff/leads?status=quarantined", token)
    assert status == 200
    assert {lead["id"] for lead in page["items"]} >= {held.id, waiting.id}
    assert _call(local_stack, "GET", f"/staff/leads/{held.id}", token)[0] == 200
    status, released = _call(
        local_stack, "POST", f"/staff/leads/{held.id}/release", token, **{"if-match": '"0"'}
    )
    assert (status, released["status"]) == (200, "new")
    assert local_stack.schedules["SweeperFunction"].run_once()["released"] == 1
    assert local_stack.schedules["QuarantineDigestFunction"].run_once()["waiting"] >= 1
    status, erased = _call(local_stack, "POST", "/staff/erasures", token, {"email": CANARIES["email"]})
    assert (status, erased) == (200, {"erased": 2})  # the released lead and the one still held
    table = local_stack.template.refs["LeadsTable"]
    items = [
        local_stack.client("dynamodb").get_item(TableName=table, Key={"id": {"S": lead.id}})["Item"]
        for lead in (held, waiting)
    ]
    emails = _outbox(local_stack)
    return {
        "held": held,
        "items": items,
        "staff": [email for email in emails if held.reference and held.reference in email["subject"]],
        "digests": [email for email in emails if "waiting in quarantine" in email["subject"]],
        # What each email says (the confirmation goes to the patient's address, as for any lead)
        "all_emails": json.dumps([[email["subject"], email["text"]] for email in emails]),
        "log": local_stack.config.log_file.read_text(encoding="utf-8"),
        "aws_calls": local_stack.config.aws_call_log.read_text(encoding="utf-8")
        if local_stack.config.aws_call_log
        else "",
    }


def test_no_canary_of_a_quarantined_lead_in_any_log_line_or_metric(traced: dict[str, Any]) -> None:
    assert "Lead is quarantined or spam; nothing sent" in traced["log"]
    assert '"LeadReleased"' in traced["log"]
    assert '"QuarantineWaiting"' in traced["log"]
    assert _found(traced["log"]) == []


def test_no_canary_in_any_email_the_released_lead_once_and_the_digest_a_count(traced: dict[str, Any]) -> None:
    (staff,) = traced["staff"]  # released: told once
    assert f"#lead={traced['held'].id}" in staff["text"]
    assert traced["digests"]
    assert _found(traced["all_emails"]) == []


def test_erasure_by_person_erases_quarantined_leads_too(traced: dict[str, Any]) -> None:
    for item in traced["items"]:
        assert item["status"]["S"] == "erased"
        assert _found(json.dumps(item)) == []
        assert not {"email_hash", "phone_hash", "name", "message", "source"} & set(item)


def test_no_canary_in_the_recording_of_aws_calls(traced: dict[str, Any]) -> None:
    assert _found(traced["aws_calls"]) == []
