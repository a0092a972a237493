"""Least privilege, proven: each role allows every call its function makes, and nothing more.

Sufficient: every authorization AWS makes for a function's calls (tests/iam/authorization.py)
is allowed by that function's role as deployed (the SAM translation of template.yaml).
Necessary: every grant of every role (one action, one resource, one condition value) is used
by one of those calls, unless UNUSED_BY_DESIGN says why not; and removing any one statement
from any role makes the sufficiency check fail (the mutation test), so no statement is
redundant either.

Why a scenario of its own rather than the union of what the other tests recorded: the
integration and end-to-end tests already check each call they make against its role as they
go (tests/conftest.py `stack`, tests/e2e/conftest.py), which holds for whichever subset runs.
Necessity needs every path a role exists for, whichever subset runs (`pytest tests/iam` alone
too), and an answer that does not depend on test order. So this module drives each handler
the template names, under moto, through the calls it makes: a consultation request with an
Idempotency-Key and an email address; its stream delivery to the notifier (staff email, topic
message, patient confirmation); a lead the stream missed, for the sweeper; the article
routes; the staff inbox (list, view, change, release from quarantine, export, erase a lead and
a person, the audit trail); the daily quarantine digest. Lambda's own calls for each function
(logs, traces, the stream mapping and its dead-letter queue) come from the template.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from clinic_infra.local.calls import PATIENT_ADDRESS, recording_hook
from clinic_infra.provision import provision
from clinic_infra.publish import publish
from clinic_infra.template import StackTemplate
from tests.conftest import FAKE_AWS_ENVIRONMENT
from tests.helpers import FakeLambdaContext, http_event
from tests.iam.authorization import Binding, requests_by_function
from tests.iam.evaluator import Request, grants, policy_allows, request, statement_allows
from tests.iam.recording import Call, HandlerCalls, all_calls, unauthorized
from tests.iam.roles import bound_roles, function_roles, role_statements, translated_template
from tests.integration.conftest import altcha_from, invoke, load_handler, notifier_event
from tests.staff import add_staff_user, authorizer_context

CONTENT = Path(__file__).resolve().parents[2] / "content"
LEAD = {
    "name": "Privilege Patient",
    "email": "privilege.patient@example.org",
    "phone": "415-555-0199",
    "preferred_contact": "email",
    "preferred_time": "any",
    "concerns": ["anxiety"],
    "message": "Words only the clinic should read",
    "consent": True,
}
# Grants no call uses, each with why the role keeps it: (statement Sid, action, resource end).
UNUSED_BY_DESIGN = {
    ("CreateOwnLogStreams", "logs:CreateLogStream", ":log-stream:*"): (
        "AWS documents CreateLogStream against the log group, and its own execution-role "
        "examples grant it on log-group:NAME:*; both are granted so Lambda can log either way"
    ),
}

Recording = tuple[list[Call], StackTemplate]


def _scenario(monkeypatch: pytest.MonkeyPatch) -> Recording:
    stack = provision(StackTemplate())
    publish(CONTENT, stack.refs["ContentBucket"], say=lambda _: None)
    recorder = HandlerCalls(stack)
    assert boto3.DEFAULT_SESSION is not None
    boto3.DEFAULT_SESSION.events.register(
        "before-parameter-build", recording_hook(recorder.function, recorder.calls.append, os.environ)
    )
    articles = load_handler(stack, "ArticlesFunction", monkeypatch)
    listing = invoke(articles, http_event("GET", "/articles"))
    slug = json.loads(listing["body"])["items"][0]["slug"]
    route = "/articles/{slug}"
    event = http_event("GET", f"/articles/{slug}", route=route, path_parameters={"slug": slug})
    assert invoke(articles, event)["statusCode"] == 200

    consultations = load_handler(stack, "ConsultationsFunction", monkeypatch)
    for number in (1, 2):
        headers = {"content-type": "application/json", "idempotency-key": f"form-view-{number}"}
        body = json.dumps({**LEAD, "altcha": altcha_from(consultations)})  # solved: notified
        event = http_event("POST", "/consultations", headers=headers, body=body)
        assert invoke(consultations, event)["statusCode"] == 201
    first, second = (record["dynamodb"]["Keys"]["id"]["S"] for record in notifier_event(stack)["Records"])

    # The stream delivers the first lead; the second is one it missed, long ago, for the sweeper.
    notifier = load_handler(stack, "NotifierFunction", monkeypatch)
    only_first = notifier_event(stack)
    only_first["Records"] = [r for r in only_first["Records"] if r["dynamodb"]["Keys"]["id"]["S"] == first]
    assert invoke(notifier, only_first) == {"batchItemFailures": []}
    boto3.client("dynamodb").update_item(
        TableName=stack.refs["LeadsTable"],
        Key={"id": {"S": second}},
        UpdateExpression="SET created_at = :old",
        ExpressionAttributeValues={":old": {"S": "2026-01-01T00:00:00.000Z"}},
    )
    sweeper = load_handler(stack, "SweeperFunction", monkeypatch)
    assert sweeper.sweep_handler({}, FakeLambdaContext(remaining_ms=120_000))["recovered"] == 1
    # Two requests intake quarantined: staff release one; the daily digest counts the other.
    held, waiting = _quarantined_lead(stack), _quarantined_lead(stack)
    assert held != waiting
    _staff_inbox(stack, monkeypatch, first, second, held)
    digest = load_handler(stack, "QuarantineDigestFunction", monkeypatch)
    assert digest.digest_handler({}, FakeLambdaContext(remaining_ms=60_000)) == {"waiting": 1}
    return [*recorder.calls, *all_calls([], stack)], stack


def _quarantined_lead(stack: StackTemplate) -> str:
    """A lead as intake stores one that failed a spam test (written here, by no function)."""
    import time

    from boto3.dynamodb.types import TypeSerializer

    from clinic.consultations.service import new_lead_id
    from clinic.leads.record import LeadStatus, StoredLead

    time.sleep(0.002)  # distinct ids
    now = time.time()
    lead = StoredLead.model_validate(
        {
            "id": new_lead_id(now),
            "created_at": datetime.fromtimestamp(now, UTC),
            "status": LeadStatus.QUARANTINED,
            "quarantine_reason": "honeypot",
            "name": "Quarantined Bot",
            "expires_at": int(now) + 30 * 86400,
        }
    )
    item = {name: TypeSerializer().serialize(value) for name, value in lead.to_item().items()}
    boto3.client("dynamodb").put_item(TableName=stack.refs["LeadsTable"], Item=item)
    return lead.id


def _staff_inbox(
    stack: StackTemplate, monkeypatch: pytest.MonkeyPatch, first: str, second: str, held: str
) -> None:
    """An administrator lists, views, changes, releases from quarantine, exports and erases, and
    reads a lead's trail."""
    admin = add_staff_user(
        boto3.client("cognito-idp"),
        stack.refs["StaffUserPool"],
        stack.refs["StaffConsoleClient"],
        "iam.admin@example-clinic.com",
        ["admin"],
    )
    staff = load_handler(stack, "StaffFunction", monkeypatch)

    def call(method: str, path: str, route: str, body: Any = None, **headers: str) -> int:
        lead = path.split("/")[3] if route.startswith("/staff/leads/") else None
        event = http_event(
            method,
            path,
            route=route,
            path_parameters={"id": lead} if lead else None,
            headers={"content-type": "application/json", **headers},
            body=None if body is None else json.dumps(body),
        )
        event["requestContext"]["authorizer"] = authorizer_context(admin.claims)
        return int(invoke(staff, event)["statusCode"])

    one = "/staff/leads/{id}"
    assert call("GET", "/staff/leads", "/staff/leads") == 200
    assert call("GET", f"/staff/leads/{first}", one) == 200
    assert call("PATCH", f"/staff/leads/{first}", one, {"status": "contacted"}, **{"if-match": '"0"'}) == 200
    assert call("POST", f"/staff/leads/{held}/release", one + "/release", **{"if-match": '"0"'}) == 200
    assert call("GET", "/staff/exports/leads.csv", "/staff/exports/leads.csv") == 200
    assert call("DELETE", f"/staff/leads/{second}", one) == 204
    assert call("POST", "/staff/erasures", "/staff/erasures", {"email": LEAD["email"]}) == 200
    assert call("GET", f"/staff/leads/{first}/audit", one + "/audit") == 200


