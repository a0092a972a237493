"""POST /consultations through the handler the template names, against the template's tables in moto."""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest
from boto3.dynamodb.types import TypeDeserializer

from clinic.consultations.models import ConsultationRequest
from clinic.consultations.proof_of_work import ChallengeIssuer, ChallengePolicy, ProofOfWork
from clinic.consultations.service import ConsultationService, SubmissionPolicy
from clinic.consultations.store import LeadStore
from clinic.leads.record import StoredLead
from clinic_infra.template import StackTemplate
from tests import faults
from tests.helpers import http_event
from tests.integration.conftest import Hooks, altcha_from, invoke, load_handler

ULID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")
REFERENCE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$")
VALID: dict[str, Any] = {
    "name": "Ada Lovelace",
    "email": "ada@example.com",
    "phone": "(415) 555-2671",
    "preferred_contact": "text",
    "preferred_time": "evening",
    "concerns": ["depression", "ptsd"],
    "message": "I would like to know more.",
    "consent": True,
    "source": {"page": "/articles/ketamine-for-treatment-resistant-depression/", "utm_source": "newsletter"},
}
_deserializer = TypeDeserializer()
PASSED = ProofOfWork()  # what the spam tests give a request that passes them (no solution to record)


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    return {key: _deserializer.deserialize(value) for key, value in item.items()}


def _scan(table: str) -> list[dict[str, Any]]:
    return [_plain(item) for item in boto3.client("dynamodb").scan(TableName=table)["Items"]]


Post = Callable[..., dict[str, Any]]


@pytest.fixture
def handler(stack: StackTemplate, monkeypatch: pytest.MonkeyPatch) -> Any:
    return load_handler(stack, "ConsultationsFunction", monkeypatch)


@pytest.fixture
def post(handler: Any) -> Post:
    """POST a body (a dict is sent as JSON) as API Gateway would deliver it."""

    def send(
        body: dict[str, Any] | str | bytes,
        *,
        content_type: str = "application/json",
        key: str | None = None,
        source_ip: str = "203.0.113.7",
        base64_body: bool = False,
    ) -> dict[str, Any]:
        headers = {"content-type": content_type, **({"idempotency-key": key} if key else {})}
        text = json.dumps(body) if isinstance(body, dict) else body
        event = http_event(
            "POST", "/consultations", headers=headers, body=text, base64_body=base64_body, source_ip=source_ip
        )
        return invoke(handler, event)

    return send


def _json(response: dict[str, Any]) -> Any:
    return json.loads(response["body"])


def _leads(stack: StackTemplate) -> list[dict[str, Any]]:
    return _scan(stack.refs["LeadsTable"])


def _service(
    stack: StackTemplate, rate_limit: int, clock: Callable[[], float] = time.time
) -> ConsultationService:
    """The service on the template's tables, with a test's own rate limit and clock."""
    policy = SubmissionPolicy(
        rate_limit=rate_limit,
        rate_window_seconds=3600,
        retention_days=30,
        consent_version="v1",
        idempotency_seconds=86400,
    )
    challenges = ChallengeIssuer(
        lambda: b"challenge", ChallengePolicy(cost=10, max_number=100, expiry_seconds=60)
    )
    store = LeadStore(stack.refs["LeadsTable"], stack.refs["GuardTable"])
    return ConsultationService(store, policy, lambda: b"secret", challenges, clock)


# ---------------------------------------------------------------- success


