"""`clinic doctor`: will leads reach staff? One checklist, for a deployed stack or the local one.

Each line is ✓ (checked, fine), ✗ (checked, wrong: the fix follows) or ○ (moto cannot
answer it, so the local stack cannot show it; never counted as fine). The exit status is 1
when any line is ✗. The doctor only reads, except `--send-test-lead`, which stores one
marked lead through the public API and deletes it once staff have been emailed.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TextIO

from botocore.exceptions import ClientError

from clinic.leads.record import (
    CREATED_AT,
    KEY,
    NOTIFIED_AT,
    NOTIFY_PENDING,
    NOTIFY_STATE,
    PENDING_INDEX,
    TEST_LEAD_NAME,
    TEST_LEAD_SOURCE,
    format_time,
    key,
    mark_attribute,
    parse_time,
)
from clinic.notifications.models import STAFF_EMAIL
from clinic_infra import proof_of_work
from clinic_infra.stack_view import StackLookupError, StackView, http_call

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef
    from mypy_boto3_lambda.type_defs import FilterTypeDef
    from mypy_boto3_sesv2.type_defs import GetEmailIdentityResponseTypeDef

PASS, FAIL, NOT_CHECKABLE = "✓", "✗", "○"

# The template's logical ids the checks look at.
NOTIFIER, SWEEPER = "NotifierFunction", "SweeperFunction"
SENDING_FUNCTIONS = (NOTIFIER, SWEEPER)
LEADS_TABLE, DEAD_LETTER_QUEUE, OPS_TOPIC = "LeadsTable", "NotificationDeadLetterQueue", "OpsTopic"
CONTENT_BUCKET = "ContentBucket"
INSERTS_ONLY = {"eventName": ["INSERT"]}  # the notifier's stream filter in template.yaml
PENDING_LIMIT = timedelta(minutes=15)
# Synthetic contact details: 555-0100 to 555-0199 are reserved for fiction in North America.
# No email address, so no confirmation email (and no bounce) goes anywhere.
TEST_LEAD_PHONE = "+14155550100"


@dataclass(frozen=True)
class Finding:
    mark: str
    detail: str
    fix: str = ""


def passed(detail: str) -> Finding:
    return Finding(PASS, detail)


def failed(detail: str, fix: str) -> Finding:
    return Finding(FAIL, detail, fix)


def not_checkable(reason: str) -> Finding:
    return Finding(NOT_CHECKABLE, f"not checkable locally ({reason})")


@dataclass(frozen=True)
class Check:
    name: str
    title: str
    run: Callable[[StackView], Finding]


# ------------------------------------------------------------------ the API
def check_articles(view: StackView) -> Finding:
    answer = http_call("GET", f"{view.api_url}/articles")
    if answer.status != 200:
        return failed(
            f"GET {view.api_url}/articles answered {answer.status}",
            "read the ArticlesFunction's log for this request; a 5xx is the function or S3 failing",
        )
    items = json.loads(answer.body).get("items") or []
    if not items:
        bucket = view.resources.get(CONTENT_BUCKET)
        target = bucket.physical_id if bucket else "<the ContentBucketName output>"
        return failed(
            "GET /articles answered with no articles", f"publish them: clinic publish --bucket {target}"
        )
    return passed(f"{len(items)} article(s) listed")


def check_cors(view: StackView) -> Finding:
    """The preflight a browser sends before the consultation form's POST, from each origin."""
    origins = view.parameter_list("AllowedOrigins")
    refused = []
    for origin in origins:
        answer = http_call(
            "OPTIONS",
            f"{view.api_url}/consultations",
            {
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type,idempotency-key",
            },
        )
        methods = _header_items(answer.headers.get("access-control-allow-methods"))
        headers = _header_items(answer.headers.get("access-control-allow-headers"))
        if (
            answer.headers.get("access-control-allow-origin") != origin
            or "post" not in methods
            or not {"content-type", "idempotency-key"} <= headers
        ):
            refused.append(origin)
    if refused:
        return failed(
            f"the preflight of POST /consultations is refused for {', '.join(refused)}",
            "deploy the stack again so API Gateway's CORS matches AllowedOrigins "
            "(exact scheme://host[:port], no trailing slash)",
        )
    return passed(f"the form's preflight is allowed from {', '.join(origins)}")


