"""Recorded calls map to what AWS authorizes; anything the table does not know fails the check."""

from __future__ import annotations

from clinic_infra.local.calls import PATIENT_ADDRESS, authorization_params
from clinic_infra.template import StackTemplate
from tests.iam.authorization import Binding, requests_for
from tests.iam.recording import unauthorized

STACK = StackTemplate()
TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/clinic-local-leadstable"


def _call(service: str, operation: str, **params: object) -> dict[str, object]:
    return {"function": "SweeperFunction", "service": service, "operation": operation, "params": params}


def test_each_item_of_a_transaction_is_authorized_as_its_own_operation() -> None:
    items = [
        {"Kind": "ConditionCheck", "TableName": "clinic-local-leadstable"},
        {"Kind": "Put", "TableName": "clinic-local-guardtable"},
    ]
    requests = requests_for(_call("dynamodb", "TransactWriteItems", Items=items), Binding(STACK))
    actions = {(req.action, req.resource) for req in requests}
    assert ("dynamodb:ConditionCheckItem", TABLE) in actions
    assert ("dynamodb:PutItem", TABLE.replace("leadstable", "guardtable")) in actions
    items_requests = [req for req in requests if req.action.startswith("dynamodb:")]
    assert all(req.keys["dynamodb:enclosingoperation"] == "TransactWriteItems" for req in items_requests)


def test_a_query_on_an_index_is_authorized_on_the_index() -> None:
    call = _call("dynamodb", "Query", TableName="clinic-local-leadstable", IndexName="PendingNotification")
    (query, *kms) = requests_for(call, Binding(STACK))
    assert query.resource == f"{TABLE}/index/PendingNotification"
    assert [req.action for req in kms] == ["kms:Decrypt"]  # the table is under the data key


def test_a_call_the_table_does_not_know_fails_the_check() -> None:
    (problem,) = unauthorized([_call("dynamodb", "BatchGetItem", TableName="clinic-local-leadstable")], STACK)
    assert "add how AWS authorizes dynamodb BatchGetItem" in problem


def test_a_send_is_checked_against_every_identity_and_keeps_no_patient_address() -> None:
    raw = b"From: Clinic <no-reply@example-clinic.com>\r\nTo: someone@patient-mail.example\r\n\r\nbody"
    params = authorization_params(
        "sesv2",
        "SendEmail",
        {"FromEmailAddress": "no-reply@example-clinic.com", "Content": {"Raw": {"Data": raw}}},
        frozenset({"no-reply@example-clinic.com"}),
    )
    assert params == {
        "FromEmailAddress": "no-reply@example-clinic.com",
        "FromDisplayName": "Clinic",
        "Recipients": [PATIENT_ADDRESS],
    }
    requests = requests_for({**_call("sesv2", "SendEmail"), "params": params}, Binding(STACK))
    assert {req.resource.split(":", 5)[-1] for req in requests} == {
        "identity/no-reply@example-clinic.com",
        "identity/example-clinic.com",
        f"identity/{PATIENT_ADDRESS}",
        "identity/recipient.invalid",
    }
    assert all(req.keys["ses:fromdisplayname"] == "Clinic" for req in requests)
