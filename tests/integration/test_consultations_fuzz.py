"""Inputs nobody wrote a test for: whatever arrives, the answer is a documented status, never a 500."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clinic_infra.template import StackTemplate
from tests.helpers import http_event
from tests.integration.conftest import invoke, load_handler

DOCUMENTED = {201, 303, 400, 409, 413, 415, 422, 429}
FIELDS = [
    "name",
    "email",
    "phone",
    "preferred_contact",
    "preferred_time",
    "concerns",
    "message",
    "consent",
    "source",
    "website",
    "extra",
]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
bodies = st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=len(FIELDS)).map(
    json.dumps
) | st.text(max_size=200)
content_types = st.sampled_from(
    [
        "application/json",
        "APPLICATION/JSON; charset=utf-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
        "text/plain",
        "application/json; charset=latin-1",
        "",
    ]
)


@pytest.fixture
def handler(stack: StackTemplate, monkeypatch: pytest.MonkeyPatch) -> Any:
    return load_handler(stack, "ConsultationsFunction", monkeypatch, RATE_LIMIT_PER_WINDOW="10000")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies, content_type=content_types, base64_body=st.booleans())
def test_any_body_gets_a_documented_status_and_an_envelope(
    handler: Any, body: str, content_type: str, base64_body: bool
) -> None:
    event = http_event(
        "POST", "/consultations", headers={"content-type": content_type}, body=body, base64_body=base64_body
    )
    response = invoke(handler, event)
    assert response["statusCode"] in DOCUMENTED
    if response["statusCode"] >= 400 and response["headers"].get("Content-Type") == "application/json":
        assert set(json.loads(response["body"])["error"]) <= {"code", "message", "fields"}