def _header_items(value: str | None) -> set[str]:
    return {item.strip().lower() for item in (value or "").split(",")}


# ------------------------------------------------------------------ delivery to the notifier
def check_stream_mapping(view: StackView) -> Finding:
    table = view.client("dynamodb").describe_table(TableName=view.physical_id(LEADS_TABLE))["Table"]
    stream_arn = table.get("LatestStreamArn")
    mappings = [m for m in view.stream_mappings(NOTIFIER) if m.get("EventSourceArn") == stream_arn]
    if not stream_arn or not mappings:
        return failed(
            "no event source mapping from the leads table's stream to the notifier",
            "deploy the stack again: NotifierFunction's NewLeads event creates it",
        )
    mapping = mappings[0]
    state = mapping.get("State")
    uuid_ = mapping.get("UUID", "<UUID>")
    if state != "Enabled":
        return failed(
            f"the leads stream mapping is {state}",
            f"aws lambda update-event-source-mapping --uuid {uuid_} --enabled",
        )
    patterns = [_pattern(item) for item in mapping.get("FilterCriteria", {}).get("Filters", [])]
    if INSERTS_ONLY not in patterns:
        return failed(
            f"the leads stream mapping's filter is not inserts only (found {patterns or 'none'})",
            "deploy the stack again: the template filters the stream to INSERT events",
        )
    problem = str(mapping.get("LastProcessingResult", ""))
    if problem.startswith("PROBLEM"):
        return failed(
            f"the leads stream mapping reports {problem}",
            "read the NotifierFunction's log: the notifier fails or cannot be invoked",
        )
    return passed("the leads stream's mapping is Enabled, filtered to INSERT events")


def _pattern(item: FilterTypeDef) -> Any:
    try:
        return json.loads(item.get("Pattern", ""))
    except ValueError:
        return item.get("Pattern")


def check_sweeper_schedule(view: StackView) -> Finding:
    rules = view.schedules(SWEEPER)
    if not rules:
        return failed(
            "no schedule invokes the sweeper",
            "deploy the stack again: SweeperFunction's Every15Minutes event creates the rule",
        )
    rule = rules[0]
    if rule.get("State") != "ENABLED":
        return failed(
            f"the sweeper's schedule is {rule.get('State')}",
            f"aws events enable-rule --name {rule.get('Name', '<rule>')}",
        )
    return passed(f"{rule.get('ScheduleExpression')}, ENABLED")


# ------------------------------------------------------------------ email
def check_ses_account(view: StackView) -> Finding:
    if view.local:
        return not_checkable("moto has no SES sandbox and no production access")
    account = view.client("sesv2").get_account()
    if not account.get("SendingEnabled", False):
        return failed(
            f"SES sending is paused for this account (EnforcementStatus {account.get('EnforcementStatus')})",
            "open SES's Account dashboard, resolve the review it names, then ask AWS to resume sending",
        )
    if account.get("ProductionAccessEnabled"):
        return passed("production access")
    staff = _staff_addresses(view)
    unverified = [address for address in staff if not _verified(view, address)]
    if unverified:
        return failed(
            f"SES is in the sandbox and these staff addresses are not verified: {', '.join(unverified)}",
            "request production access (SES console, Account dashboard), or verify each address: "
            "aws sesv2 create-email-identity --email-identity ADDRESS, then open the link SES mails to it",
        )
    return passed(
        f"in the sandbox, every staff address verified ({len(staff)}); "
        "SES refuses patients' confirmations until production access"
    )


def _staff_addresses(view: StackView) -> list[str]:
    return [
        item.strip()
        for item in view.environment(NOTIFIER).get("STAFF_ADDRESSES", "").split(",")
        if item.strip()
    ]


