"""Proof of work and quarantine, end to end in moto: the challenge route, the POST's `altcha`
field, the stream and the notifier the template names, and the sweeper behind them.

A request that solved a challenge reaches staff; one that failed a spam test (no, an invalid,
an expired or a used solution, or the honeypot) is answered exactly as a success, stored as
quarantined with its reason, and never notified."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from boto3.dynamodb.types import TypeDeserializer

from clinic.consultations.client_hash import ChallengeKey
from clinic.consultations.proof_of_work import ChallengeIssuer, ChallengePolicy
from clinic_infra.template import StackTemplate
from tests.helpers import FakeLambdaContext, challenge_event, http_event, solved_altcha
from tests.integration.conftest import altcha_from, invoke, load_handler, notifier_event
from tests.integration.test_notifications import sent_emails

LEAD = {
    "name": "Quarantine Patient",
    "email": "quarantine.patient@example.org",
    "phone": "415-555-0177",
    "consent": True,
    "message": "Please call me back",
}
STAFF = "staff@example-clinic.com"


@pytest.fixture
def consultations(stack: StackTemplate, monkeypatch: pytest.MonkeyPatch) -> Any:
    return load_handler(stack, "ConsultationsFunction", monkeypatch, RATE_LIMIT_PER_WINDOW="100")


def _post(
    consultations: Any, body: dict[str, Any] | str, *, form: bool = False, ip: str = "203.0.113.7"
) -> Any:
    content_type = "application/x-www-form-urlencoded" if form else "application/json"
    text = body if isinstance(body, str) else json.dumps(body)
    event = http_event(
        "POST", "/consultations", headers={"content-type": content_type}, body=text, source_ip=ip
    )
    return invoke(consultations, event)


def _lead(stack: StackTemplate, lead_id: str) -> dict[str, Any]:
    item = boto3.client("dynamodb").get_item(TableName=stack.refs["LeadsTable"], Key={"id": {"S": lead_id}})
    return {key: TypeDeserializer().deserialize(value) for key, value in item["Item"].items()}


def _staff_emails() -> list[Any]:
    return [email for email in sent_emails() if email["To"] == STAFF]


def _deliver_everything(stack: StackTemplate, monkeypatch: pytest.MonkeyPatch) -> None:
    """The stream's records to the notifier, then a sweep that finds any lead it left pending
    (every lead is made old enough for the sweeper first)."""
    notifier = load_handler(stack, "NotifierFunction", monkeypatch)
    assert invoke(notifier, notifier_event(stack)) == {"batchItemFailures": []}
    dynamodb = boto3.client("dynamodb")
    for item in dynamodb.scan(TableName=stack.refs["LeadsTable"])["Items"]:
        dynamodb.update_item(
            TableName=stack.refs["LeadsTable"],
            Key={"id": item["id"]},
            UpdateExpression="SET created_at = :old",
            ExpressionAttributeValues={":old": {"S": "2026-01-01T00:00:00.000Z"}},
        )
    sweeper = load_handler(stack, "SweeperFunction", monkeypatch)
    sweeper.sweep_handler({}, FakeLambdaContext(remaining_ms=120_000))


def test_the_challenge_is_the_librarys_signed_and_never_cached(consultations: Any) -> None:
    first, second = invoke(consultations, challenge_event()), invoke(consultations, challenge_event())
    assert first["statusCode"] == 200
    assert first["headers"]["Cache-Control"] == "no-store"
    assert first["headers"]["Content-Type"] == "application/json"
    challenge = json.loads(first["body"])
    assert challenge["parameters"]["algorithm"] == "PBKDF2/SHA-256"
    assert challenge["parameters"]["cost"] == 1000  # the template's ChallengeCost default
    assert 0 < challenge["parameters"]["expiresAt"] - time.time() <= 600  # minutes, not hours
    assert challenge["signature"]
    assert json.loads(second["body"])["signature"] != challenge["signature"]  # one per form view


def test_a_script_that_solves_the_challenge_with_the_library_is_notified(
    stack: StackTemplate, consultations: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    response = _post(consultations, {**LEAD, "altcha": altcha_from(consultations)})
    assert response["statusCode"] == 201
    lead_id = json.loads(response["body"])["id"]
    assert _lead(stack, lead_id)["status"] == "new"
    _deliver_everything(stack, monkeypatch)
    (email,) = _staff_emails()
    assert json.loads(response["body"])["reference"] in email["Subject"]
    assert "notified_at" in _lead(stack, lead_id)


def _tampered(payload: str) -> str:
    decoded = json.loads(base64.b64decode(payload))
    decoded["solution"]["derivedKey"] = "00" * 32
    return base64.b64encode(json.dumps(decoded).encode()).decode()


def _expired(stack: StackTemplate) -> str:
    # Issued with the stack's own key an hour ago: signed, solved, but past its expiry.
    policy = ChallengePolicy(cost=1000, max_number=100, expiry_seconds=600)
    issuer = ChallengeIssuer(
        ChallengeKey(stack.refs["ChallengeSecret"]), policy, clock=lambda: time.time() - 3600
    )
    return solved_altcha(issuer.issue)


def _forged() -> str:
    # Solved, unexpired, but signed with a key that is not the stack's.
    issuer = ChallengeIssuer(
        lambda: b"a guessed key", ChallengePolicy(cost=1000, max_number=100, expiry_seconds=600)
    )
    return solved_altcha(issuer.issue)


Spam = Callable[[StackTemplate, Any], dict[str, Any]]
SPAM: dict[str, tuple[Spam, str]] = {
    "no solution": (lambda stack, handler: {}, "proof_of_work_missing"),
    "an empty solution": (lambda stack, handler: {"altcha": ""}, "proof_of_work_missing"),
    "not a payload": (lambda stack, handler: {"altcha": "bm90IGEgcGF5bG9hZA=="}, "proof_of_work_invalid"),
    "a wrong key": (
        lambda stack, handler: {"altcha": _tampered(altcha_from(handler))},
        "proof_of_work_invalid",
    ),
    "a forged challenge": (lambda stack, handler: {"altcha": _forged()}, "proof_of_work_invalid"),
    "an expired challenge": (lambda stack, handler: {"altcha": _expired(stack)}, "proof_of_work_expired"),
    "the honeypot filled": (
        lambda stack, handler: {"website": "https://cheap.example", "altcha": altcha_from(handler)},
        "honeypot",
    ),
}


@pytest.mark.parametrize("case", list(SPAM))
def test_a_request_failing_a_spam_test_is_answered_as_a_success_and_quarantined_never_notified(
    stack: StackTemplate, consultations: Any, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    make, reason = SPAM[case]
    honest = _post(consultations, {**LEAD, "altcha": altcha_from(consultations)}, ip="198.51.100.1")
    response = _post(consultations, {**LEAD, **make(stack, consultations)})
    # Answered as the honest request was: the same status, headers and fields
    assert response["statusCode"] == honest["statusCode"] == 201
    assert response["headers"] == honest["headers"]
    assert set(json.loads(response["body"])) == set(json.loads(honest["body"]))
    lead = _lead(stack, json.loads(response["body"])["id"])
    assert (lead["status"], lead["quarantine_reason"]) == ("quarantined", reason)
    assert lead["name"] == LEAD["name"]  # kept whole, for staff to release
    assert "notify_state" not in lead
    assert 29 * 86400 < int(lead["expires_at"]) - time.time() <= 30 * 86400  # QuarantineRetentionDays
    # When the stream and the sweeper have run, only the honest lead reached staff
    _deliver_everything(stack, monkeypatch)
    (email,) = _staff_emails()
    assert json.loads(honest["body"])["reference"] in email["Subject"]
    assert "notified_at" not in _lead(stack, lead["id"])


def test_a_solution_works_once_a_replay_is_quarantined(
    stack: StackTemplate, consultations: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    solution = altcha_from(consultations)
    first = _post(consultations, {**LEAD, "altcha": solution})
    replay = _post(consultations, {**LEAD, "name": "Bot Copy", "altcha": solution}, ip="192.0.2.50")
    assert (first["statusCode"], replay["statusCode"]) == (201, 201)
    assert _lead(stack, json.loads(first["body"])["id"])["status"] == "new"
    replayed = _lead(stack, json.loads(replay["body"])["id"])
    assert (replayed["status"], replayed["quarantine_reason"]) == ("quarantined", "proof_of_work_replayed")
    guard = boto3.client("dynamodb").scan(TableName=stack.refs["GuardTable"])["Items"]
    (used,) = [item for item in guard if item["pk"]["S"].startswith("pow#")]
    assert int(used["expires_at"]["N"]) > time.time()  # a TTL: the record goes when the challenge expires
    _deliver_everything(stack, monkeypatch)
    assert len(_staff_emails()) == 1


def test_a_rate_limited_request_does_not_use_up_its_solution(
    stack: StackTemplate, monkeypatch: pytest.MonkeyPatch
) -> None:
    consultations = load_handler(stack, "ConsultationsFunction", monkeypatch, RATE_LIMIT_PER_WINDOW="1")
    assert _post(consultations, LEAD)["statusCode"] == 201
    solution = altcha_from(consultations)
    assert _post(consultations, {**LEAD, "altcha": solution})["statusCode"] == 429
    # Sent again once the patient may (here: from another address), the same solution counts
    retry = _post(consultations, {**LEAD, "altcha": solution}, ip="198.51.100.9")
    assert _lead(stack, json.loads(retry["body"])["id"])["status"] == "new"


FORM = "name=Form+Patient&phone=415-555-0178&consent=on"


@pytest.mark.parametrize(("setting", "status"), [(None, "quarantined"), ("notify", "new")])
def test_a_plain_form_without_javascript_is_quarantined_or_notified_as_the_parameter_says(
    stack: StackTemplate, monkeypatch: pytest.MonkeyPatch, setting: str | None, status: str
) -> None:
    overrides = {"UNSOLVED_FORM_POSTS": setting} if setting else {}
    consultations = load_handler(stack, "ConsultationsFunction", monkeypatch, **overrides)
    response = _post(consultations, FORM, form=True)
    # The same thank-you page either way
    assert response["statusCode"] == 303
    assert response["headers"]["Location"].startswith("https://www.example-clinic.com/thank-you/#reference=")
    (item,) = boto3.client("dynamodb").scan(TableName=stack.refs["LeadsTable"])["Items"]
    assert item["status"]["S"] == status
    _deliver_everything(stack, monkeypatch)
    assert len(_staff_emails()) == (1 if status == "new" else 0)