def test_valid_request_is_stored_once_with_what_the_service_adds(
    post: Post, handler: Any, stack: StackTemplate
) -> None:
    before = datetime.now(UTC)
    response = post({**VALID, "altcha": altcha_from(handler)})
    body = _json(response)
    assert response["statusCode"] == 201
    assert body["status"] == "received"
    assert ULID.match(body["id"])
    (lead,) = _leads(stack)
    assert lead["id"] == body["id"]
    assert REFERENCE.match(body["reference"])
    assert lead["reference"] == body["reference"]  # what the patient is told is what staff look up
    assert lead["status"] == "new"
    assert lead["name"] == "Ada Lovelace"
    assert lead["phone"] == "+14155552671"
    assert lead["preferred_contact"] == "text"
    assert lead["concerns"] == ["depression", "ptsd"]
    assert lead["source"] == VALID["source"]
    assert lead["consent"]["version"] == "2026-11-01"
    assert datetime.fromisoformat(lead["consent"]["given_at"]) >= before.replace(microsecond=0)
    assert lead["created_at"] == lead["consent"]["given_at"]
    retention = int(lead["expires_at"]) - before.timestamp()
    assert 365 * 86400 - 5 < retention < 365 * 86400 + 5
    assert "website" not in lead
    assert "altcha" not in lead  # the solution is recorded as used in the guard table, not kept
    assert "quarantine_reason" not in lead
    assert lead["notify_state"] == "pending"


def test_a_patient_who_gave_both_channels_without_choosing_is_stored_with_no_preference(
    post: Post, stack: StackTemplate
) -> None:
    assert post({k: v for k, v in VALID.items() if k != "preferred_contact"})["statusCode"] == 201
    (lead,) = _leads(stack)
    assert "preferred_contact" not in lead
    assert StoredLead.from_item(lead).preferred_contact is None
    assert (lead["email"], lead["phone"]) == ("ada@example.com", "+14155552671")


def test_the_client_is_stored_as_a_keyed_hash_never_its_address(post: Post, stack: StackTemplate) -> None:
    post(VALID, source_ip="198.51.100.23")
    (lead,) = _leads(stack)
    assert re.fullmatch(r"[0-9a-f]{64}", lead["client_hash"])
    stored = json.dumps([*_leads(stack), *_scan(stack.refs["GuardTable"])], default=str)
    assert "198.51.100.23" not in stored
    # a plain (unkeyed) hash of the address would be guessable; this is not it
    import hashlib

    assert hashlib.sha256(b"198.51.100.23").hexdigest() not in stored


def test_plain_form_post_is_stored_and_redirected_to_the_thank_you_page(
    post: Post, stack: StackTemplate
) -> None:
    form = urlencode(
        [
            ("name", "Grace Hopper"),
            ("phone", "415-555-2671"),
            ("email", ""),
            ("concerns", "anxiety"),
            ("concerns", "ocd"),
            ("consent", "true"),
            ("source.utm_campaign", "fall"),
        ]
    )
    response = post(form, content_type="application/x-www-form-urlencoded", base64_body=True)
    assert response["statusCode"] == 303
    (lead,) = _leads(stack)
    assert REFERENCE.match(lead["reference"])
    assert (
        response["headers"]["Location"]
        == f"https://www.example-clinic.com/thank-you/#reference={lead['reference']}"
    )
    assert lead["name"] == "Grace Hopper"
    assert lead["concerns"] == ["anxiety", "ocd"]
    assert "preferred_contact" not in lead  # no preference, not a guess
    assert lead["source"] == {"utm_campaign": "fall"}


def test_plain_form_failure_is_a_readable_page_that_does_not_echo(post: Post, stack: StackTemplate) -> None:
    form = urlencode([("name", "Grace"), ("email", "grace-at-navy"), ("message", "secret-words")])
    response = post(form, content_type="application/x-www-form-urlencoded")
    assert response["statusCode"] == 422
    assert response["headers"]["Content-Type"] == "text/html; charset=utf-8"
    page = response["body"]
    assert "<li><strong>Email</strong>: Enter a valid email address" in page
    assert "<li><strong>Consent</strong>:" in page
    assert "grace-at-navy" not in page
    assert "secret-words" not in page
    assert _leads(stack) == []


@pytest.mark.parametrize(
    ("form", "status"),
    [("name=a&name=b&consent=true", 422), ("message=" + "x" * 17000, 413), ("source=x&source.page=y", 422)],
)
def test_plain_form_errors_found_while_reading_are_pages_too(post: Post, form: str, status: int) -> None:
    response = post(form, content_type="application/x-www-form-urlencoded")
    assert response["statusCode"] == status
    assert response["headers"]["Content-Type"] == "text/html; charset=utf-8"
    assert "<h1>Please check your request</h1>" in response["body"]