def _identity(view: StackView, name: str) -> GetEmailIdentityResponseTypeDef | None:
    ses = view.client("sesv2")
    try:
        return ses.get_email_identity(EmailIdentity=name)
    except ses.exceptions.NotFoundException:
        return None


def _verified(view: StackView, address: str) -> bool:
    """SES accepts an address when the address itself or its domain is a verified identity."""
    for name in (address, address.rsplit("@", 1)[-1]):
        identity = _identity(view, name)
        if identity and identity.get("VerifiedForSendingStatus"):
            return True
    return False


def check_sender_identity(view: StackView) -> Finding:
    if view.local:
        return not_checkable("moto verifies identities without DNS and signs nothing with DKIM")
    sender = view.environment(NOTIFIER).get("SENDER_ADDRESS", "")
    domain = sender.rsplit("@", 1)[-1]
    if not _verified(view, sender):
        return failed(
            f"the sender {sender} is not a verified SES identity (nor is {domain})",
            f"deploy with CreateSenderIdentity=true (it creates the identity of {domain}), then add "
            "the SenderDkimRecords output's CNAME records to its DNS",
        )
    # DKIM is verified on the domain's identity; an address identity signs with its domain's keys.
    identity = _identity(view, domain)
    dkim = identity.get("DkimAttributes", {}).get("Status", "NOT_STARTED") if identity else "NOT_STARTED"
    if dkim != "SUCCESS":
        return failed(
            f"the sender's domain {domain} has DKIM status {dkim}",
            f"add the CNAME records of the stack's SenderDkimRecords output to {domain}'s DNS "
            "(SES looks for them for up to 72 hours; aws sesv2 get-email-identity shows the tokens)",
        )
    return passed(f"{sender} is verified; {domain} signs with DKIM")


def check_configuration_set(view: StackView) -> Finding:
    names = {
        function: view.environment(function).get("SES_CONFIGURATION_SET", "")
        for function in SENDING_FUNCTIONS
    }
    missing = [function for function, name in names.items() if not name]
    if missing:
        return failed(
            f"{' and '.join(missing)} send without a configuration set (SES_CONFIGURATION_SET)",
            "deploy the current template: it sets SES_CONFIGURATION_SET to EmailConfigurationSet",
        )
    ses = view.client("sesv2")
    problems = []
    for name in sorted(set(names.values())):
        try:
            policy = (
                ses.get_configuration_set(ConfigurationSetName=name)
                .get("DeliveryOptions", {})
                .get("TlsPolicy")
            )
        except ses.exceptions.NotFoundException:
            problems.append(f"{name} does not exist")
            continue
        if policy != "REQUIRE":
            problems.append(f"{name} has TlsPolicy {policy or 'OPTIONAL'}")
    if problems:
        return failed(
            "; ".join(problems),
            "deploy the stack again (EmailConfigurationSet requires TLS), or: aws sesv2 "
            "put-configuration-set-delivery-options --configuration-set-name NAME --tls-policy REQUIRE",
        )
    return passed(
        f"notifier and sweeper send through {', '.join(sorted(set(names.values())))}, TlsPolicy REQUIRE"
    )


# ------------------------------------------------------------------ leads waiting
def check_dead_letter_queue(view: StackView) -> Finding:
    url = view.physical_id(DEAD_LETTER_QUEUE)
    attributes = view.client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    count = sum(int(value) for value in attributes.values())
    if count:
        return failed(
            f"the dead-letter queue holds {count} failed stream batch(es)",
            "each names a batch of leads the notifier failed on every retry: check the pending-leads "
            "line, find the cause in the NotifierFunction's log, then empty it: "
            f"aws sqs purge-queue --queue-url {url}",
        )
    return passed("0 messages")


