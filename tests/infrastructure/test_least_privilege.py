"""Every role may do only what its function does, on only its resources."""

from __future__ import annotations

from typing import Any

import pytest

from tests.infrastructure.conftest import resources_of_type

# Actions that AWS does not let a policy scope to a resource: "*" is the only possible value.
UNSCOPABLE = {
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "xray:GetSamplingStatisticSummaries",
    "cloudwatch:PutMetricData",
    "dynamodb:ListStreams",
}
# What every function's role grants Lambda for the function: its own log group, and traces.
BASICS = {"CreateOwnLogStreams", "WriteOwnLogEvents", "Trace"}
SAM_CRUD_TEMPLATES = {
    "DynamoDBCrudPolicy",
    "S3CrudPolicy",
    "SQSPollerPolicy",
    "S3FullAccessPolicy",
    "DynamoDBWritePolicy",
    "S3WritePolicy",
    "AmazonS3FullAccess",
}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _statements(translated: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for name, role in resources_of_type(translated, "AWS::IAM::Role").items():
        for policy in role["Properties"].get("Policies", []):
            found += [(name, statement) for statement in policy["PolicyDocument"]["Statement"]]
    return found


def _managed_arns(role: dict[str, Any]) -> list[str]:
    arns = []
    for arn in role["Properties"].get("ManagedPolicyArns", []):
        arns.append(
            arn if isinstance(arn, str) else arn.get("Fn::Sub", str(arn)).replace("${AWS::Partition}", "aws")
        )
    return arns


def test_no_role_allows_every_action(translated: dict[str, Any]) -> None:
    for role, statement in _statements(translated):
        for action in _as_list(statement["Action"]):
            assert "*" not in action, f"{role} allows {action}"


def test_wildcard_resources_only_for_actions_aws_cannot_scope(translated: dict[str, Any]) -> None:
    for role, statement in _statements(translated):
        if statement["Effect"] != "Allow" or "*" not in _as_list(statement["Resource"]):
            continue
        actions = set(_as_list(statement["Action"]))
        assert actions <= UNSCOPABLE, f"{role} allows {actions - UNSCOPABLE} on every resource"


def test_no_role_attaches_a_managed_policy(template: dict[str, Any], translated: dict[str, Any]) -> None:
    """SAM gives a function without a Role one with AWSLambdaBasicExecutionRole, which may write to
    every log group in the account; each function names a role of its own instead."""
    for name, function in resources_of_type(template, "AWS::Serverless::Function").items():
        assert "Role" in function["Properties"], f"{name} would get SAM's generated role"
    for name, role in resources_of_type(translated, "AWS::IAM::Role").items():
        assert _managed_arns(role) == [], name


def test_each_role_logs_only_to_its_own_functions_log_group(translated: dict[str, Any]) -> None:
    for function in resources_of_type(translated, "AWS::Lambda::Function").values():
        log_group = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        role = function["Properties"]["Role"]["Fn::GetAtt"][0]
        group = "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${" + log_group + "}"
        statements = _by_sid(translated, role)
        assert statements["CreateOwnLogStreams"]["Resource"] == [
            {"Fn::Sub": group},
            {"Fn::Sub": group + ":log-stream:*"},
        ]
        assert statements["WriteOwnLogEvents"]["Resource"] == {"Fn::Sub": group + ":log-stream:*"}
        logging = [s for s in statements.values() if str(_as_list(s["Action"])[0]).startswith("logs:")]
        assert len(logging) == 2, role


def test_no_sam_crud_policy_templates(template: dict[str, Any]) -> None:
    for name, function in resources_of_type(template, "AWS::Serverless::Function").items():
        for policy in function["Properties"].get("Policies", []):
            used = set(policy) if isinstance(policy, dict) else {policy}
            assert not used & SAM_CRUD_TEMPLATES, f"{name} uses {used & SAM_CRUD_TEMPLATES}"


@pytest.fixture
def articles_statements(translated: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        statement
        for role, statement in _statements(translated)
        if role == "ArticlesFunctionRole" and statement["Sid"] not in BASICS
    ]


def test_articles_function_may_only_read_published_objects(articles_statements: list[dict[str, Any]]) -> None:
    assert articles_statements == [
        {
            "Sid": "ReadPublishedArticles",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": {"Fn::Sub": "${ContentBucket.Arn}/published/*"},
        }
    ]


def _by_sid(translated: dict[str, Any], role: str) -> dict[str, dict[str, Any]]:
    return {statement["Sid"]: statement for name, statement in _statements(translated) if name == role}


def test_consultations_function_writes_only_its_tables(translated: dict[str, Any]) -> None:
    statements = _by_sid(translated, "ConsultationsFunctionRole")
    assert set(statements) == BASICS | {
        "PutNewLeads",
        "CountRequestsAndClaimIdempotencyKeysAndSolutions",
        "ReadClientHashAndChallengeKeys",
        "DecryptThroughDynamoDBAndSecretsManager",
    }
    assert statements["PutNewLeads"]["Action"] == "dynamodb:PutItem"
    assert statements["PutNewLeads"]["Resource"] == {"Fn::GetAtt": ["LeadsTable", "Arn"]}
    guard = statements["CountRequestsAndClaimIdempotencyKeysAndSolutions"]
    assert sorted(guard["Action"]) == ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
    assert guard["Resource"] == {"Fn::GetAtt": ["GuardTable", "Arn"]}
    assert statements["ReadClientHashAndChallengeKeys"]["Resource"] == [
        {"Ref": "ClientHashSecret"},
        {"Ref": "ChallengeSecret"},
    ]
    kms = statements["DecryptThroughDynamoDBAndSecretsManager"]
    assert kms["Action"] == "kms:Decrypt"  # neither service encrypts or makes keys as the caller
    assert kms["Resource"] == {"Fn::GetAtt": ["DataKey", "Arn"]}
    assert "kms:ViaService" in kms["Condition"]["StringEquals"]


def test_only_the_consultations_function_may_write_leads(translated: dict[str, Any]) -> None:
    writers = {
        role
        for role, statement in _statements(translated)
        if statement["Resource"] == {"Fn::GetAtt": ["LeadsTable", "Arn"]}
        and "dynamodb:PutItem" in _as_list(statement["Action"])
    }
    assert writers == {"ConsultationsFunctionRole"}


def test_notifier_reads_only_the_leads_stream_and_marks_only_leads(translated: dict[str, Any]) -> None:
    statements = _by_sid(translated, "NotifierRole")
    assert statements["ReadLeadsStream"]["Resource"] == {"Fn::GetAtt": ["LeadsTable", "StreamArn"]}
    assert statements["ClaimAndMarkLeads"] == {
        "Sid": "ClaimAndMarkLeads",
        "Effect": "Allow",
        "Action": "dynamodb:UpdateItem",
        "Resource": {"Fn::GetAtt": ["LeadsTable", "Arn"]},
    }
    assert statements["PublishToStaffTopic"]["Resource"] == {"Ref": "StaffTopic"}
    assert statements["DeadLetterFailedBatches"]["Resource"] == {
        "Fn::GetAtt": ["NotificationDeadLetterQueue", "Arn"]
    }
    sending = statements["SendFromTheClinicAddress"]
    assert sending["Condition"] == {"StringEquals": {"ses:FromAddress": {"Ref": "SenderEmailAddress"}}}
    # The account's identities (the sender's, and the recipients' in the SES sandbox) and the
    # stack's own configuration set; only ever as the clinic's address.
    assert sending["Action"] == "ses:SendEmail"
    assert [resource["Fn::Sub"].rsplit(":", 1)[1] for resource in sending["Resource"]] == [
        "identity/*",
        "configuration-set/${EmailConfigurationSet}",
    ]
    assert "ManagedPolicyArns" not in translated["Resources"]["NotifierRole"]["Properties"]


def test_sweeper_queries_only_the_pending_index(translated: dict[str, Any]) -> None:
    statements = _by_sid(translated, "SweeperFunctionRole")
    assert statements["FindLeadsNotYetNotified"]["Action"] == "dynamodb:Query"
    assert statements["FindLeadsNotYetNotified"]["Resource"] == {
        "Fn::Sub": "${LeadsTable.Arn}/index/PendingNotification"
    }
    # Only erasure by person scans (keyed hashes, never plaintext), and only the staff function.
    scanners = {
        role
        for role, statement in _statements(translated)
        if "dynamodb:Scan" in _as_list(statement["Action"])
    }
    assert scanners <= {"StaffFunctionRole"}
