"""Leads reach staff once: consultations handler -> moto's stream -> the notifier the template names."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from email import message_from_string, policy
from email.message import EmailMessage
from typing import Any

import boto3
import pytest

from clinic_infra.template import StackTemplate
from tests import faults
from tests.helpers import http_event
from tests.integration.conftest import (
    Hooks,
    altcha_from,
    invoke,
    load_handler,
    notifier_event,
    stream_records,
)

LEAD = {
    "name": "Notify Patient",
    "email": "notify.patient@example.org",
    "phone": "415-555-0142",
    "preferred_contact": "phone",
    "preferred_time": "morning",
    "concerns": ["anxiety"],
    "message": "Health details here",
    "consent": True,
}


def sent_emails() -> list[EmailMessage]:
    from moto.ses.models import ses_backends

    backend = ses_backends["123456789012"]["us-east-1"]
    return [message_from_string(message.raw_data, policy=policy.default) for message in backend.sent_messages]  # type: ignore[misc]


def _body(email: EmailMessage) -> str:
    part = email.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


@pytest.fixture
def topic_queue(stack: StackTemplate) -> str:
    """An SQS queue subscribed to the staff topic, standing in for SMS or chat."""
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="staff-topic-listener")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    boto3.client("sns").subscribe(
        TopicArn=stack.refs["StaffTopic"],
        Protocol="sqs",
        Endpoint=arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    return str(url)


def topic_messages(queue_url: str) -> list[dict[str, Any]]:
    messages = (
        boto3.client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    )
    return [json.loads(message["Body"]) for message in messages]


@pytest.fixture
def consultations(stack: StackTemplate, monkeypatch: pytest.MonkeyPatch) -> Any:
    return load_handler(stack, "ConsultationsFunction", monkeypatch)


def submit(consultations: Any, **changes: Any) -> str:
    """A request as the site's form sends it, proof of work solved: a lead staff are told of."""
    body = json.dumps({**LEAD, "altcha": altcha_from(consultations), **changes})
    event = http_event("POST", "/consultations", headers={"content-type": "application/json"}, body=body)
    response = invoke(consultations, event)
    assert response["statusCode"] == 201
    return str(json.loads(response["body"])["id"])


def _change_lead(
    stack: StackTemplate, lead_id: str, update: str, value: dict[str, str] | None = None
) -> None:
    """Change a stored lead behind the services' backs, to set up a situation."""
    extra: dict[str, Any] = {"ExpressionAttributeValues": {":value": value}} if value else {}
    if "#name" in update:
        extra["ExpressionAttributeNames"] = {"#name": "name"}
    boto3.client("dynamodb").update_item(
        TableName=stack.refs["LeadsTable"], Key={"id": {"S": lead_id}}, UpdateExpression=update, **extra
    )


def _lead(stack: StackTemplate, lead_id: str) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeDeserializer

    item = boto3.client("dynamodb").get_item(TableName=stack.refs["LeadsTable"], Key={"id": {"S": lead_id}})[
        "Item"
    ]
    return {key: TypeDeserializer().deserialize(value) for key, value in item.items()}