def check_pending_leads(view: StackView, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> Finding:
    cutoff = format_time(now() - PENDING_LIMIT)
    paginator = view.client("dynamodb").get_paginator("query")
    pages = paginator.paginate(
        TableName=view.physical_id(LEADS_TABLE),
        IndexName=PENDING_INDEX,
        KeyConditionExpression=f"{NOTIFY_STATE} = :pending AND {CREATED_AT} < :cutoff",
        ExpressionAttributeValues={":pending": {"S": NOTIFY_PENDING}, ":cutoff": {"S": cutoff}},
        ScanIndexForward=True,  # oldest first
    )
    waiting = [(item[CREATED_AT]["S"], item[KEY]["S"]) for page in pages for item in page.get("Items", [])]
    if waiting:
        shown = ", ".join(lead_id for _, lead_id in waiting[:5]) + (" ..." if len(waiting) > 5 else "")
        return failed(
            f"{len(waiting)} lead(s) not notified after 15 minutes, the oldest since {waiting[0][0]}: "
            f"{shown}",
            "search the NotifierFunction's and SweeperFunction's logs for these ids (the NotificationFailed "
            "and StaffEmailRefused alarms name the cause); once fixed, the sweeper sends them within "
            "15 minutes",
        )
    return passed("none")


def check_leads_deletion_protection(view: StackView) -> Finding:
    """The template leaves it off so that a failed first create can roll back; the runbook turns
    it on once the stack exists, and CloudFormation leaves it as set."""
    if view.local:
        return not_checkable("turned on after a deployed stack's first deploy, not for the local stack")
    table = view.physical_id(LEADS_TABLE)
    described = view.client("dynamodb").describe_table(TableName=table)["Table"]
    if not described.get("DeletionProtectionEnabled", False):
        return failed(
            f"the leads table {table} can be deleted by a single call",
            f"aws dynamodb update-table --table-name {table} --deletion-protection-enabled",
        )
    return passed(f"{table} is protected against deletion")


def check_staff_pool_mfa(view: StackView) -> Finding:
    """Staff sign-ins reach patients' details: the pool must require a TOTP code at every sign-in,
    and only an administrator may create accounts."""
    pool = view.physical_id("StaffUserPool")
    cognito = view.client("cognito-idp")
    mfa = cognito.get_user_pool_mfa_config(UserPoolId=pool)
    described = cognito.describe_user_pool(UserPoolId=pool)["UserPool"]
    problems = []
    if mfa.get("MfaConfiguration") != "ON":
        problems.append(f"MFA is {mfa.get('MfaConfiguration', 'OFF')}, not required")
    if not mfa.get("SoftwareTokenMfaConfiguration", {}).get("Enabled"):
        problems.append("authenticator-app (TOTP) codes are not enabled")
    if not described.get("AdminCreateUserConfig", {}).get("AllowAdminCreateUserOnly"):
        problems.append("anyone may sign up")
    if problems:
        return failed(
            f"the staff pool {pool}: " + "; ".join(problems),
            f"aws cognito-idp set-user-pool-mfa-config --user-pool-id {pool} --mfa-configuration ON "
            "--software-token-mfa-configuration Enabled=true (and redeploy the template)",
        )
    return passed(f"{pool} requires a TOTP code at every sign-in; accounts are made by administrators")


# ------------------------------------------------------------------ someone hears of failures
def check_alarms(view: StackView) -> Finding:
    names = [resource.physical_id for resource in view.of_type("AWS::CloudWatch::Alarm")]
    if not names:
        return failed("the stack has no alarms", "deploy the current template: it defines the alarms")
    cloudwatch = view.client("cloudwatch")
    found = {}
    for start in range(0, len(names), 100):  # DescribeAlarms takes at most 100 names
        for alarm in cloudwatch.describe_alarms(AlarmNames=names[start : start + 100])["MetricAlarms"]:
            found[alarm["AlarmName"]] = alarm
    missing = [name for name in names if name not in found]
    silent = [name for name, alarm in found.items() if not alarm.get("AlarmActions")]
    disabled = [
        name for name, alarm in found.items() if alarm.get("AlarmActions") and not alarm["ActionsEnabled"]
    ]
    if missing or silent or disabled:
        problems = [
            *([f"missing: {', '.join(missing)}"] if missing else []),
            *([f"no action: {', '.join(silent)}"] if silent else []),
            *([f"actions disabled: {', '.join(disabled)}"] if disabled else []),
        ]
        fixes = [
            *(
                ["deploy the stack again: the template gives every alarm the ops topic as its action"]
                if missing or silent
                else []
            ),
            *(
                [f"aws cloudwatch enable-alarm-actions --alarm-names {' '.join(disabled)}"]
                if disabled
                else []
            ),
        ]
        return failed("; ".join(problems), "; ".join(fixes))
    return passed(f"{len(names)} of {len(names)} alarms")


def check_ops_subscription(view: StackView) -> Finding:
    topic = view.physical_id(OPS_TOPIC)
    paginator = view.client("sns").get_paginator("list_subscriptions_by_topic")
    subscriptions = [
        item for page in paginator.paginate(TopicArn=topic) for item in page.get("Subscriptions", [])
    ]
    if view.local:
        return not_checkable(
            "moto confirms every subscription at once; "
            f"the ops topic has {len(subscriptions)} subscription(s)"
        )
    # SNS lists an unconfirmed subscription with SubscriptionArn "PendingConfirmation".
    confirmed = [item for item in subscriptions if str(item.get("SubscriptionArn", "")).startswith("arn:")]
    if confirmed:
        return passed(f"{len(confirmed)} confirmed subscription(s)")
    pending = [
        item.get("Endpoint", "?")
        for item in subscriptions
        if item.get("SubscriptionArn") == "PendingConfirmation"
    ]
    if pending:
        return failed(
            f"nobody confirmed the ops topic's subscription ({', '.join(pending)}): alarms reach no one",
            "open the 'AWS Notification - Subscription Confirmation' email sent to that address and follow "
            "'Confirm subscription'; the link lasts 3 days, after which: aws sns subscribe "
            f"--topic-arn {topic} --protocol email --notification-endpoint ADDRESS",
        )
    return failed(
        "the ops topic has no subscription: alarms reach no one",
        "deploy with OpsAlarmEmail set to the on-call address, then confirm the email SNS sends it",
    )


# ------------------------------------------------------------------ the functions' layer
def check_powertools_layer(view: StackView) -> Finding:
    if view.local:
        return not_checkable(
            "moto's Lambda has no AWS-managed layers; local functions use .venv's Powertools"
        )
    functions = [resource.logical_id for resource in view.of_type("AWS::Lambda::Function")]
    if not functions:
        return failed("the stack has no functions", "deploy the stack again")
    lambda_ = view.client("lambda")
    without, unresolved, resolved = [], set(), set()
    for function in functions:
        arns = [layer["Arn"] for layer in view.function_configuration(function).get("Layers", [])]
        powertools = [arn for arn in arns if "Powertools" in arn]
        if not powertools:
            without.append(function)
        for arn in powertools:
            layer, _, version = arn.rpartition(":")
            try:
                lambda_.get_layer_version(LayerName=layer, VersionNumber=int(version))
                resolved.add(arn)
            except lambda_.exceptions.ResourceNotFoundException:
                unresolved.add(arn)
    if without or unresolved:
        problems = [
            *([f"no Powertools layer on {', '.join(without)}"] if without else []),
            *([f"not found: {', '.join(sorted(unresolved))}"] if unresolved else []),
        ]
        return failed(
            "; ".join(problems),
            "set PowertoolsLayerVersion to a published version of "
            "AWSLambdaPowertoolsPythonV3-python313-arm64 "
            "(the Powertools documentation lists them per region) and deploy again",
        )
    names = ", ".join(sorted(arn.split(":layer:", 1)[-1] for arn in resolved))
    return passed(f"{names}, on all {len(functions)} functions")


CHECKS = (
    Check("articles", "the API answers GET /articles with published content", check_articles),
    Check("cors", "CORS allows each configured origin", check_cors),
    Check("stream", "new leads reach the notifier (stream mapping)", check_stream_mapping),
    Check("schedule", "the sweeper runs on its schedule", check_sweeper_schedule),
    Check("ses", "SES delivers to staff (production access, or staff verified)", check_ses_account),
    Check("sender", "the sender identity is verified with DKIM", check_sender_identity),
    Check("tls", "emails go through the TLS-requiring configuration set", check_configuration_set),
    Check("pending", "no lead pending notification for more than 15 minutes", check_pending_leads),
    Check("dlq", "the dead-letter queue is empty", check_dead_letter_queue),
    Check("protected", "the leads table has deletion protection", check_leads_deletion_protection),
    Check("mfa", "staff sign-in requires MFA (TOTP)", check_staff_pool_mfa),
    Check("alarms", "every alarm has an action", check_alarms),
    Check("ops", "the ops topic has a confirmed subscription", check_ops_subscription),
    Check("layer", "the Powertools layer version resolves", check_powertools_layer),
)


# ------------------------------------------------------------------ the test lead
def send_test_lead(
    view: StackView,
    timeout: float,
    poll_seconds: float = 1.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Finding:
    """Post a marked lead through the public API, wait until staff were emailed, delete it."""
    # Solved like a browser's widget would: without a solution the lead is quarantined, not sent.
    challenge = http_call("GET", f"{view.api_url}/consultations/challenge")
    if challenge.status != 200:
        return failed(
            f"GET /consultations/challenge answered {challenge.status}",
            "read the ConsultationsFunction's log (503: its ChallengeSecret could not be read)",
        )
    body = {
        "altcha": proof_of_work.solve(json.loads(challenge.body)),
        "name": TEST_LEAD_NAME,
        "phone": TEST_LEAD_PHONE,
        "preferred_contact": "phone",
        "message": "A test from clinic doctor, checking that consultation requests reach staff.",
        "consent": True,
        "source": {"utm_source": TEST_LEAD_SOURCE},
    }
    answer = http_call(
        "POST",
        f"{view.api_url}/consultations",
        {"Content-Type": "application/json", "Idempotency-Key": f"clinic-doctor-{uuid.uuid4().hex}"},
        json.dumps(body).encode(),
    )
    if answer.status != 201:
        wait = answer.headers.get("retry-after")
        return failed(
            f"POST /consultations answered {answer.status}" + (f" (Retry-After {wait} s)" if wait else ""),
            "429: this address used its RateLimitPerHour, run again later; 5xx: read the "
            "ConsultationsFunction's log",
        )
    answered = json.loads(answer.body)
    lead_id = str(answered["id"])
    # The reference is what the staff email's subject carries: what to look for in the inbox.
    lead = f"lead {lead_id} (reference {answered.get('reference')})"
    dynamodb, table = view.client("dynamodb"), view.physical_id(LEADS_TABLE)
    try:
        item = _wait_until_notified(dynamodb, table, lead_id, clock() + timeout, poll_seconds, clock, sleep)
    finally:
        gone = _delete_test_lead(dynamodb, table, lead_id)
    deleted = "deleted" if gone else "NOT deleted (it is not the doctor's test lead)"
    staff_at = item.get(mark_attribute(STAFF_EMAIL), {}).get("S")
    if not staff_at:
        return failed(
            f"{lead}: no staff email within {timeout:g} s; lead {deleted}",
            f"search the NotifierFunction's log for {lead_id}: the ✗ lines above, or its errors, "
            "name the cause",
        )
    delay = parse_time(staff_at) - parse_time(item[CREATED_AT]["S"])
    if NOTIFIED_AT not in item:
        return failed(
            f"{lead}: staff email sent, but the lead was not marked notified within {timeout:g} s; "
            f"lead {deleted}",
            f"search the NotifierFunction's log for {lead_id}: the topic message or confirmation failed",
        )
    if not gone:
        return failed(f"{lead}: staff email sent; lead {deleted}", "delete it by hand")
    return passed(f"{lead}: staff email sent {delay.total_seconds():.1f} s after it was stored; {deleted}")


def _wait_until_notified(
    dynamodb: DynamoDBClient,
    table: str,
    lead_id: str,
    deadline: float,
    poll_seconds: float,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> dict[str, AttributeValueTypeDef]:
    staff = mark_attribute(STAFF_EMAIL)
    while True:
        item = dynamodb.get_item(
            TableName=table,
            Key=key(lead_id),
            ConsistentRead=True,
            ProjectionExpression=f"{CREATED_AT}, {NOTIFIED_AT}, #staff",
            ExpressionAttributeNames={"#staff": staff},
        ).get("Item", {})
        if (NOTIFIED_AT in item and staff in item) or clock() >= deadline:
            return item
        sleep(poll_seconds)


def _delete_test_lead(dynamodb: DynamoDBClient, table: str, lead_id: str) -> bool:
    """Delete the lead only if it is the doctor's own test lead (its name and source)."""
    try:
        dynamodb.delete_item(
            TableName=table,
            Key=key(lead_id),
            ConditionExpression="#name = :name AND #source.utm_source = :source",
            ExpressionAttributeNames={"#name": "name", "#source": "source"},
            ExpressionAttributeValues={":name": {"S": TEST_LEAD_NAME}, ":source": {"S": TEST_LEAD_SOURCE}},
        )
    except dynamodb.exceptions.ConditionalCheckFailedException:
        return False
    return True


# ------------------------------------------------------------------ running the checklist
def run_check(view: StackView, run: Callable[[StackView], Finding]) -> Finding:
    """A check that cannot get its answer is ✗ too: nobody knows that leads get through."""
    try:
        return run(view)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        fix = (
            f"allow these credentials to call {error.operation_name}"
            if "AccessDenied" in code or "Unauthorized" in code or code == "AuthorizationError"
            else "see the error; run the doctor again once AWS answers"
        )
        return failed(f"could not check: {error}", fix)
    except StackLookupError as error:
        return failed(f"could not check: {error}", "deploy the current template to this stack")
    except OSError as error:  # no connection to the API (or to the embedded AWS)
        where = (
            "start it (make dev) or pass --api-url" if view.local else "check the ApiUrl output or --api-url"
        )
        return failed(f"could not connect: {error}", where)
    except Exception as error:  # a diagnosis must finish its list
        return failed(f"could not check: {type(error).__name__}: {error}", "see the error and run again")


def report(view: StackView, findings: Iterable[tuple[str, Finding]], out: TextIO) -> int:
    counts = {PASS: 0, FAIL: 0, NOT_CHECKABLE: 0}
    for title, finding in findings:
        counts[finding.mark] += 1
        print(f"{finding.mark} {title}: {finding.detail}", file=out, flush=True)
        if finding.fix:
            print(f"    fix: {finding.fix}", file=out, flush=True)
    print(
        f"{counts[PASS]} ✓, {counts[FAIL]} ✗, {counts[NOT_CHECKABLE]} not checkable locally. "
        + ("Fix each ✗: leads may not reach staff." if counts[FAIL] else "Leads will reach staff."),
        file=out,
    )
    return 1 if counts[FAIL] else 0


def run_doctor(
    view: StackView,
    out: TextIO | None = None,
    *,
    checks: Iterable[Check] = CHECKS,
    test_lead_timeout: float | None = None,
) -> int:
    """Print the checklist for `view`; with `test_lead_timeout`, send a test lead last."""
    out = out or sys.stdout
    where = "the local stack" if view.local else f"stack {view.name}"
    print(f"clinic doctor: will leads reach staff? Checking {where} ({view.api_url})", file=out, flush=True)

    def findings() -> Iterable[tuple[str, Finding]]:
        for check in checks:
            yield check.title, run_check(view, check.run)
        if test_lead_timeout is not None:
            title = "a test lead reaches staff and is deleted"
            yield title, run_check(view, lambda stack: send_test_lead(stack, test_lead_timeout))

    return report(view, findings(), out)
