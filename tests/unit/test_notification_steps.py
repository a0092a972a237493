"""The notifier's steps are a table of senders: sent in its order, each once, and only known ones.

AWS is botocore's Stubber here: every call must be the one expected, in order, or it fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import boto3
import pytest
from boto3.dynamodb.types import TypeSerializer
from botocore.stub import ANY, Stubber

from clinic.leads.record import StoredLead
from clinic.notifications.messages import ClinicDetails
from clinic.notifications.service import LeadNotifier, NotificationPolicy, Outcome, UnknownStep
from clinic.notifications.store import NotificationStore

CLINIC = ClinicDetails(
    name="Example Clinic",
    contact_line="call us at (555) 010-0100.",
    time_zone=ZoneInfo("America/New_York"),
    sender="no-reply@clinic.example",
    staff=("staff@clinic.example",),
    console_url="https://abc123.execute-api.us-east-1.amazonaws.com/staff",
)
TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:staff"
LEAD = StoredLead(
    id="01JZ0000000000000000000000",
    created_at=datetime(2026, 11, 27, 18, 5, tzinfo=UTC),
    name="Patient",
    email="patient@example.org",
    phone="+14155550123",
    preferred_contact="phone",
)
NOW = 1_795_780_800.0
LEASE = int(NOW) + 45


def _item(lead: StoredLead) -> dict[str, Any]:
    """The lead as DynamoDB answers the claim with it."""
    return {name: TypeSerializer().serialize(value) for name, value in lead.to_item().items()}


def _policy(*, confirm: bool) -> NotificationPolicy:
    return NotificationPolicy(
        detail="contact",
        confirm_to_patient=confirm,
        lease_seconds=45,
        sweep_after_seconds=600,
        sweep_batch=10,
    )


@pytest.fixture
def aws() -> Iterator[dict[str, Any]]:
    clients = {name: boto3.client(name, region_name="us-east-1") for name in ("dynamodb", "sesv2", "sns")}
    stubbers = {name: Stubber(client) for name, client in clients.items()}
    for stubber in stubbers.values():
        stubber.activate()
    yield {"clients": clients, "stubbers": stubbers}
    for stubber in stubbers.values():
        stubber.assert_no_pending_responses()
        stubber.deactivate()


def _notifier(aws: dict[str, Any], *, confirm: bool) -> LeadNotifier:
    clients = aws["clients"]
    return LeadNotifier(
        NotificationStore("leads", dynamodb_client=clients["dynamodb"]),
        CLINIC,
        _policy(confirm=confirm),
        TOPIC_ARN,
        configuration_set="clinic-tls",
        ses_client=clients["sesv2"],
        sns_client=clients["sns"],
        clock=lambda: NOW,
    )


def _expect_email(aws: dict[str, Any]) -> None:
    aws["stubbers"]["sesv2"].add_response(
        "send_email",
        {"MessageId": "m"},
        {"FromEmailAddress": CLINIC.sender, "Content": ANY, "ConfigurationSetName": "clinic-tls"},
    )


def _expect_mark(aws: dict[str, Any], update: str) -> None:
    aws["stubbers"]["dynamodb"].add_response(
        "update_item",
        {},
        {
            "TableName": "leads",
            "Key": {"id": {"S": LEAD.id}},
            "UpdateExpression": update,
            "ConditionExpression": "notification_claimed_until = :lease",
            "ExpressionAttributeValues": ANY,
        },
    )


@pytest.mark.parametrize(("confirm", "confirmed"), [(True, True), (False, False)])
def test_steps_are_sent_in_the_tables_order_each_marked_as_it_goes(
    aws: dict[str, Any], confirm: bool, confirmed: bool
) -> None:
    aws["stubbers"]["dynamodb"].add_response("update_item", {"Attributes": _item(LEAD)})  # the claim
    _expect_email(aws)  # staff
    _expect_mark(aws, "SET notification_staff_email_at = :now")
    aws["stubbers"]["sns"].add_response(
        "publish", {"MessageId": "t"}, {"TopicArn": TOPIC_ARN, "Message": ANY}
    )
    _expect_mark(aws, "SET notification_topic_at = :now")
    if confirmed:
        _expect_email(aws)  # the patient
        _expect_mark(aws, "SET notification_confirmation_at = :now")
    _expect_mark(aws, "SET notified_at = :now REMOVE notify_state, notification_claimed_until")
    assert _notifier(aws, confirm=confirm).notify(LEAD.id) is Outcome.SENT


def test_a_lead_without_an_email_address_gets_no_confirmation(aws: dict[str, Any]) -> None:
    no_email = LEAD.model_copy(update={"email": None})
    aws["stubbers"]["dynamodb"].add_response("update_item", {"Attributes": _item(no_email)})
    _expect_email(aws)
    _expect_mark(aws, "SET notification_staff_email_at = :now")
    aws["stubbers"]["sns"].add_response("publish", {"MessageId": "t"})
    _expect_mark(aws, "SET notification_topic_at = :now")
    _expect_mark(aws, "SET notified_at = :now REMOVE notify_state, notification_claimed_until")
    assert _notifier(aws, confirm=True).notify(LEAD.id) is Outcome.SENT


def test_a_step_already_marked_is_not_sent_again(aws: dict[str, Any]) -> None:
    emailed = LEAD.model_copy(update={"steps_sent": {"staff_email": LEAD.created_at}})
    aws["stubbers"]["dynamodb"].add_response("update_item", {"Attributes": _item(emailed)})
    aws["stubbers"]["sns"].add_response("publish", {"MessageId": "t"})
    _expect_mark(aws, "SET notification_topic_at = :now")
    _expect_mark(aws, "SET notified_at = :now REMOVE notify_state, notification_claimed_until")
    assert _notifier(aws, confirm=False).notify(LEAD.id) is Outcome.SENT


def test_a_step_without_a_sender_raises_and_sends_nothing(aws: dict[str, Any]) -> None:
    # (It used to fall through to the topic.) The stubbers have no answers: any call would fail.
    with pytest.raises(UnknownStep):
        _notifier(aws, confirm=True).send_step("pager", LEAD)