def test_a_stored_lead_reaches_staff_once_and_a_rerun_sends_nothing(
    stack: StackTemplate, consultations: Any, topic_queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a lead stored through the consultations handler, and its stream event from moto
    lead_id = submit(consultations)
    event = notifier_event(stack)
    assert [record["eventName"] for record in event["Records"]] == ["INSERT"]
    notifier = load_handler(stack, "NotifierFunction", monkeypatch)
    # When the notifier the template names processes it
    assert invoke(notifier, event) == {"batchItemFailures": []}
    # Then staff get one email, the topic one message, the patient one confirmation
    emails = sent_emails()
    staff = [email for email in emails if email["To"] == "staff@example-clinic.com"]
    confirmations = [email for email in emails if email["To"] == LEAD["email"]]
    assert len(staff) == 1
    assert len(confirmations) == 1
    assert topic_messages(topic_queue) == [
        {"lead_id": lead_id, "received_at": _lead(stack, lead_id)["created_at"]}
    ]
    # And the lead is marked notified and leaves the pending index
    stored = _lead(stack, lead_id)
    assert "notified_at" in stored
    assert "notify_state" not in stored
    assert "notification_claimed_until" not in stored
    # When the same event is delivered again
    assert invoke(notifier, event) == {"batchItemFailures": []}
    # Then nothing more is sent
    assert len(sent_emails()) == 2
    assert topic_messages(topic_queue) == []


@pytest.mark.parametrize(
    ("detail", "present", "absent"),
    [
        (
            "minimal",
            ["Reference:", "Received:", "Preferred contact: Phone call", "Best time: Morning"],
            ["Notify Patient", "415", "notify.patient", "Name:", "Anxiety", "Health details"],
        ),
        (
            "contact",
            ["Name: Notify Patient", "+1 415-555-0142", "Best time: Morning"],
            ["Anxiety", "Health details"],
        ),
        ("full", ["Name: Notify Patient", "Concerns: Anxiety", "Message: Health details here"], []),
    ],
)
def test_staff_email_holds_what_the_detail_level_allows(
    stack: StackTemplate,
    consultations: Any,
    monkeypatch: pytest.MonkeyPatch,
    detail: str,
    present: list[str],
    absent: list[str],
) -> None:
    lead_id = submit(consultations)
    notifier = load_handler(stack, "NotifierFunction", monkeypatch, NOTIFICATION_DETAIL=detail)
    invoke(notifier, notifier_event(stack))
    (staff,) = [email for email in sent_emails() if email["To"] == "staff@example-clinic.com"]
    text = _body(staff)
    reference = _lead(stack, lead_id)["reference"]
    assert staff["Subject"] == f"New consultation request {reference}"
    assert f"Reference: {reference}" in text
    assert f"{_console_link(stack, lead_id)}\n" in text  # how staff read the rest
    for value in present:
        assert value in text
    for value in absent:
        assert value not in text


def _console_link(stack: StackTemplate, lead_id: str) -> str:
    """Where the template's default sends staff: the stack's own console, opened at the lead."""
    api = stack.physical_name("HttpApi")
    return f"https://{api}.execute-api.us-east-1.amazonaws.com/staff#lead={lead_id}"


def test_by_default_the_staff_email_links_to_the_lead_and_carries_no_personal_data(
    stack: StackTemplate, consultations: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    lead_id = submit(consultations)
    # The notifier and the sweeper with the template's own environment, no override
    for function in ("NotifierFunction", "SweeperFunction"):
        assert stack.functions()[function].environment["NOTIFICATION_DETAIL"] == "minimal"
    invoke(load_handler(stack, "NotifierFunction", monkeypatch), notifier_event(stack))
    (staff,) = [email for email in sent_emails() if email["To"] == "staff@example-clinic.com"]
    text = _body(staff)
    html = staff.get_body(preferencelist=("html",))
    assert html is not None
    assert text.splitlines()[-1] == _console_link(stack, lead_id)
    assert f'href="{_console_link(stack, lead_id)}"' in html.get_content()
    for part in (text, html.get_content(), str(staff["Subject"])):
        for typed in ("Notify Patient", "notify.patient", "415", "555", "0142", "Anxiety", "Health details"):
            assert typed not in part


def test_the_templates_defaults_write_for_a_us_clinic_and_keep_the_subject_neutral(
    stack: StackTemplate, consultations: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    submit(consultations)
    invoke(load_handler(stack, "NotifierFunction", monkeypatch), notifier_event(stack))
    (staff,) = [email for email in sent_emails() if email["To"] == "staff@example-clinic.com"]
    (confirmation,) = [email for email in sent_emails() if email["To"] == LEAD["email"]]
    # e.g. "Received: Tuesday, December 1, 2026, 1:34 PM EST"
    assert re.search(
        r"Received: [A-Z][a-z]+day, [A-Z][a-z]+ \d{1,2}, \d{4}, \d{1,2}:\d\d [AP]M E[SD]T\n", _body(staff)
    )
    assert confirmation["Subject"] == "We received your consultation request"
    assert "call us at (555) 010-0100" in _body(confirmation)


def test_no_confirmation_without_an_email_or_when_turned_off(
    stack: StackTemplate, consultations: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    submit(consultations, email=None, preferred_contact="text")
    notifier = load_handler(stack, "NotifierFunction", monkeypatch)
    invoke(notifier, notifier_event(stack))
    assert [email["To"] for email in sent_emails()] == ["staff@example-clinic.com"]
    submit(consultations, email="second@example.org")
    notifier = load_handler(stack, "NotifierFunction", monkeypatch, SEND_CONFIRMATION="false")
    invoke(notifier, notifier_event(stack))
    assert [email["To"] for email in sent_emails()] == ["staff@example-clinic.com"] * 2


def test_duplicate_records_in_one_batch_send_once(
    stack: StackTemplate, consultations: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    submit(consultations, email=None, preferred_contact="phone")
    (record,) = notifier_event(stack)["Records"]
    notifier = load_handler(stack, "NotifierFunction", monkeypatch)
    assert invoke(notifier, {"Records": [record, record]}) == {"batchItemFailures": []}
    assert len(sent_emails()) == 1


def test_ses_failure_reports_exactly_that_record_and_the_others_are_sent(
    stack: StackTemplate, consultations: Any, monkeypatch: pytest.MonkeyPatch, boto_hooks: Hooks
) -> None:
    # Given three leads, the second of which SES will refuse
    ids = [
        submit(consultations, email=None, preferred_contact="phone", name=f"Patient {n}") for n in range(3)
    ]
    refused = ids[1]
    _refuse_emails_about(_lead(stack, refused)["reference"], boto_hooks)
    event = notifier_event(stack)
    notifier = load_handler(stack, "NotifierFunction", monkeypatch)
    # When the batch is processed
    response = invoke(notifier, event)
    # Then only the refused lead's record is reported, and the others reached staff
    failed_record = next(
        record for record in event["Records"] if record["dynamodb"]["Keys"]["id"]["S"] == refused
    )
    assert response == {
        "batchItemFailures": [{"itemIdentifier": failed_record["dynamodb"]["SequenceNumber"]}]
    }
    notified = {lead_id for lead_id in ids if "notified_at" in _lead(stack, lead_id)}
    assert notified == {ids[0], ids[2]}
    assert len(sent_emails()) == 2
    # And the refused lead is still pending, unclaimed, ready for the retry
    pending = _lead(stack, refused)
    assert pending["notify_state"] == "pending"
    assert "notification_claimed_until" not in pending


def _refuse_emails_about(reference: str, boto_hooks: Hooks) -> None:
    """SES rejects any email that mentions the lead's `reference` (its subject carries it)."""
    fault = faults.aws_error("MessageRejected")

    def spot(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["refuse"] = reference.encode() in params["Content"]["Raw"]["Data"]

    def refuse(context: dict[str, Any], **kwargs: Any) -> Any:
        return fault.hook(**kwargs) if context.get("refuse") else None

    boto_hooks("before-parameter-build.sesv2.SendEmail", spot)
    boto_hooks("before-call.sesv2.SendEmail", refuse, first=True)


def test_retry_after_a_failed_topic_publish_does_not_email_staff_again(
    stack: StackTemplate,
    consultations: Any,
    topic_queue: str,
    monkeypatch: pytest.MonkeyPatch,
    boto_hooks: Hooks,
) -> None:
    lead_id = submit(consultations, email=None, preferred_contact="phone")
    fault = faults.inject(boto_hooks, "sns.Publish", faults.aws_error("AuthorizationError", 403, times=1))
    notifier = load_handler(stack, "NotifierFunction", monkeypatch)
    event = notifier_event(stack)
    assert invoke(notifier, event)["batchItemFailures"]  # the topic publish failed
    assert len(sent_emails()) == 1  # but the staff email went, and is marked
    assert invoke(notifier, event) == {"batchItemFailures": []}  # the stream retries
    assert len(sent_emails()) == 1
    assert topic_messages(topic_queue) == [
        {"lead_id": lead_id, "received_at": _lead(stack, lead_id)["created_at"]}
    ]
    assert len(fault.calls) == 2


def test_a_lead_that_no_longer_exists_is_skipped(
    stack: StackTemplate, consultations: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    lead_id = submit(consultations)
    event = notifier_event(stack)
    boto3.client("dynamodb").delete_item(TableName=stack.refs["LeadsTable"], Key={"id": {"S": lead_id}})
    notifier = load_handler(stack, "NotifierFunction", monkeypatch)
    assert invoke(notifier, event) == {"batchItemFailures": []}
    assert sent_emails() == []


def test_a_lead_claimed_by_another_delivery_is_retried_not_dropped(
    stack: StackTemplate, consultations: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    lead_id = submit(consultations)
    far = int((datetime.now(UTC) + timedelta(minutes=5)).timestamp())
    _change_lead(stack, lead_id, "SET notification_claimed_until = :value", {"N": str(far)})
    notifier = load_handler(stack, "NotifierFunction", monkeypatch)
    assert len(invoke(notifier, notifier_event(stack))["batchItemFailures"]) == 1
    assert sent_emails() == []


def test_only_inserts_reach_the_notifier(
    stack: StackTemplate, consultations: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    submit(consultations)
    notifier = load_handler(stack, "NotifierFunction", monkeypatch)
    invoke(notifier, notifier_event(stack))
    records = stream_records(stack)
    assert {record["eventName"] for record in records} == {"INSERT", "MODIFY"}
    assert [record["eventName"] for record in notifier_event(stack, records)["Records"]] == ["INSERT"]
    for record in records:
        assert set(record["dynamodb"]) <= {
            "ApproximateCreationDateTime",
            "Keys",
            "SequenceNumber",
            "SizeBytes",
            "StreamViewType",
        }


# ---------------------------------------------------------------- the sweeper


def _put_unnotified_lead(stack: StackTemplate, lead_id: str, age: timedelta, **extra: Any) -> None:
    created = (datetime.now(UTC) - age).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    item = {
        "id": lead_id,
        "created_at": created,
        "status": "new",
        "name": "Swept Patient",
        "phone": "+14155550199",
        "preferred_contact": "phone",
        "preferred_time": "any",
        "concerns": [],
        "notify_state": "pending",
        **extra,
    }
    from boto3.dynamodb.types import TypeSerializer

    serialized = {key: TypeSerializer().serialize(value) for key, value in item.items()}
    boto3.client("dynamodb").put_item(TableName=stack.refs["LeadsTable"], Item=serialized)


def test_sweeper_recovers_an_old_unnotified_lead_and_ignores_the_rest(
    stack: StackTemplate, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a lead the stream never delivered, a notified one, and one too young to sweep
    _put_unnotified_lead(stack, "01LOSTLEAD0000000000000000", timedelta(minutes=20))
    _put_unnotified_lead(stack, "01YOUNGLEAD000000000000000", timedelta(minutes=2))
    _put_unnotified_lead(stack, "01DONELEAD0000000000000000", timedelta(minutes=30))
    done = {"S": "2026-01-01T00:00:00.000Z"}
    _change_lead(stack, "01DONELEAD0000000000000000", "SET notified_at = :value REMOVE notify_state", done)
    sweeper = load_handler(stack, "SweeperFunction", monkeypatch)
    # When the sweeper runs
    assert sweeper.sweep_handler({}, _context()) == {"recovered": 1, "released": 0, "failed": 0}
    # Then staff hear of the lost lead only, once, and the recovery is counted
    (email,) = sent_emails()
    assert "01LOSTLEAD0000000000000000" in str(email["Subject"])
    assert '"SweeperRecovered":[1.0]' in capsys.readouterr().out
    assert sweeper.sweep_handler({}, _context()) == {"recovered": 0, "released": 0, "failed": 0}
    assert len(sent_emails()) == 1


def test_stream_after_the_sweeper_sends_nothing_twice(
    stack: StackTemplate, consultations: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    lead_id = submit(consultations, email=None, preferred_contact="phone")
    _change_lead(stack, lead_id, "SET created_at = :value", {"S": "2026-01-01T00:00:00.000Z"})
    sweeper = load_handler(stack, "SweeperFunction", monkeypatch)
    assert sweeper.sweep_handler({}, _context())["recovered"] == 1
    notifier = load_handler(stack, "NotifierFunction", monkeypatch)
    assert invoke(notifier, notifier_event(stack)) == {"batchItemFailures": []}
    assert len(sent_emails()) == 1


def _context() -> Any:
    from tests.helpers import FakeLambdaContext

    return FakeLambdaContext(remaining_ms=120_000)  # the sweeper's timeout


def test_a_poisoned_record_fails_alone_and_the_rest_of_the_batch_is_notified(
    stack: StackTemplate, consultations: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given three leads, one of which was damaged in the table (its name removed)
    ids = [
        submit(consultations, email=None, preferred_contact="phone", name=f"Patient {n}") for n in range(3)
    ]
    _change_lead(stack, ids[1], "REMOVE #name")
    event = notifier_event(stack)
    notifier = load_handler(stack, "NotifierFunction", monkeypatch)
    # When the batch is delivered
    response = invoke(notifier, event)
    # Then only the poisoned record is reported (it will be retried, then dead-lettered)
    poisoned = next(record for record in event["Records"] if record["dynamodb"]["Keys"]["id"]["S"] == ids[1])
    assert response == {"batchItemFailures": [{"itemIdentifier": poisoned["dynamodb"]["SequenceNumber"]}]}
    assert len(sent_emails()) == 2
    assert "notification_claimed_until" not in _lead(stack, ids[1])  # released for the retry


def test_kms_denied_on_the_topic_leaves_the_lead_pending_and_retries_only_the_topic(
    stack: StackTemplate,
    consultations: Any,
    topic_queue: str,
    monkeypatch: pytest.MonkeyPatch,
    boto_hooks: Hooks,
) -> None:
    lead_id = submit(consultations, email=None, preferred_contact="phone")
    faults.inject(boto_hooks, "sns.Publish", faults.aws_error("KMSAccessDenied", 400, times=1))
    notifier = load_handler(stack, "NotifierFunction", monkeypatch)
    event = notifier_event(stack)
    assert invoke(notifier, event)["batchItemFailures"]
    assert _lead(stack, lead_id)["notify_state"] == "pending"
    assert invoke(notifier, event) == {"batchItemFailures": []}
    assert len(sent_emails()) == 1
    assert len(topic_messages(topic_queue)) == 1


@pytest.mark.parametrize("code", ["MessageRejected", "AccessDeniedException", "SendingPausedException"])
def test_a_confirmation_ses_refuses_for_good_does_not_hold_the_lead(
    stack: StackTemplate,
    consultations: Any,
    monkeypatch: pytest.MonkeyPatch,
    boto_hooks: Hooks,
    code: str,
) -> None:
    # Given SES refusing the patient's address (as the sandbox refuses unverified ones, or as a
    # policy that does not cover the recipient's identity denies it)
    lead_id = submit(consultations)
    _refuse_emails_to(LEAD["email"], boto_hooks, code)
    notifier = load_handler(stack, "NotifierFunction", monkeypatch)
    # When the lead is notified
    assert invoke(notifier, notifier_event(stack)) == {"batchItemFailures": []}
    # Then staff have it, and it is done: no retries, no sweeper, no alarm every 15 minutes
    assert [email["To"] for email in sent_emails()] == ["staff@example-clinic.com"]
    assert "notified_at" in _lead(stack, lead_id)


def _refuse_emails_to(address: str, boto_hooks: Hooks, code: str = "MessageRejected") -> None:
    fault = faults.aws_error(code)

    def spot(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["refuse"] = f"To: {address}".encode() in params["Content"]["Raw"]["Data"]

    def refuse(context: dict[str, Any], **kwargs: Any) -> Any:
        return fault.hook(**kwargs) if context.get("refuse") else None

    boto_hooks("before-parameter-build.sesv2.SendEmail", spot)
    boto_hooks("before-call.sesv2.SendEmail", refuse, first=True)


def test_sweeper_takes_the_newest_missed_lead_first(
    stack: StackTemplate, monkeypatch: pytest.MonkeyPatch
) -> None:
    _put_unnotified_lead(stack, "01OLDESTLEAD00000000000000", timedelta(days=3))
    _put_unnotified_lead(stack, "01NEWERLEAD000000000000000", timedelta(minutes=30))
    sweeper = load_handler(stack, "SweeperFunction", monkeypatch, SWEEP_BATCH="1")
    assert sweeper.sweep_handler({}, _context()) == {"recovered": 1, "released": 0, "failed": 0}
    (email,) = sent_emails()
    assert "01NEWERLEAD000000000000000" in str(email["Subject"])


def test_sweeper_stops_while_it_still_has_time_to_finish(
    stack: StackTemplate, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.helpers import FakeLambdaContext

    _put_unnotified_lead(stack, "01LATELEAD0000000000000000", timedelta(minutes=30))
    sweeper = load_handler(stack, "SweeperFunction", monkeypatch)
    assert sweeper.sweep_handler({}, FakeLambdaContext(remaining_ms=5_000)) == {
        "recovered": 0,
        "released": 0,
        "failed": 0,
    }
    assert sent_emails() == []


def test_every_email_is_sent_with_the_stacks_tls_requiring_configuration_set(
    stack: StackTemplate, consultations: Any, monkeypatch: pytest.MonkeyPatch, boto_hooks: Hooks
) -> None:
    # Given a lead with an email address (so staff and the patient are both emailed)
    submit(consultations)
    used: list[str | None] = []
    boto_hooks(
        "provide-client-params.sesv2.SendEmail",
        lambda params, **_: used.append(params.get("ConfigurationSetName")),
    )
    # When it is notified
    notifier = load_handler(stack, "NotifierFunction", monkeypatch)
    assert invoke(notifier, notifier_event(stack)) == {"batchItemFailures": []}
    # Then both sends named the stack's configuration set, and that set refuses plaintext delivery
    assert len(sent_emails()) == 2
    assert used == [stack.refs["EmailConfigurationSet"]] * 2
    configuration = boto3.client("sesv2").get_configuration_set(ConfigurationSetName=used[0])
    assert configuration["DeliveryOptions"]["TlsPolicy"] == "REQUIRE"


@pytest.mark.parametrize(
    "code", ["AccessDeniedException", "MessageRejected", "MailFromDomainNotVerifiedException"]
)
def test_a_staff_email_ses_refuses_keeps_the_lead_pending_and_says_why(
    stack: StackTemplate,
    consultations: Any,
    monkeypatch: pytest.MonkeyPatch,
    boto_hooks: Hooks,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    code: str,
) -> None:
    # Given SES refusing the staff email (a staff address unverified in the sandbox, a policy
    # that does not cover it, the sender's domain not verified)
    lead_id = submit(consultations, email=None, preferred_contact="phone")
    _refuse_emails_to("staff@example-clinic.com", boto_hooks, code)
    notifier = load_handler(stack, "NotifierFunction", monkeypatch)
    # When the lead is notified
    event = notifier_event(stack)
    response = invoke(notifier, event)
    # Then its record is retried, the lead stays pending for the sweeper, nothing was sent
    assert response == {
        "batchItemFailures": [{"itemIdentifier": event["Records"][0]["dynamodb"]["SequenceNumber"]}]
    }
    assert _lead(stack, lead_id)["notify_state"] == "pending"
    assert sent_emails() == []
    # And the refusal has a metric of its own (its alarm), and a log line naming the cause
    assert '"StaffEmailRefused":[1.0]' in capsys.readouterr().out
    (refusal,) = [record for record in caplog.records if "SES refused the staff email" in record.getMessage()]
    assert refusal.levelname == "ERROR"
    assert (refusal.error_code, refusal.lead_id) == (code, lead_id)  # type: ignore[attr-defined]


def test_the_sweeper_counts_a_refused_staff_email_and_sends_it_once_ses_accepts(
    stack: StackTemplate,
    monkeypatch: pytest.MonkeyPatch,
    boto_hooks: Hooks,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a missed lead whose staff email SES refuses once (then the operator fixes the cause)
    _put_unnotified_lead(stack, "01REFUSEDLEAD0000000000000", timedelta(minutes=20))
    faults.inject(boto_hooks, "sesv2.SendEmail", faults.aws_error("AccessDeniedException", 403, times=1))
    sweeper = load_handler(stack, "SweeperFunction", monkeypatch)
    # When the sweeper runs twice
    assert sweeper.sweep_handler({}, _context()) == {"recovered": 0, "released": 0, "failed": 1}
    assert '"StaffEmailRefused":[1.0]' in capsys.readouterr().out
    assert sweeper.sweep_handler({}, _context()) == {"recovered": 1, "released": 0, "failed": 0}
    # Then staff get it exactly once
    (email,) = sent_emails()
    assert "01REFUSEDLEAD0000000000000" in str(email["Subject"])


def test_a_throttled_staff_email_is_an_ordinary_retry_not_a_refusal(
    stack: StackTemplate,
    consultations: Any,
    monkeypatch: pytest.MonkeyPatch,
    boto_hooks: Hooks,
    capsys: pytest.CaptureFixture[str],
) -> None:
    submit(consultations, email=None, preferred_contact="phone")
    faults.inject(boto_hooks, "sesv2.SendEmail", faults.aws_error("TooManyRequestsException", 429))
    notifier = load_handler(stack, "NotifierFunction", monkeypatch)
    assert invoke(notifier, notifier_event(stack))["batchItemFailures"]
    out = capsys.readouterr().out
    assert '"NotificationFailed":[1.0]' in out
    assert "StaffEmailRefused" not in out
