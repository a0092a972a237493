"""The consultations service owns validation, the honeypot rule and storage; its client-hash key
is an object it is given, which reads Secrets Manager only when a request needs it."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import boto3
import pytest

from clinic.common.errors import ValidationFailed
from clinic.consultations.client_hash import ClientHashKey
from clinic.consultations.intake import read_submission
from clinic.consultations.service import ConsultationService, SubmissionPolicy
from clinic.consultations.store import LeadStore
from clinic_infra.template import StackTemplate
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


def _service(stack: StackTemplate, key: Any, policy: SubmissionPolicy = POLICY) -> ConsultationService:
    return ConsultationService(LeadStore(stack.refs["LeadsTable"], stack.refs["GuardTable"]), policy, key)


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
    accepted = service.receive(_json(VALID), idempotency_key=None, source_ip="203.0.113.9")
    assert not accepted.dropped
    assert [item["id"]["S"] for item in _leads(stack)] == [accepted.lead_id]
    assert _leads(stack)[0]["phone"] == {"S": "+14155552671"}  # validated: E.164
    assert reads == ["read"]


def test_phone_numbers_without_a_country_code_use_the_policys_region(stack: StackTemplate, aws: None) -> None:
    london = replace(POLICY, default_phone_region="GB")
    _service(stack, lambda: b"key", london).receive(
        _json({**VALID, "phone": "020 7946 0958"}), idempotency_key=None, source_ip="203.0.113.9"
    )
    assert _leads(stack)[0]["phone"] == {"S": "+442079460958"}


def test_a_valid_request_with_the_honeypot_filled_is_answered_and_nothing_is_stored_or_read(
    stack: StackTemplate, boto_hooks: Hooks
) -> None:
    reads = _reads(boto_hooks)
    service = _service(stack, ClientHashKey(stack.refs["ClientHashSecret"]))
    accepted = service.receive(
        _json({**VALID, "website": "http://spam.example"}), idempotency_key=None, source_ip="203.0.113.9"
    )
    assert accepted.dropped
    assert len(accepted.lead_id) == 26
    assert _leads(stack) == []
    assert reads == []


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