def test_plain_form_with_a_malformed_idempotency_key_gets_the_page_too(
    post: Post, stack: StackTemplate
) -> None:
    form = urlencode([("name", "Grace Hopper"), ("phone", "415-555-2671"), ("consent", "true")])
    response = post(form, content_type="application/x-www-form-urlencoded", key="not a valid key!")
    assert response["statusCode"] == 422
    assert response["headers"]["Content-Type"] == "text/html; charset=utf-8"
    assert (
        "<li><strong>Form</strong>: Use 1 to 64 letters, digits, hyphens or underscores.</li>"
        in response["body"]
    )
    assert "not a valid key!" not in response["body"]
    assert _leads(stack) == []


# ---------------------------------------------------------------- every error status


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        ("{broken", "application/json", 400, "bad_request"),
        (b"\xff\xfe\xfd", "application/json", 400, "bad_request"),
        (
            {"message": "x" * 17000, **{k: v for k, v in VALID.items() if k != "message"}},
            "application/json",
            413,
            "payload_too_large",
        ),
        ("name=Ada", "text/plain", 415, "unsupported_media_type"),
        (
            '--b\r\nContent-Disposition: form-data; name="name"\r\n\r\nAda\r\n--b--',
            "multipart/form-data; boundary=b",
            415,
            "unsupported_media_type",
        ),
        ("--b--", "multipart/form-data", 415, "unsupported_media_type"),
        ({**VALID, "consent": "true"}, "application/json", 422, "validation_error"),
    ],
)
def test_bad_input_gets_its_4xx_and_the_envelope_and_stores_nothing(
    post: Post, stack: StackTemplate, body: Any, content_type: str, status: int, code: str
) -> None:
    response = post(body, content_type=content_type)
    assert response["statusCode"] == status
    assert _json(response)["error"]["code"] == code
    assert response["headers"]["Content-Type"] == "application/json"
    assert _leads(stack) == []


def test_validation_error_lists_each_field_without_echoing_values(post: Post) -> None:
    response = post({"name": "", "email": "not-an-email-canary", "consent": 1, "shoe_size": 9})
    error = _json(response)["error"]
    assert response["statusCode"] == 422
    assert {problem["field"] for problem in error["fields"]} == {"name", "email", "consent", "shoe_size"}
    assert "not-an-email-canary" not in response["body"]


def test_bad_idempotency_key_is_422(post: Post, stack: StackTemplate) -> None:
    response = post(VALID, key="has spaces and is not allowed")
    assert response["statusCode"] == 422
    assert _json(response)["error"]["fields"] == [
        {"field": "idempotency-key", "message": "Use 1 to 64 letters, digits, hyphens or underscores."}
    ]
    assert _leads(stack) == []


# ---------------------------------------------------------------- spam and abuse


def test_filled_honeypot_looks_like_success_and_is_quarantined_not_dropped(
    post: Post, handler: Any, stack: StackTemplate, capsys: pytest.CaptureFixture[str]
) -> None:
    response = post({**VALID, "website": "http://cheap-pills.example", "altcha": altcha_from(handler)})
    assert response["statusCode"] == 201
    assert set(_json(response)) == {"id", "reference", "status"}  # looks like any success
    assert REFERENCE.match(_json(response)["reference"])
    (lead,) = _leads(stack)
    assert (lead["id"], lead["reference"]) == (_json(response)["id"], _json(response)["reference"])
    assert (lead["status"], lead["quarantine_reason"]) == ("quarantined", "honeypot")
    assert "notify_state" not in lead
    assert '"LeadQuarantined":[1.0]' in capsys.readouterr().out


def test_honeypot_on_an_invalid_request_gets_the_usual_422_and_stores_nothing(
    post: Post, stack: StackTemplate
) -> None:
    response = post({**VALID, "website": "http://spam.example", "preferred_time": "midnight"})
    assert response["statusCode"] == 422
    assert [problem["field"] for problem in _json(response)["error"]["fields"]] == ["preferred_time"]
    assert _leads(stack) == []


