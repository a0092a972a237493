"""The staff routes through the local gateway, which enforces the template's JWT authorizer as API
Gateway does: a missing or bad token is a 401 before any function runs."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from clinic_infra.local.stack import LocalStack
from tests.staff import decode_unverified, expired, forged, other_key, sign_in


@pytest.fixture(scope="module")
def admin_tokens(local_stack: LocalStack) -> dict[str, str]:
    return sign_in(local_stack, "admin@clinic.test")


def _get(stack: LocalStack, path: str, token: str | None) -> tuple[int, dict[str, str], Any]:
    headers = {"authorization": f"Bearer {token}"} if token is not None else {}
    request = urllib.request.Request(f"{stack.api_url}{path}", headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, dict(response.headers), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read() or b"null")


def test_a_signed_in_admin_reaches_the_staff_api(
    local_stack: LocalStack, admin_tokens: dict[str, str]
) -> None:
    status, _, body = _get(local_stack, "/staff/leads", admin_tokens["access"])
    assert status == 200
    assert set(body) == {"items", "next_cursor"}


def test_a_bare_token_without_bearer_is_accepted_as_api_gateway_does(
    local_stack: LocalStack, admin_tokens: dict[str, str]
) -> None:
    request = urllib.request.Request(  # noqa: S310
        f"{local_stack.api_url}/staff/leads", headers={"authorization": admin_tokens["access"]}
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        assert response.status == 200


def _bad_tokens(tokens: dict[str, str]) -> dict[str, str | None]:
    claims = decode_unverified(tokens["access"])
    return {
        "no token": None,
        "not a JWT": "not-a-token",
        "bad signature": forged(claims, key=other_key()),
        "wrong issuer": forged(claims, iss="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_other"),
        "wrong audience": forged(claims, client_id="another-app-client"),
        "expired": expired(claims),
        "not yet valid": forged(claims, nbf=int(claims["exp"])),
        "issued in the future": forged(claims, iat=int(claims["exp"]) + 60),
    }


CASES = [
    "no token",
    "not a JWT",
    "bad signature",
    "wrong issuer",
    "wrong audience",
    "expired",
    "not yet valid",
    "issued in the future",
]


@pytest.mark.parametrize("case", CASES)
def test_a_missing_or_bad_token_is_401_before_any_function_runs(
    local_stack: LocalStack, admin_tokens: dict[str, str], case: str
) -> None:
    assert local_stack.template is not None
    audit = local_stack.template.refs["AuditTable"]
    dynamodb = local_stack.client("dynamodb")
    before = dynamodb.scan(TableName=audit, Select="COUNT")["Count"]
    token = _bad_tokens(admin_tokens)[case]
    for path in ("/staff/leads", "/staff/leads/01JZ0000000000000000000000", "/staff/exports/leads.csv"):
        status, _, body = _get(local_stack, path, token)
        assert (status, body) == (401, {"message": "Unauthorized"}), (case, path)
    # A view or export that ran would have written an audit event, refused or not.
    assert dynamodb.scan(TableName=audit, Select="COUNT")["Count"] == before


def test_an_id_token_lacks_the_access_scope_and_is_403_before_any_function_runs(
    local_stack: LocalStack, admin_tokens: dict[str, str]
) -> None:
    # Its aud is the console's client, so it passes the authorizer's checks; every staff route
    # requires the scope only access tokens carry, and API Gateway answers 403 without it.
    assert local_stack.template is not None
    audit = local_stack.template.refs["AuditTable"]
    dynamodb = local_stack.client("dynamodb")
    before = dynamodb.scan(TableName=audit, Select="COUNT")["Count"]
    for path in ("/staff/leads", "/staff/leads/01JZ0000000000000000000000", "/staff/exports/leads.csv"):
        status, _, body = _get(local_stack, path, admin_tokens["id"])
        assert (status, body) == (403, {"message": "Forbidden"}), path
    assert dynamodb.scan(TableName=audit, Select="COUNT")["Count"] == before


def test_the_claims_reach_the_function_as_api_gateway_passes_them(
    local_stack: LocalStack, admin_tokens: dict[str, str]
) -> None:
    # The admin is in both groups; the function reads "[admin staff]" and allows the audit trail.
    status, _, body = _get(
        local_stack, "/staff/leads/01JZ0000000000000000000000/audit", admin_tokens["access"]
    )
    assert (status, body) == (200, {"items": []})
    staff = sign_in(local_stack, "staff@clinic.test")
    status, _, body = _get(local_stack, "/staff/leads/01JZ0000000000000000000000/audit", staff["access"])
    assert status == 403
    assert body["error"]["code"] == "forbidden"
