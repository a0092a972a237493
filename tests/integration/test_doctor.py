"""`clinic doctor` against a deployed stack, with moto as that stack's AWS.

The deployed view is made as CloudFormation would leave it: the template's resources
provisioned from their definitions, its functions created in moto's Lambda with the
template's environment, the notifier's stream mapping and the sweeper's rule from the
template's events. Each test then breaks one thing the way it breaks in AWS, and the
doctor must say ✗ with the fix, and exit 1. The API's lines (GET /articles, CORS) run
against the local stack's gateway in tests/e2e/test_doctor.py.

moto lacks two answers AWS gives: sesv2 GetAccount (answered here through a botocore hook,
in GetAccount's documented shape) and the verification of an SES identity, which AWS makes
when DNS carries its records (set on moto's identity, as DNS would).
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from boto3.dynamodb.types import TypeSerializer
from botocore.awsrequest import AWSResponse
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from moto.sns.models import sns_backends

from clinic.leads.record import TEST_LEAD_NAME, TEST_LEAD_SOURCE, Consent, StoredLead
from clinic_infra import doctor
from clinic_infra.cli import main
from clinic_infra.doctor import CHECKS, FAIL, PASS, run_doctor
from clinic_infra.provision import provision
from clinic_infra.stack_view import StackLookupError, StackResource, StackView, deployed_stack
from clinic_infra.template import StackTemplate
from tests.e2e.conftest import free_port
from tests.faults import aws_error, inject
from tests.integration.conftest import Hooks

REGION = "us-east-1"
POWERTOOLS = "AWSLambdaPowertoolsPythonV3-python313-arm64"
# Staff outside the sender's domain, as a clinic's staff often are (its own mail provider).
STAFF = ("frontdesk@clinic-mail.example", "nurse@clinic-mail.example")
# What moto can answer; the API's lines need an HTTP API (tests/e2e/test_doctor.py).
MOTO_CHECKS = [check for check in CHECKS if check.name not in {"articles", "cors"}]


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("clinic/__init__.py", "")
    return buffer.getvalue()


def _deploy_functions(template: StackTemplate) -> list[StackResource]:
    """The template's functions, stream mapping and schedule, as SAM and CloudFormation create them."""
    role = boto3.client("iam").create_role(RoleName="clinic-functions", AssumeRolePolicyDocument="{}")["Role"]
    lambda_ = boto3.client("lambda")
    layer = lambda_.publish_layer_version(LayerName=POWERTOOLS, Content={"ZipFile": _zip()})[
        "LayerVersionArn"
    ]
    resources = []
    for logical_id, spec in template.functions().items():
        name = template.physical_name(logical_id)
        arn = lambda_.create_function(
            FunctionName=name,
            Runtime="python3.13",
            Role=role["Arn"],
            Handler=spec.handler,
            Code={"ZipFile": _zip()},
            Environment={"Variables": spec.environment},
            Layers=[layer],
        )["FunctionArn"]
        resources.append(StackResource(logical_id, "AWS::Lambda::Function", name))
        for event_name, event in spec.events.items():
            properties = template.resolve(event.get("Properties", {}))
            if event["Type"] == "DynamoDB":
                lambda_.create_event_source_mapping(
                    EventSourceArn=properties["Stream"],
                    FunctionName=name,
                    StartingPosition=properties["StartingPosition"],
                    BatchSize=properties["BatchSize"],
                    FilterCriteria=properties["FilterCriteria"],
                )
            elif event["Type"] == "Schedule":
                rule = template.physical_name(logical_id + event_name)
                events = boto3.client("events")
                events.put_rule(Name=rule, ScheduleExpression=properties["Schedule"])
                events.put_targets(Rule=rule, Targets=[{"Id": logical_id, "Arn": arn}])
                resources.append(StackResource(logical_id + event_name, "AWS::Events::Rule", rule))
    return resources