def test_honeypot_on_a_valid_plain_form_looks_like_success(post: Post, stack: StackTemplate) -> None:
    honest = post("name=Ada&phone=4155552671&consent=true", content_type="application/x-www-form-urlencoded")
    response = post(
        "website=x&name=Bot&phone=4155552671&consent=true", content_type="application/x-www-form-urlencoded"
    )
    assert response["statusCode"] == 303
    # The same thank-you page (only the reference in its fragment differs)
    assert response["headers"]["Location"].split("#")[0] == honest["headers"]["Location"].split("#")[0]
    reasons = {lead["name"]: lead.get("quarantine_reason") for lead in _leads(stack)}
    assert reasons == {"Bot": "honeypot", "Ada": "proof_of_work_missing"}  # the default: no JavaScript


def test_sixth_request_in_an_hour_is_rate_limited(
    post: Post, stack: StackTemplate, capsys: pytest.CaptureFixture[str]
) -> None:
    for _ in range(5):
        assert post(VALID)["statusCode"] == 201
    response = post(VALID)
    assert response["statusCode"] == 429
    assert _json(response)["error"]["code"] == "rate_limited"
    assert 0 < int(response["headers"]["Retry-After"]) <= 3600
    assert len(_leads(stack)) == 5
    assert '"LeadRateLimited":[1.0]' in capsys.readouterr().out
    # another client is not affected
    assert post(VALID, source_ip="192.0.2.200")["statusCode"] == 201


def test_rate_limit_window_opens_again_when_it_ends(stack: StackTemplate, aws: None) -> None:
    now = [1_800_000_000.0]  # on a window boundary
    service = _service(stack, rate_limit=2, clock=lambda: now[0])
    request = ConsultationRequest.model_validate(VALID)
    service.submit(request, idempotency_key=None, source_ip="203.0.113.9", spam_test=PASSED)
    service.submit(request, idempotency_key=None, source_ip="203.0.113.9", spam_test=PASSED)
    now[0] += 3599
    with pytest.raises(Exception, match="Too many requests") as raised:
        service.submit(request, idempotency_key=None, source_ip="203.0.113.9", spam_test=PASSED)
    assert raised.value.retry_after == 1  # type: ignore[attr-defined]
    now[0] += 1
    assert service.submit(request, idempotency_key=None, source_ip="203.0.113.9", spam_test=PASSED).lead_id


def test_rate_limit_and_idempotency_records_never_look_like_leads(post: Post, stack: StackTemplate) -> None:
    post(VALID, key="key-1")
    guard = _scan(stack.refs["GuardTable"])
    # (and the contact hashes that find repeat requests: tests/integration/test_repeats.py)
    assert sorted(item["pk"].split("#")[0] for item in guard) == ["contact", "contact", "idem", "rate"]
    for item in guard:
        assert not {"name", "email", "phone", "message", "status", "id"} & set(item)
    assert len(_leads(stack)) == 1


# ---------------------------------------------------------------- idempotency


def test_same_key_and_body_returns_the_first_answer_and_stores_nothing_new(
    post: Post, stack: StackTemplate
) -> None:
    first = post(VALID, key="form-view-1")
    again = post({**VALID, "name": "  Ada Lovelace  "}, key="form-view-1")  # same after trimming
    assert again["statusCode"] == 201
    assert _json(again) == _json(first)
    assert len(_leads(stack)) == 1


def test_same_key_with_another_body_is_409(post: Post, stack: StackTemplate) -> None:
    post(VALID, key="form-view-2")
    response = post({**VALID, "message": "Something else"}, key="form-view-2")
    assert response["statusCode"] == 409
    assert _json(response)["error"]["code"] == "idempotency_conflict"
    assert len(_leads(stack)) == 1


def test_replays_do_not_count_against_the_rate_limit(post: Post, stack: StackTemplate) -> None:
    for _ in range(8):
        assert post(VALID, key="double-clicker")["statusCode"] == 201
    assert len(_leads(stack)) == 1


