"""The notification path's wiring in the template: stream, filter, retries, DLQ, alarms, schedule."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.infrastructure.conftest import resources_of_type


@pytest.fixture
def stream_event(template: dict[str, Any]) -> dict[str, Any]:
    return template["Resources"]["NotifierFunction"]["Properties"]["Events"]["NewLeads"]["Properties"]  # type: ignore[no-any-return]


def test_notifier_reads_the_leads_stream_inserts_only(stream_event: dict[str, Any]) -> None:
    assert stream_event["Stream"] == {"Fn::GetAtt": ["LeadsTable", "StreamArn"]}
    (only,) = stream_event["FilterCriteria"]["Filters"]
    assert json.loads(only["Pattern"]) == {"eventName": ["INSERT"]}


def test_failed_records_are_reported_bisected_retried_a_bounded_time_then_dead_lettered(
    stream_event: dict[str, Any],
) -> None:
    assert stream_event["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert stream_event["BisectBatchOnFunctionError"] is True
    assert 1 <= stream_event["MaximumRetryAttempts"] <= 10
    assert 60 <= stream_event["MaximumRecordAgeInSeconds"] <= 3600
    assert stream_event["DestinationConfig"]["OnFailure"] == {
        "Type": "SQS",
        "Destination": {"Fn::GetAtt": ["NotificationDeadLetterQueue", "Arn"]},
    }


def test_dead_letter_queue_and_topics_are_encrypted_with_the_data_key(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    assert resources["NotificationDeadLetterQueue"]["Properties"]["KmsMasterKeyId"] == {"Ref": "DataKey"}
    for topic in ("StaffTopic", "OpsTopic"):
        assert resources[topic]["Properties"]["KmsMasterKeyId"] == {"Ref": "DataKey"}


def test_staff_topic_data_protection_denies_email_addresses_and_phone_numbers(
    template: dict[str, Any],
) -> None:
    condition, policy, otherwise = template["Resources"]["StaffTopic"]["Properties"]["DataProtectionPolicy"][
        "Fn::If"
    ]
    assert condition == "UseSnsMessageDataProtection"
    assert otherwise == {"Ref": "AWS::NoValue"}
    (statement,) = policy["Statement"]
    assert statement["DataDirection"] == "Inbound"
    assert statement["Operation"] == {"Deny": {}}
    identifiers = [item["Fn::Sub"].rsplit("/", 1)[1] for item in statement["DataIdentifier"]]
    assert "EmailAddress" in identifiers
    assert "PhoneNumber-US" in identifiers


def test_sweeper_runs_every_15_minutes(template: dict[str, Any]) -> None:
    sweeper = template["Resources"]["SweeperFunction"]["Properties"]
    assert sweeper["Handler"] == "clinic.notifications.handler.sweep_handler"
    assert sweeper["Events"]["Every15Minutes"] == {
        "Type": "Schedule",
        "Properties": {"Schedule": "rate(15 minutes)"},
    }
    assert sweeper["Environment"]["Variables"]["SWEEP_AFTER_SECONDS"] == "600"


def test_leads_table_has_the_sparse_pending_index(template: dict[str, Any]) -> None:
    indexes = template["Resources"]["LeadsTable"]["Properties"]["GlobalSecondaryIndexes"]
    (index,) = [index for index in indexes if index["IndexName"] == "PendingNotification"]
    assert [key["AttributeName"] for key in index["KeySchema"]] == ["notify_state", "created_at"]
    assert index["Projection"] == {"ProjectionType": "KEYS_ONLY"}


def _alarm_on(template: dict[str, Any], metric: str, dimension_value: Any) -> dict[str, Any]:
    for alarm in resources_of_type(template, "AWS::CloudWatch::Alarm").values():
        props = alarm["Properties"]
        if props["MetricName"] == metric and any(
            dim["Value"] == dimension_value for dim in props["Dimensions"]
        ):
            return props  # type: ignore[no-any-return]
    raise AssertionError(f"no alarm on {metric} for {dimension_value}")


@pytest.mark.parametrize(
    ("metric", "dimension"),
    [
        ("Errors", {"Ref": "NotifierFunction"}),
        ("Errors", {"Ref": "SweeperFunction"}),
        ("Errors", {"Ref": "QuarantineDigestFunction"}),
        ("Errors", {"Ref": "ConsultationsFunction"}),
        ("Errors", {"Ref": "ArticlesFunction"}),
        ("Throttles", {"Ref": "ConsultationsFunction"}),
        ("5xx", {"Ref": "HttpApi"}),
        ("ApproximateNumberOfMessagesVisible", {"Fn::GetAtt": ["NotificationDeadLetterQueue", "QueueName"]}),
        ("IteratorAge", {"Ref": "NotifierFunction"}),
        ("NotificationFailed", "notifications"),
        ("SweeperRecovered", "notifications"),
        ("LeadStoreFailed", "consultations"),
        ("StaffEmailRefused", "notifications"),
        ("LeadQuarantined", "consultations"),
    ],
)
def test_alarm_goes_to_the_ops_topic(template: dict[str, Any], metric: str, dimension: Any) -> None:
    alarm = _alarm_on(template, metric, dimension)
    assert alarm["AlarmActions"] == [{"Ref": "OpsTopic"}]
    assert alarm["TreatMissingData"] == "notBreaching"


def test_custom_metric_alarms_match_the_namespace_powertools_writes(template: dict[str, Any]) -> None:
    assert template["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"] == {
        "Ref": "AWS::StackName"
    }
    for metric, service in (
        ("SweeperRecovered", "notifications"),
        ("LeadStoreFailed", "consultations"),
        ("StaffEmailRefused", "notifications"),
        ("LeadQuarantined", "consultations"),
    ):
        assert _alarm_on(template, metric, service)["Namespace"] == {"Ref": "AWS::StackName"}


def test_ops_topic_always_has_the_operators_email_subscription(template: dict[str, Any]) -> None:
    subscription = template["Resources"]["OpsAlarmSubscription"]
    assert "Condition" not in subscription
    assert subscription["Properties"] == {
        "TopicArn": {"Ref": "OpsTopic"},
        "Protocol": "email",
        "Endpoint": {"Ref": "OpsAlarmEmail"},
    }


def test_key_policy_lets_alarms_publish_to_the_encrypted_ops_topic(template: dict[str, Any]) -> None:
    statements = template["Resources"]["DataKey"]["Properties"]["KeyPolicy"]["Statement"]
    cloudwatch = [
        s for s in statements if s.get("Principal", {}).get("Service") == "cloudwatch.amazonaws.com"
    ]
    assert cloudwatch
    assert "kms:Decrypt" in cloudwatch[0]["Action"]


def test_a_claim_outlives_the_notifier_but_not_by_minutes(template: dict[str, Any]) -> None:
    notifier = template["Resources"]["NotifierFunction"]["Properties"]
    lease = int(notifier["Environment"]["Variables"]["CLAIM_LEASE_SECONDS"])
    assert notifier["Timeout"] < lease <= 2 * notifier["Timeout"]


def test_the_staff_email_links_to_the_console_the_clinic_set_or_else_the_stacks_own() -> None:
    from clinic_infra.template import StackTemplate

    own = StackTemplate(stack_name="clinic", region="eu-west-1")
    custom = StackTemplate({"ConsoleUrl": "https://staff.example-clinic.com/staff"})
    for function in ("NotifierFunction", "SweeperFunction"):
        assert (
            own.functions()[function].environment["STAFF_CONSOLE_URL"]
            == "https://clinic-httpapi.execute-api.eu-west-1.amazonaws.com/staff"
        )
        assert custom.functions()[function].environment["STAFF_CONSOLE_URL"] == (
            "https://staff.example-clinic.com/staff"
        )
    assert own.resolve(own.document["Outputs"]["StaffConsoleUrl"]["Value"]) == (
        "https://clinic-httpapi.execute-api.eu-west-1.amazonaws.com/staff"
    )
    assert custom.resolve(custom.document["Outputs"]["StaffConsoleUrl"]["Value"]) == (
        "https://staff.example-clinic.com/staff"
    )


def test_the_quarantine_surge_alarm_fires_on_an_hour_far_past_the_usual_rate(
    template: dict[str, Any],
) -> None:
    alarm = _alarm_on(template, "LeadQuarantined", "consultations")
    assert (alarm["Statistic"], alarm["Period"], alarm["EvaluationPeriods"]) == ("Sum", 3600, 1)
    assert alarm["Threshold"] == {"Ref": "QuarantineAlarmPerHour"}
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert template["Parameters"]["QuarantineAlarmPerHour"]["Default"] == 20


def test_the_quarantine_digest_runs_daily_and_may_only_count_on_the_inbox_index_and_send(
    template: dict[str, Any],
) -> None:
    digest = template["Resources"]["QuarantineDigestFunction"]["Properties"]
    assert digest["Handler"] == "clinic.notifications.handler.digest_handler"
    assert digest["Events"]["Daily"] == {"Type": "Schedule", "Properties": {"Schedule": "rate(1 day)"}}
    statements = template["Resources"]["QuarantineDigestRole"]["Properties"]["Policies"][0]["PolicyDocument"][
        "Statement"
    ]
    data = [s for s in statements if str(s["Action"]).startswith("dynamodb:")]
    assert [(s["Action"], s["Resource"]) for s in data] == [
        ("dynamodb:Query", {"Fn::Sub": "${LeadsTable.Arn}/index/Inbox"})
    ]