def _verify_in_dns(identity: str, dkim: str = "SUCCESS") -> None:
    """What SES does once the identity's DKIM records are in DNS (moto has no DNS)."""
    boto3.client("sesv2").create_email_identity(EmailIdentity=identity)
    moto_identity = ses_backends[DEFAULT_ACCOUNT_ID][REGION].email_identities[identity]
    moto_identity.verified_for_sending_status = dkim == "SUCCESS"
    moto_identity.dkim_attributes["Status"] = dkim


@pytest.fixture
def template(aws: None) -> StackTemplate:
    return provision(
        StackTemplate({"OpsAlarmEmail": "ops@example-clinic.test", "StaffEmailAddresses": ",".join(STAFF)})
    )


@pytest.fixture
def view(template: StackTemplate) -> StackView:
    declared = template.document["Resources"]
    resources = [
        StackResource(logical_id, declared[logical_id]["Type"], str(ref))
        for logical_id, ref in template.refs.items()
    ] + _deploy_functions(template)
    parameters = {
        key: ",".join(value) if isinstance(value, list) else value
        for key, value in template.parameters.items()
    }
    _verify_in_dns(template.parameters["SenderEmailAddress"].split("@")[1])
    # As the runbook leaves it after the first deploy.
    boto3.client("dynamodb").update_table(
        TableName=template.refs["LeadsTable"], DeletionProtectionEnabled=True
    )
    return StackView(template.stack_name, "https://api.invalid/", parameters, resources, boto3.client)