def test_expired_key_can_be_used_again(stack: StackTemplate, aws: None) -> None:
    now = [1_800_000_000.0]
    service = _service(stack, rate_limit=5, clock=lambda: now[0])
    request = ConsultationRequest.model_validate(VALID)
    first = service.submit(request, idempotency_key="k", source_ip="203.0.113.9", spam_test=PASSED)
    now[0] += 86400  # a day later the record has expired, even if TTL has not deleted it yet
    second = service.submit(request, idempotency_key="k", source_ip="203.0.113.9", spam_test=PASSED)
    assert second.lead_id != first.lead_id
    assert not second.replayed


def test_lost_write_response_stores_one_lead_and_answers_success(
    boto_hooks: Hooks, post: Post, stack: StackTemplate
) -> None:
    fault = faults.inject(boto_hooks, "dynamodb.TransactWriteItems", faults.lost_response())
    response = post(VALID)
    assert len(fault.calls) == 2  # the write was applied, its answer lost, and botocore retried
    assert response["statusCode"] == 201
    (lead,) = _leads(stack)
    assert lead["id"] == _json(response)["id"]


def test_lost_write_response_with_a_key_answers_with_the_stored_lead(
    boto_hooks: Hooks, post: Post, stack: StackTemplate
) -> None:
    faults.inject(boto_hooks, "dynamodb.TransactWriteItems", faults.lost_response())
    response = post(VALID, key="lost-answer")
    assert response["statusCode"] == 201
    (lead,) = _leads(stack)
    assert lead["id"] == _json(response)["id"]
    assert post(VALID, key="lost-answer")["body"] == response["body"]


def test_two_racing_identical_requests_store_one_lead(stack: StackTemplate, boto_hooks: Hooks) -> None:
    # Given two requests with the same key, the first paused after finding no earlier answer
    first_has_read, second_is_done = threading.Event(), threading.Event()

    def pause_first_reader(**_: Any) -> None:
        if threading.current_thread().name == "first" and not first_has_read.is_set():
            first_has_read.set()
            second_is_done.wait(timeout=10)

    boto_hooks("after-call.dynamodb.GetItem", pause_first_reader)
    service = _service(stack, rate_limit=5)
    request = ConsultationRequest.model_validate(VALID)
    results: dict[str, Any] = {}

    def submit(name: str) -> None:
        results[name] = service.submit(
            request, idempotency_key="racing", source_ip="203.0.113.9", spam_test=PASSED
        )

    first = threading.Thread(target=submit, args=("first",), name="first")
    first.start()
    assert first_has_read.wait(timeout=10)
    # When the second stores its lead while the first is between its read and its write
    submit("second")
    second_is_done.set()
    first.join(timeout=10)
    # Then both answer with the one lead that was stored
    assert results["first"].lead_id == results["second"].lead_id
    assert results["first"].replayed
    assert len(_leads(stack)) == 1


@pytest.mark.parametrize(
    ("key", "reasons"),
    [
        ("contended", ("None", "TransactionConflict", "None")),  # another write on the key's claim
        (None, ("TransactionConflict", "None")),  # the same client's rate counter, at the same time
    ],
)
def test_a_transaction_conflict_is_retried_and_stores_one_lead(
    boto_hooks: Hooks, post: Post, stack: StackTemplate, key: str | None, reasons: tuple[str, ...]
) -> None:
    # DynamoDB cancels a transaction that meets another on one item; the embedded DynamoDB,
    # taking one request at a time, never does, so this is the only place it is shown.
    fault = faults.inject(boto_hooks, "dynamodb.TransactWriteItems", faults.cancelled(*reasons))
    response = post(VALID, key=key)
    assert len(fault.calls) == 2  # cancelled once, then carried out
    assert response["statusCode"] == 201
    (lead,) = _leads(stack)
    assert lead["id"] == _json(response)["id"]


# ---------------------------------------------------------------- dependency failure


