"""The consultations service owns validation, the spam tests and storage; its client-hash key
is an object it is given, which reads Secrets Manager only when a request needs it."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from typing import Any

import boto3
import pytest

from clinic.common.errors import ValidationFailed
from clinic.consultations.client_hash import ClientHashKey
from clinic.consultations.intake import read_submission
from clinic.consultations.proof_of_work import ChallengeIssuer, ChallengePolicy
from clinic.consultations.service import ConsultationService, SubmissionPolicy
from clinic.consultations.store import LeadStore
from clinic_infra.template import StackTemplate
from tests.helpers import solved_altcha
from tests.integration.conftest import Hooks

VALID = {"name": "Ada Lovelace", "phone": "(415) 555-2671", "consent": True}
POLICY = SubmissionPolicy(
    rate_limit=5, rate_window_seconds=3600, retention_days=30, consent_version="v1", idempotency_seconds=86400
)


def _reads(boto_hooks: Hooks) -> list[str]:
    """Every GetSecretValue call, from now on."""
    calls: list[str] = []
    boto_hooks("before-call.secrets-manager.GetSecretValue", lambda **_: calls.append("read"))
    return calls


CHALLENGES = ChallengeIssuer(
    lambda: b"challenge key", ChallengePolicy(cost=10, max_number=100, expiry_seconds=60)
)


def _service(stack: StackTemplate, key: Any, policy: SubmissionPolicy = POLICY) -> ConsultationService:
    store = LeadStore(stack.refs["LeadsTable"], stack.refs["GuardTable"])
    return ConsultationService(store, policy, key, CHALLENGES)


def _leads(stack: StackTemplate) -> list[dict[str, Any]]:
    return boto3.client("dynamodb").scan(TableName=stack.refs["LeadsTable"])["Items"]


def _json(fields: dict[str, Any]) -> Any:
    return read_submission("application/json", json.dumps(fields), False)


def test_the_client_hash_key_is_read_on_first_use_and_then_kept(
    stack: StackTemplate, boto_hooks: Hooks
) -> None:
    reads = _reads(boto_hooks)
    secret = boto3.client("secretsmanager").get_secret_value(SecretId=stack.refs["ClientHashSecret"])
    reads.clear()
    key = ClientHashKey(stack.refs["ClientHashSecret"])
    assert reads == []  # a cold start that stores nothing reads no secret
    assert key() == secret["SecretString"].encode()
    assert key() == secret["SecretString"].encode()
    assert reads == ["read"]


def test_the_service_validates_and_stores_through_the_key_it_is_given(
    stack: StackTemplate, boto_hooks: Hooks
) -> None:
    reads = _reads(boto_hooks)
    service = _service(stack, ClientHashKey(stack.refs["ClientHashSecret"]))
    fields = {**VALID, "altcha": solved_altcha(CHALLENGES.issue)}
    accepted = service.receive(_json(fields), idempotency_key=None, source_ip="203.0.113.9")
    assert accepted.quarantine_reason is None
    assert [item["id"]["S"] for item in _leads(stack)] == [accepted.lead_id]
    assert _leads(stack)[0]["status"] == {"S": "new"}
    assert _leads(stack)[0]["phone"] == {"S": "+14155552671"}  # validated: E.164
    assert reads == ["read"]


def test_phone_numbers_without_a_country_code_use_the_policys_region(stack: StackTemplate, aws: None) -> None:
    london = replace(POLICY, default_phone_region="GB")
    _service(stack, lambda: b"key", london).receive(
        _json({**VALID, "phone": "020 7946 0958"}), idempotency_key=None, source_ip="203.0.113.9"
    )
    assert _leads(stack)[0]["phone"] == {"S": "+442079460958"}


def test_a_valid_request_with_the_honeypot_filled_is_answered_and_stored_quarantined_for_a_short_while(
    stack: StackTemplate, aws: None
) -> None:
    service = _service(stack, lambda: b"key")
    fields = {**VALID, "website": "http://spam.example", "altcha": solved_altcha(CHALLENGES.issue)}
    accepted = service.receive(_json(fields), idempotency_key=None, source_ip="203.0.113.9")
    assert accepted.quarantine_reason == "honeypot"  # the first test failed, though the work was done
    (item,) = _leads(stack)
    assert item["id"]["S"] == accepted.lead_id
    assert (item["status"]["S"], item["quarantine_reason"]["S"]) == ("quarantined", "honeypot")
    assert "notify_state" not in item  # not pending: the sweeper never finds it
    # Kept for the quarantine's retention (30 days by default), not a lead's year.
    days = (int(item["expires_at"]["N"]) - time.time()) / 86400
    assert 29.9 < days <= 30


def test_a_plain_form_post_without_a_solution_is_quarantined_or_not_as_the_policy_says(
    stack: StackTemplate, aws: None
) -> None:
    form = "name=Ada+Lovelace&phone=%28415%29+555-2671&consent=on"
    quarantining = _service(stack, lambda: b"key")
    notifying = _service(stack, lambda: b"key", replace(POLICY, notify_unsolved_form_posts=True))
    submission = read_submission("application/x-www-form-urlencoded", form, False)
    assert quarantining.receive(
        submission, idempotency_key=None, source_ip="203.0.113.9"
    ).quarantine_reason == ("proof_of_work_missing")
    assert (
        notifying.receive(submission, idempotency_key=None, source_ip="203.0.113.8").quarantine_reason is None
    )
    # Only a form: a script's JSON without a solution is quarantined whatever the policy.
    script = notifying.receive(_json(VALID), idempotency_key=None, source_ip="203.0.113.7")
    assert script.quarantine_reason == "proof_of_work_missing"


def test_an_invalid_request_is_refused_by_the_service_honeypot_or_not(
    stack: StackTemplate, aws: None
) -> None:
    service = _service(stack, lambda: b"key")
    for fields in (
        {**VALID, "preferred_time": "midnight"},
        {**VALID, "preferred_time": "midnight", "website": "x"},
    ):
        with pytest.raises(ValidationFailed) as raised:
            service.receive(_json(fields), idempotency_key=None, source_ip="203.0.113.9")
        assert [problem.field for problem in raised.value.fields or []] == ["preferred_time"]
    assert _leads(stack) == []