def ses_account(hooks: Hooks, *, production: bool = True, sending: bool = True) -> None:
    """sesv2 GetAccount's answer (moto does not implement it)."""

    def answer(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        parsed = {
            "ProductionAccessEnabled": production,
            "SendingEnabled": sending,
            "EnforcementStatus": "HEALTHY" if sending else "SHUTDOWN",
            "ResponseMetadata": {"HTTPStatusCode": 200},
        }
        return AWSResponse("https://email.invalid", 200, {}, None), parsed  # type: ignore[arg-type]

    hooks("before-call.sesv2.GetAccount", answer, first=True)


@pytest.fixture
def healthy(view: StackView, boto_hooks: Hooks) -> StackView:
    ses_account(boto_hooks)
    return view


def diagnose(view: StackView, checks: list[doctor.Check] | None = None) -> tuple[int, list[str]]:
    out = io.StringIO()
    status = run_doctor(view, out, checks=MOTO_CHECKS if checks is None else checks)
    return status, out.getvalue().splitlines()


def line(lines: list[str], title: str) -> tuple[str, str]:
    """The line for `title` and its fix line (or "")."""
    for index, text in enumerate(lines):
        if f" {title}: " in text:
            follows = lines[index + 1] if index + 1 < len(lines) else ""
            return text, follows.strip() if follows.startswith("    fix: ") else ""
    raise AssertionError(f"no line for {title!r} in:\n" + "\n".join(lines))


def title(name: str) -> str:
    return next(check.title for check in CHECKS if check.name == name)


def assert_fails(view: StackView, name: str, *found: str) -> str:
    """The check `name` is ✗ and says `found`; the run exits 1; returns the fix."""
    status, lines = diagnose(view)
    text, fix = line(lines, title(name))
    assert text.startswith(FAIL), text
    for part in found:
        assert part in text
    assert fix.startswith("fix: ")
    assert status == 1
    others = [item for item in lines if item.startswith(FAIL) and f" {title(name)}: " not in item]
    assert not others, others  # only what the test broke
    return fix


# ------------------------------------------------------------------ the healthy stack
def test_a_healthy_deployed_stack_passes_every_check_moto_can_answer(healthy: StackView) -> None:
    status, lines = diagnose(healthy)
    for check in MOTO_CHECKS:
        text, fix = line(lines, check.title)
        assert text.startswith(PASS), text
        assert not fix
    assert lines[-1].startswith(f"{len(MOTO_CHECKS)} ✓, 0 ✗, 0 not checkable locally")
    assert status == 0


# ------------------------------------------------------------------ each way it breaks
def test_an_alarm_without_an_action_fails(healthy: StackView) -> None:
    alarm = healthy.physical_id("NotifierErrorsAlarm")
    cloudwatch = boto3.client("cloudwatch")
    definition = cloudwatch.describe_alarms(AlarmNames=[alarm])["MetricAlarms"][0]
    keys = ("MetricName", "Namespace", "Statistic", "Period", "EvaluationPeriods", "Threshold")
    cloudwatch.put_metric_alarm(
        AlarmName=alarm,
        ComparisonOperator=definition["ComparisonOperator"],
        Dimensions=definition["Dimensions"],
        **{key: definition[key] for key in keys},
    )
    fix = assert_fails(healthy, "alarms", f"no action: {alarm}")
    assert "deploy the stack again" in fix


def test_an_alarm_whose_actions_are_disabled_fails(healthy: StackView) -> None:
    alarm = healthy.physical_id("DeadLetterDepthAlarm")
    boto3.client("cloudwatch").disable_alarm_actions(AlarmNames=[alarm])
    fix = assert_fails(healthy, "alarms", f"actions disabled: {alarm}")
    assert f"aws cloudwatch enable-alarm-actions --alarm-names {alarm}" in fix


def _store_lead(view: StackView, created: datetime, **extra: Any) -> str:
    lead_id = f"01DOCTOR{int(created.timestamp() * 1000):018d}"
    record = StoredLead.model_validate(
        {
            "id": lead_id,
            "created_at": created,
            **{"name": "Pat Example", "phone": "+14155550123", "preferred_contact": "phone", **extra},
            "consent": Consent(version="v1", given_at=created),
            "client_hash": "0" * 64,
            "expires_at": int(created.timestamp()) + 86400,
        }
    )
    item = {name: TypeSerializer().serialize(value) for name, value in record.to_item().items()}
    boto3.client("dynamodb").put_item(TableName=view.physical_id("LeadsTable"), Item=item)
    return lead_id


def test_a_lead_pending_for_more_than_15_minutes_fails(healthy: StackView) -> None:
    now = datetime.now(UTC)
    _store_lead(healthy, now - timedelta(minutes=5))  # recent: the stream or the sweeper has time
    assert diagnose(healthy)[0] == 0
    old = _store_lead(healthy, now - timedelta(minutes=16))
    fix = assert_fails(healthy, "pending", "1 lead(s) not notified after 15 minutes", old)
    assert "logs for these ids" in fix


def test_a_leads_table_without_deletion_protection_fails(healthy: StackView) -> None:
    table = healthy.physical_id("LeadsTable")
    boto3.client("dynamodb").update_table(TableName=table, DeletionProtectionEnabled=False)
    fix = assert_fails(healthy, "protected", table)
    assert f"aws dynamodb update-table --table-name {table} --deletion-protection-enabled" in fix


def test_a_message_in_the_dead_letter_queue_fails(healthy: StackView) -> None:
    queue = healthy.physical_id("NotificationDeadLetterQueue")
    boto3.client("sqs").send_message(QueueUrl=queue, MessageBody=json.dumps({"DDBStreamBatchInfo": {}}))
    fix = assert_fails(healthy, "dlq", "holds 1 failed stream batch")
    assert f"aws sqs purge-queue --queue-url {queue}" in fix


def test_an_unconfirmed_ops_subscription_fails(healthy: StackView) -> None:
    topic = healthy.physical_id("OpsTopic")
    (subscription,) = sns_backends[DEFAULT_ACCOUNT_ID][REGION]._get_topic_subscriptions(
        sns_backends[DEFAULT_ACCOUNT_ID][REGION].get_topic(topic)
    )
    subscription.arn = "PendingConfirmation"  # how SNS lists an email nobody confirmed yet
    fix = assert_fails(healthy, "ops", "nobody confirmed", "ops@example-clinic.test")
    assert "Confirm subscription" in fix
    assert f"aws sns subscribe --topic-arn {topic}" in fix


def test_an_ops_topic_without_subscription_fails(healthy: StackView) -> None:
    sns = boto3.client("sns")
    for item in sns.list_subscriptions_by_topic(TopicArn=healthy.physical_id("OpsTopic"))["Subscriptions"]:
        sns.unsubscribe(SubscriptionArn=item["SubscriptionArn"])
    fix = assert_fails(healthy, "ops", "no subscription")
    assert "OpsAlarmEmail" in fix


def test_a_configuration_set_without_tls_require_fails(healthy: StackView) -> None:
    name = healthy.environment("NotifierFunction")["SES_CONFIGURATION_SET"]
    sesv2 = boto3.client("sesv2")
    sesv2.delete_configuration_set(ConfigurationSetName=name)
    sesv2.create_configuration_set(ConfigurationSetName=name, DeliveryOptions={"TlsPolicy": "OPTIONAL"})
    fix = assert_fails(healthy, "tls", f"{name} has TlsPolicy OPTIONAL")
    assert "--tls-policy REQUIRE" in fix


def test_a_function_sending_without_the_configuration_set_fails(healthy: StackView) -> None:
    lambda_ = boto3.client("lambda")
    name = healthy.physical_id("SweeperFunction")
    variables = healthy.environment("SweeperFunction")
    del variables["SES_CONFIGURATION_SET"]
    lambda_.update_function_configuration(FunctionName=name, Environment={"Variables": variables})
    assert_fails(healthy, "tls", "SweeperFunction send without a configuration set")


def test_a_disabled_stream_mapping_fails(healthy: StackView) -> None:
    lambda_ = boto3.client("lambda")
    (mapping,) = healthy.stream_mappings("NotifierFunction")
    lambda_.update_event_source_mapping(UUID=mapping["UUID"], Enabled=False)
    fix = assert_fails(healthy, "stream", "mapping is Disabled")
    assert f"aws lambda update-event-source-mapping --uuid {mapping['UUID']} --enabled" in fix


def test_a_stream_mapping_without_the_insert_filter_fails(healthy: StackView) -> None:
    lambda_ = boto3.client("lambda")
    (mapping,) = healthy.stream_mappings("NotifierFunction")
    lambda_.update_event_source_mapping(
        UUID=mapping["UUID"], FilterCriteria={"Filters": [{"Pattern": '{"eventName": ["REMOVE"]}'}]}
    )
    assert_fails(healthy, "stream", "not inserts only")


def test_a_disabled_sweeper_schedule_fails(healthy: StackView) -> None:
    # (the quarantine digest has a daily rule of its own)
    (rule,) = [rule for rule in healthy.of_type("AWS::Events::Rule") if rule.logical_id.startswith("Sweeper")]
    boto3.client("events").disable_rule(Name=rule.physical_id)
    fix = assert_fails(healthy, "schedule", "DISABLED")
    assert f"aws events enable-rule --name {rule.physical_id}" in fix


def test_the_sandbox_with_an_unverified_staff_address_fails(view: StackView, boto_hooks: Hooks) -> None:
    ses_account(boto_hooks, production=False)
    fix = assert_fails(view, "ses", "in the sandbox", ", ".join(STAFF))
    assert "request production access" in fix
    assert "aws sesv2 create-email-identity --email-identity ADDRESS" in fix
    _verify_in_dns(STAFF[0])
    assert_fails(view, "ses", f"not verified: {STAFF[1]}")
    _verify_in_dns(STAFF[1].split("@")[1])  # a verified domain covers every address at it
    status, lines = diagnose(view)
    text, _ = line(lines, title("ses"))
    assert text == f"{PASS} {title('ses')}: in the sandbox, every staff address verified (2); " + (
        "SES refuses patients' confirmations until production access"
    )
    assert status == 0


def test_paused_sending_fails(view: StackView, boto_hooks: Hooks) -> None:
    ses_account(boto_hooks, sending=False)
    assert_fails(view, "ses", "sending is paused", "SHUTDOWN")


def test_a_sender_domain_without_dkim_fails(
    view: StackView, template: StackTemplate, boto_hooks: Hooks
) -> None:
    ses_account(boto_hooks)
    domain = template.parameters["SenderEmailAddress"].split("@")[1]
    moto_identity = ses_backends[DEFAULT_ACCOUNT_ID][REGION].email_identities[domain]
    moto_identity.dkim_attributes["Status"] = "PENDING"  # verified by its address, DNS not yet done
    fix = assert_fails(view, "sender", f"{domain} has DKIM status PENDING")
    assert "SenderDkimRecords" in fix
    boto3.client("sesv2").delete_email_identity(EmailIdentity=domain)
    boto3.client("sesv2").delete_email_identity(EmailIdentity=template.parameters["SenderEmailAddress"])
    fix = assert_fails(view, "sender", "is not a verified SES identity")
    assert "CreateSenderIdentity=true" in fix


def test_an_unresolvable_powertools_layer_fails(healthy: StackView) -> None:
    lambda_ = boto3.client("lambda")
    lambda_.delete_layer_version(LayerName=POWERTOOLS, VersionNumber=1)
    fix = assert_fails(
        healthy, "layer", f"not found: arn:aws:lambda:{REGION}:{DEFAULT_ACCOUNT_ID}:layer:{POWERTOOLS}:1"
    )
    assert "PowertoolsLayerVersion" in fix


def test_a_check_the_credentials_may_not_make_fails_with_the_permission_to_add(
    healthy: StackView, boto_hooks: Hooks
) -> None:
    inject(boto_hooks, "monitoring.DescribeAlarms", aws_error("AccessDenied", 403))
    fix = assert_fails(healthy, "alarms", "could not check")
    assert fix == "fix: allow these credentials to call DescribeAlarms"


# ------------------------------------------------------------------ the test lead's cleanup
def test_the_doctor_deletes_only_its_own_test_lead(healthy: StackView) -> None:
    """Its DeleteItem is conditional on the test lead's name and source, so an id mix-up or a
    link carrying utm_source=clinic-doctor cannot remove a patient's lead."""
    dynamodb = boto3.client("dynamodb")
    table = healthy.physical_id("LeadsTable")
    now = datetime.now(UTC)
    patient = _store_lead(healthy, now, source={"utm_source": TEST_LEAD_SOURCE})
    test_lead = _store_lead(
        healthy, now - timedelta(seconds=1), name=TEST_LEAD_NAME, source={"utm_source": TEST_LEAD_SOURCE}
    )
    assert doctor._delete_test_lead(dynamodb, table, patient) is False
    assert doctor._delete_test_lead(dynamodb, table, test_lead) is True
    assert "Item" in dynamodb.get_item(TableName=table, Key={"id": {"S": patient}})
    assert "Item" not in dynamodb.get_item(TableName=table, Key={"id": {"S": test_lead}})


# ------------------------------------------------------------------ finding the stack in CloudFormation
STACK_TEMPLATE = {
    # String, not CommaDelimitedList: moto's DescribeStacks renders a list parameter as a Python
    # list ("['a', 'b']"), where AWS returns the value as given ("a,b").
    "Parameters": {"AllowedOrigins": {"Type": "String"}, "StaffEmailAddresses": {"Type": "String"}},
    "Resources": {
        "LeadsTable": {
            "Type": "AWS::DynamoDB::Table",
            "Properties": {
                "BillingMode": "PAY_PER_REQUEST",
                "AttributeDefinitions": [
                    {"AttributeName": name, "AttributeType": "S"}
                    for name in ("id", "notify_state", "created_at")
                ],
                "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
                "GlobalSecondaryIndexes": [
                    {
                        "IndexName": "PendingNotification",
                        "KeySchema": [
                            {"AttributeName": "notify_state", "KeyType": "HASH"},
                            {"AttributeName": "created_at", "KeyType": "RANGE"},
                        ],
                        "Projection": {"ProjectionType": "KEYS_ONLY"},
                    }
                ],
            },
        },
        "NotificationDeadLetterQueue": {"Type": "AWS::SQS::Queue"},
        "OpsTopic": {"Type": "AWS::SNS::Topic"},
    },
    "Outputs": {"ApiUrl": {"Value": "https://abc123.execute-api.us-east-1.amazonaws.com/"}},
}


def _create_stack(name: str, template: dict[str, Any]) -> None:
    boto3.client("cloudformation").create_stack(
        StackName=name,
        TemplateBody=json.dumps(template),
        Parameters=[
            {"ParameterKey": "AllowedOrigins", "ParameterValue": "https://a.example,https://b.example"},
            {"ParameterKey": "StaffEmailAddresses", "ParameterValue": "one@clinic.example"},
        ],
    )


def test_a_deployed_stack_is_found_through_cloudformation(aws: None) -> None:
    _create_stack("clinic-backend", STACK_TEMPLATE)
    view = deployed_stack("clinic-backend")
    assert view.api_url == "https://abc123.execute-api.us-east-1.amazonaws.com"
    assert view.parameter_list("AllowedOrigins") == ["https://a.example", "https://b.example"]
    queue_url = boto3.client("sqs").list_queues()["QueueUrls"][0]
    assert view.physical_id("NotificationDeadLetterQueue") == queue_url
    topic_arn = boto3.client("sns").list_topics()["Topics"][0]["TopicArn"]
    assert view.physical_id("OpsTopic") == topic_arn
    table = view.physical_id("LeadsTable")
    assert boto3.client("dynamodb").describe_table(TableName=table)["Table"]["TableName"] == table
    assert [resource.logical_id for resource in view.of_type("AWS::SQS::Queue")] == [
        "NotificationDeadLetterQueue"
    ]
    with pytest.raises(StackLookupError, match="no resource NotifierFunction"):
        view.physical_id("NotifierFunction")


def test_a_stack_without_an_api_url_needs_one_given(aws: None) -> None:
    _create_stack("no-outputs", {**STACK_TEMPLATE, "Outputs": {}})
    with pytest.raises(StackLookupError, match="pass --api-url"):
        deployed_stack("no-outputs")
    assert deployed_stack("no-outputs", api_url="https://api.example/").api_url == "https://api.example"


def test_clinic_doctor_on_a_stack_that_does_not_exist_exits_1(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["doctor", "--stack", "no-such-stack"]) == 1
    assert "✗ CloudFormation has no stack no-such-stack" in capsys.readouterr().err


def test_clinic_doctor_on_a_deployed_stack_reports_every_line(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """The whole command on a stack moto's CloudFormation can hold: what it lacks is ✗, with
    the reason, and nothing is ✓ that was not checked."""
    _create_stack("clinic-backend", STACK_TEMPLATE)
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens: the API lines must fail
    assert main(["doctor", "--stack", "clinic-backend", "--api-url", closed]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"clinic doctor: will leads reach staff? Checking stack clinic-backend ({closed})"
    marks = {check.name: line(lines, check.title)[0][0] for check in CHECKS}
    passing = {name for name, mark in marks.items() if mark == PASS}
    assert passing == {"pending", "dlq"}  # this small stack has their table and queue, nothing else
    assert "could not connect" in line(lines, title("articles"))[0]
    assert lines[-1].startswith(f"2 ✓, {len(CHECKS) - 2} ✗, 0 not checkable locally")


def test_a_staff_pool_that_does_not_require_mfa_fails(healthy: StackView) -> None:
    assert diagnose(healthy)[0] == 0  # the template's pool requires TOTP
    pool = healthy.physical_id("StaffUserPool")
    boto3.client("cognito-idp").set_user_pool_mfa_config(
        UserPoolId=pool, SoftwareTokenMfaConfiguration={"Enabled": True}, MfaConfiguration="OPTIONAL"
    )
    fix = assert_fails(healthy, "mfa", pool, "MFA is OPTIONAL, not required")
    assert f"--user-pool-id {pool} --mfa-configuration ON" in fix