@pytest.fixture(scope="module")
def recording() -> Iterator[Recording]:
    with pytest.MonkeyPatch.context() as monkeypatch:
        for name, value in FAKE_AWS_ENVIRONMENT.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
        monkeypatch.delenv("AWS_PROFILE", raising=False)
        with mock_aws():
            boto3.setup_default_session()
            yield _scenario(monkeypatch)


def test_the_scenario_exercises_every_function(recording: Recording) -> None:
    calls, _ = recording
    made = {(call["function"], call["service"], call["operation"]) for call in calls}
    assert {
        ("ArticlesFunction", "s3", "GetObject"),
        ("ConsultationsFunction", "dynamodb", "TransactWriteItems"),
        ("ConsultationsFunction", "secretsmanager", "GetSecretValue"),
        ("NotifierFunction", "sesv2", "SendEmail"),
        ("NotifierFunction", "sns", "Publish"),
        ("SweeperFunction", "dynamodb", "Query"),
        ("SweeperFunction", "sesv2", "SendEmail"),
        ("StaffFunction", "dynamodb", "TransactWriteItems"),
        ("StaffFunction", "dynamodb", "Scan"),
        ("StaffFunction", "dynamodb", "PutItem"),
        ("QuarantineDigestFunction", "dynamodb", "Query"),
        ("QuarantineDigestFunction", "sesv2", "SendEmail"),
    } <= made