@pytest.mark.parametrize(
    "fault",
    [
        lambda: faults.aws_error("ProvisionedThroughputExceededException"),
        lambda: faults.aws_error("ThrottlingException"),
        lambda: faults.aws_error("InternalServerError", 500),
        lambda: faults.aws_error("KMSAccessDeniedException"),
        faults.unreachable,
    ],
)
def test_dynamodb_failure_is_503_with_retry_after_and_nothing_half_written(
    boto_hooks: Hooks,
    post: Post,
    stack: StackTemplate,
    fault: Callable[[], Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    faults.inject(boto_hooks, "dynamodb.TransactWriteItems", fault())
    response = post(VALID, key="retry-me")
    assert response["statusCode"] == 503
    assert _json(response)["error"]["code"] == "service_unavailable"
    assert int(response["headers"]["Retry-After"]) > 0
    assert _leads(stack) == []
    assert _scan(stack.refs["GuardTable"]) == []
    assert '"LeadStoreFailed":[1.0]' in capsys.readouterr().out


def test_retry_after_a_503_with_the_same_key_succeeds_once(
    boto_hooks: Hooks, post: Post, stack: StackTemplate
) -> None:
    faults.inject(boto_hooks, "dynamodb.TransactWriteItems", faults.aws_error("ThrottlingException", times=1))
    assert post(VALID, key="patient-retry")["statusCode"] == 503
    retried = post(VALID, key="patient-retry")
    assert retried["statusCode"] == 201
    assert post(VALID, key="patient-retry")["body"] == retried["body"]
    assert len(_leads(stack)) == 1


def test_unreadable_client_hash_secret_is_503(boto_hooks: Hooks, post: Post, stack: StackTemplate) -> None:
    faults.inject(boto_hooks, "secrets-manager.GetSecretValue", faults.unreachable())
    response = post(VALID)
    assert response["statusCode"] == 503
    assert _leads(stack) == []


# ---------------------------------------------------------------- privacy


@pytest.fixture
def canaries() -> dict[str, str]:
    return {
        "name": "Canaryname Qzxv",
        "email": "canary.qzxv.mail@example.org",
        "phone": "415 555 0176",
        "phone_e164": "+14155550176",
        "message": "canary-message-qzxv",
        "page": "/canary-page-qzxv/",
        "referrer": "https://canary-referrer-qzxv.example/",
        "utm": "canary-utm-qzxv",
        "ip": "198.51.100.177",
        "key": "canary-key-qzxv",
    }


def test_no_patient_value_or_address_appears_in_any_log_line(
    post: Post,
    handler: Any,
    canaries: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("DEBUG")
    submission = {
        "name": canaries["name"],
        "email": canaries["email"],
        "phone": canaries["phone"],
        "preferred_contact": "phone",
        "concerns": ["anxiety"],
        "message": canaries["message"],
        "consent": True,
        "source": {
            "page": canaries["page"],
            "referrer": canaries["referrer"],
            "utm_source": canaries["utm"],
            "utm_medium": canaries["utm"],
            "utm_campaign": canaries["utm"],
            "utm_term": canaries["utm"],
            "utm_content": canaries["utm"],
        },
    }
    # Given every path a submission can take: stored, replayed, conflicting, invalid, spam
    # (honeypot; no, a bad or a used solution), form
    solved = {**submission, "altcha": altcha_from(handler)}
    assert post(solved, key=canaries["key"], source_ip=canaries["ip"])["statusCode"] == 201
    post(solved, key=canaries["key"], source_ip=canaries["ip"])
    post(solved, source_ip=canaries["ip"])
    post(submission, source_ip=canaries["ip"])
    post({**submission, "altcha": canaries["message"]}, source_ip=canaries["ip"])
    post({**submission, "message": canaries["message"] + "2"}, key=canaries["key"], source_ip=canaries["ip"])
    post({**submission, "email": canaries["email"] + "@@", "consent": 1}, source_ip=canaries["ip"])
    post({**submission, "website": canaries["utm"]}, source_ip=canaries["ip"])
    post(
        urlencode({"name": canaries["name"], "message": canaries["message"]}),
        content_type="application/x-www-form-urlencoded",
        source_ip=canaries["ip"],
    )
    post(
        base64.b64encode(canaries["message"].encode() + b"\xff").decode(),
        base64_body=True,
        source_ip=canaries["ip"],
    )
    # Then no log line, metric or warning holds any of it
    captured = capsys.readouterr()
    logs = captured.out + captured.err + caplog.text
    assert "Lead stored" in logs  # the logs were captured
    assert "Lead quarantined" in logs
    for canary in canaries.values():
        assert canary not in logs
        assert canary.lower() not in logs.lower()


# ---------------------------------------------------------------- every problem at once, on the clinic's page

FORM = "application/x-www-form-urlencoded"
FORM_FIELDS = [("name", "Grace Hopper"), ("phone", "415-555-2671"), ("consent", "true")]


def _style_hash(page: str) -> str:
    (style,) = re.findall(r"<style>(.*?)</style>", page, re.S)
    return base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()


def _looks_like_the_clinics_page(response: dict[str, Any]) -> str:
    """The page's text, after checking what every failure page carries."""
    page = response["body"]
    assert response["headers"]["Content-Type"] == "text/html; charset=utf-8"
    policy = response["headers"]["Content-Security-Policy"]
    assert f"style-src 'sha256-{_style_hash(page)}'" in policy  # the inline style, and only it
    assert "default-src 'none'" in policy
    assert "<header><p>Example Ketamine Clinic</p></header>" in page
    assert '<a class="button" href="https://www.example-clinic.com/consultation/">' in page
    assert "call <strong>911</strong>" in page
    assert "call or text <strong>988</strong>" in page
    return page


def test_an_empty_json_request_hears_of_every_problem_at_once(post: Post) -> None:
    response = post({})
    assert response["statusCode"] == 422
    assert _json(response)["error"]["fields"] == [
        {"field": "name", "message": "Enter your name, up to 100 characters."},
        {"field": "email", "message": "Give an email address or a phone number so that we can reply."},
        {"field": "consent", "message": "Please agree to be contacted so that we can reply to your request."},
    ]


def test_other_problems_do_not_hide_a_preferred_channel_that_was_not_given(post: Post) -> None:
    response = post({"name": "", "email": "ada@example.com", "preferred_contact": "text", "consent": True})
    fields = [problem["field"] for problem in _json(response)["error"]["fields"]]
    assert fields == ["name", "phone"]


def test_an_empty_plain_form_gets_every_problem_on_the_clinics_page(post: Post, stack: StackTemplate) -> None:
    response = post("name=&email=&phone=&preferred_time=any", content_type=FORM)
    assert response["statusCode"] == 422
    page = _looks_like_the_clinics_page(response)
    assert "<h1>Please check your request</h1>" in page
    for label in ("Name", "Email", "Consent"):
        assert f"<li><strong>{label}</strong>:" in page
    assert "Give an email address or a phone number" in page
    assert _leads(stack) == []


def test_a_rate_limited_plain_form_says_when_to_try_again_and_whom_to_call(post: Post) -> None:
    for _ in range(5):
        assert post(urlencode(FORM_FIELDS), content_type=FORM)["statusCode"] == 303
    response = post(urlencode(FORM_FIELDS), content_type=FORM)
    assert response["statusCode"] == 429
    page = _looks_like_the_clinics_page(response)
    wait = int(response["headers"]["Retry-After"])
    expected = "in a minute or two" if wait < 90 else f"in about {math.ceil(wait / 60)} minutes"
    assert f"Please try again {expected}." in page
    assert "If you would rather not wait, call us at (555) 010-0100" in page


def test_an_unavailable_store_tells_a_plain_form_to_try_again_shortly_and_whom_to_call(
    boto_hooks: Hooks, post: Post, stack: StackTemplate
) -> None:
    faults.inject(boto_hooks, "dynamodb.TransactWriteItems", faults.aws_error("ThrottlingException"))
    response = post(urlencode(FORM_FIELDS), content_type=FORM)
    assert response["statusCode"] == 503
    page = _looks_like_the_clinics_page(response)
    assert "<h1>Please try again shortly</h1>" in page
    assert "nothing was saved. Please try again in a minute or two." in page
    assert "If you would rather not wait, call us at (555) 010-0100" in page
    assert int(response["headers"]["Retry-After"]) > 0
    assert _leads(stack) == []
