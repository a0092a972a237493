"""The data key's policy lets CloudWatch Logs and CloudWatch alarms use it for this stack only.

Both services use the key as their own service principal, not with any role of ours: CloudWatch
Logs to encrypt a log group (the request carries kms:EncryptionContext:aws:logs:arn, the log
group's ARN), CloudWatch to publish an alarm to the encrypted ops topic (aws:SourceArn, the
alarm's ARN; aws:SourceAccount). Every log group and every alarm of this stack must be allowed;
the same resource of the staging stack (samconfig.toml: clinic-backend-staging, in the same
account) must not.
"""

from __future__ import annotations

from typing import Any

import pytest

from clinic_infra.template import StackTemplate
from tests.iam.evaluator import Request, policy_allows, request

ACCOUNT = "111122223333"
REGION = "us-east-1"


def _stack(name: str) -> StackTemplate:
    return StackTemplate({"OpsAlarmEmail": "ops@example-clinic.com"}, stack_name=name, account_id=ACCOUNT)


def _statements_for(stack: StackTemplate, service: str) -> list[dict[str, Any]]:
    policy = stack.resolve(stack.resources["DataKey"]["Properties"]["KeyPolicy"])
    return [
        statement
        for statement in policy["Statement"]
        if service in (lambda p: p if isinstance(p, list) else [p])(statement["Principal"].get("Service", []))
    ]


def _log_group_arns(stack: StackTemplate) -> dict[str, str]:
    prefix = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:"
    return {
        name: prefix + str(stack.resolve(group["Properties"]["LogGroupName"]))
        for name, group in stack.of_type("AWS::Logs::LogGroup").items()
        if group["Properties"].get("KmsKeyId") == {"Fn::GetAtt": ["DataKey", "Arn"]}
    }


def _alarm_arns(stack: StackTemplate) -> dict[str, str]:
    encrypted = {
        name
        for name, topic in stack.of_type("AWS::SNS::Topic").items()
        if "KmsMasterKeyId" in topic["Properties"]
    }
    return {
        name: f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{stack.resolve(alarm['Properties']['AlarmName'])}"
        for name, alarm in stack.of_type("AWS::CloudWatch::Alarm").items()
        if {action.get("Ref") for action in alarm["Properties"].get("AlarmActions", [])} & encrypted
    }


def _logs_requests(arn: str) -> list[Request]:
    context = {"kms:EncryptionContext:aws:logs:arn": arn}
    return [
        request(action, "*", arn, context) for action in ("kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey")
    ]


def _alarm_requests(arn: str) -> list[Request]:
    context = {"aws:SourceArn": arn, "aws:SourceAccount": ACCOUNT}
    return [request(action, "*", arn, context) for action in ("kms:GenerateDataKey", "kms:Decrypt")]


def test_every_log_group_and_alarm_of_the_stack_is_covered() -> None:
    stack = _stack("clinic-backend")
    assert len(_log_group_arns(stack)) == len(stack.of_type("AWS::Logs::LogGroup")) == 8
    alarms = _alarm_arns(stack)
    assert len(alarms) == len(stack.of_type("AWS::CloudWatch::Alarm"))  # all publish to the ops topic
    assert "StaffEmailRefusedAlarm" in alarms
    assert "QuarantineSurgeAlarm" in alarms


@pytest.mark.parametrize("name", ["clinic-backend", "clinic-backend-staging"])
def test_cloudwatch_logs_may_encrypt_this_stacks_log_groups(name: str) -> None:
    stack = _stack(name)
    statements = _statements_for(stack, f"logs.{REGION}.amazonaws.com")
    for arn in _log_group_arns(stack).values():
        for req in _logs_requests(arn):
            assert policy_allows(statements, req), req


def test_cloudwatch_logs_may_not_use_the_key_for_another_stacks_log_groups() -> None:
    production = _statements_for(_stack("clinic-backend"), f"logs.{REGION}.amazonaws.com")
    for arn in _log_group_arns(_stack("clinic-backend-staging")).values():
        assert not any(policy_allows(production, req) for req in _logs_requests(arn)), arn
    someone_elses = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/unrelated"
    assert not any(policy_allows(production, req) for req in _logs_requests(someone_elses))


@pytest.mark.parametrize("name", ["clinic-backend", "clinic-backend-staging"])
def test_every_alarm_of_the_stack_may_publish_to_the_encrypted_ops_topic(name: str) -> None:
    stack = _stack(name)
    statements = _statements_for(stack, "cloudwatch.amazonaws.com")
    for arn in _alarm_arns(stack).values():
        for req in _alarm_requests(arn):
            assert policy_allows(statements, req), req


def test_another_stacks_alarms_may_not_use_the_key() -> None:
    production = _statements_for(_stack("clinic-backend"), "cloudwatch.amazonaws.com")
    for arn in _alarm_arns(_stack("clinic-backend-staging")).values():
        assert not any(policy_allows(production, req) for req in _alarm_requests(arn)), arn