@pytest.mark.parametrize("action", ["dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"])
def test_the_staff_role_cannot_rewrite_or_delete_the_audit_trail(recording: Recording, action: str) -> None:
    _, stack = recording
    statements = bound_roles(translated_template(), stack)["StaffFunction"]
    audit = Binding(stack).table_arn(stack.refs["AuditTable"])
    context = Binding(stack).global_keys()
    assert not policy_allows(statements, request(action, audit, "the audit trail", context))
    # The check itself: the same role may append to the trail.
    assert policy_allows(statements, request("dynamodb:PutItem", audit, "the audit trail", context))


def test_the_recording_holds_no_patient_data(recording: Recording) -> None:
    calls, _ = recording
    text = json.dumps(calls)
    for value in (LEAD["name"], LEAD["email"], LEAD["phone"], LEAD["message"], "example.org"):
        assert str(value) not in text
    assert PATIENT_ADDRESS in text  # the confirmation's recipient, as the sandbox checks it


def test_every_call_is_allowed_by_its_functions_role(recording: Recording) -> None:
    calls, stack = recording
    assert unauthorized(calls, stack) == []


def _allowance(grant: dict[str, Any]) -> tuple[str, str, str] | None:
    for key in UNUSED_BY_DESIGN:
        sid, action, resource_end = key
        if (grant.get("Sid"), grant["Action"]) == (sid, action) and str(grant["Resource"]).endswith(
            resource_end
        ):
            return key
    return None


def _unused_grants(calls: list[Call], stack: StackTemplate) -> list[dict[str, Any]]:
    requests = requests_by_function(calls, Binding(stack))
    unused = []
    for function, statements in bound_roles(translated_template(), stack).items():
        made: set[Request] = requests.get(function, set())
        for statement in statements:
            for grant in grants(statement):
                if not any(statement_allows(grant, req) for req in made):
                    unused.append({"function": function, **grant})
    return unused


def test_every_grant_of_every_role_is_used_by_a_call(recording: Recording) -> None:
    calls, stack = recording
    unexplained = [grant for grant in _unused_grants(calls, stack) if _allowance(grant) is None]
    assert unexplained == []


def test_every_allowance_for_an_unused_grant_is_still_needed(recording: Recording) -> None:
    calls, stack = recording
    assert {_allowance(grant) for grant in _unused_grants(calls, stack)} == set(UNUSED_BY_DESIGN)


def test_the_check_finds_a_grant_no_call_uses(recording: Recording) -> None:
    # Without the sweeper's sends, its SES, SNS and KMS-through-SNS grants are unused.
    calls, stack = recording
    quieter = [
        c for c in calls if not (c["function"] == "SweeperFunction" and c["service"] in ("sesv2", "sns"))
    ]
    unused = json.dumps(_unused_grants(quieter, stack))
    assert '"Sid": "SendFromTheClinicAddress"' in unused
    assert '"Sid": "PublishToStaffTopic"' in unused
    assert "sns.us-east-1.amazonaws.com" in unused


def _statements() -> list[tuple[str, str]]:
    translated = translated_template()
    return [
        (role, statement["Sid"])
        for role in sorted(set(function_roles(translated).values()))
        for statement in role_statements(translated, role)
    ]


def test_every_statement_has_a_sid_of_its_own() -> None:
    statements = _statements()
    assert len(set(statements)) == len(statements)


@pytest.mark.parametrize(("role", "sid"), _statements(), ids=lambda value: str(value))
def test_removing_any_statement_fails_the_check(recording: Recording, role: str, sid: str) -> None:
    calls, stack = recording
    mutated = translated_template()
    for policy in mutated["Resources"][role]["Properties"]["Policies"]:
        document = policy["PolicyDocument"]
        document["Statement"] = [s for s in document["Statement"] if s.get("Sid") != sid]
    problems = unauthorized(calls, stack, bound_roles(mutated, stack))
    assert problems, f"{role} keeps every call allowed without {sid}: the statement is not needed"
