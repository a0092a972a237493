"""The policy evaluator decides as AWS does where moto alone would allow more."""

from __future__ import annotations

import json

import pytest
from moto.iam.access_control import IAMPolicy, PermissionResult

from tests.iam.evaluator import UnsupportedPolicy, grants, policy_allows, request, statement_allows

KEY = "arn:aws:kms:us-east-1:123456789012:key/1234"
VIA_DYNAMODB = {
    "Effect": "Allow",
    "Action": "kms:Decrypt",
    "Resource": KEY,
    "Condition": {"StringEquals": {"kms:ViaService": "dynamodb.us-east-1.amazonaws.com"}},
}


def test_a_condition_on_a_key_the_request_does_not_carry_is_not_met() -> None:
    direct = request("kms:Decrypt", KEY, "a direct call: no kms:ViaService")
    # moto alone counts the missing key as a met condition ...
    document = json.dumps({"Version": "2012-10-17", "Statement": [VIA_DYNAMODB]})
    assert IAMPolicy(document).is_action_permitted("kms:Decrypt", KEY) is PermissionResult.PERMITTED
    # ... AWS, and this evaluator, do not.
    assert not statement_allows(VIA_DYNAMODB, direct)
    through = request("kms:Decrypt", KEY, "via", {"kms:ViaService": "dynamodb.us-east-1.amazonaws.com"})
    assert statement_allows(VIA_DYNAMODB, through)
    other = request("kms:Decrypt", KEY, "via", {"kms:ViaService": "sqs.us-east-1.amazonaws.com"})
    assert not statement_allows(VIA_DYNAMODB, other)


def test_an_allow_whose_condition_fails_does_not_veto_another_allow() -> None:
    anything = {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": KEY}
    req = request("kms:Decrypt", KEY, "via sqs", {"kms:ViaService": "sqs.us-east-1.amazonaws.com"})
    document = json.dumps({"Version": "2012-10-17", "Statement": [VIA_DYNAMODB, anything]})
    incoming = dict(req.context)
    assert (
        IAMPolicy(document).is_action_permitted("kms:Decrypt", KEY, None, incoming) is PermissionResult.DENIED
    )
    assert policy_allows([VIA_DYNAMODB, anything], req)


def test_operators_moto_ignores_are_evaluated_or_refused() -> None:
    logs = {
        "Effect": "Allow",
        "Action": "kms:Encrypt",
        "Resource": "*",
        "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:*:*:log-group:app/*"}},
    }
    key = "kms:EncryptionContext:aws:logs:arn"
    assert statement_allows(logs, request("kms:Encrypt", KEY, "", {key: "arn:aws:logs:r:1:log-group:app/a"}))
    assert not statement_allows(
        logs, request("kms:Encrypt", KEY, "", {key: "arn:aws:logs:r:1:log-group:other"})
    )
    numeric = {**logs, "Condition": {"NumericLessThan": {"aws:MultiFactorAuthAge": "300"}}}
    with pytest.raises(UnsupportedPolicy):
        statement_allows(numeric, request("kms:Encrypt", KEY, "", {"aws:MultiFactorAuthAge": "10"}))
    with pytest.raises(UnsupportedPolicy):
        statement_allows({**logs, "Effect": "Deny"}, request("kms:Encrypt", KEY, ""))


def test_patterns_are_literal_but_for_wildcards_and_actions_ignore_case() -> None:
    sender = {"Effect": "Allow", "Action": "SES:sendemail", "Resource": "arn:aws:ses:r:1:identity/clinic.com"}
    assert statement_allows(sender, request("ses:SendEmail", "arn:aws:ses:r:1:identity/clinic.com", ""))
    # moto would read the "." as any character
    assert not statement_allows(sender, request("ses:SendEmail", "arn:aws:ses:r:1:identity/clinicXcom", ""))
    assert not statement_allows(
        sender, request("ses:SendEmail", "arn:aws:ses:r:1:identity/clinic.com.evil", "")
    )


def test_grants_split_a_statement_into_single_actions_resources_and_condition_values() -> None:
    statement = {
        "Sid": "Both",
        "Effect": "Allow",
        "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
        "Resource": KEY,
        "Condition": {"StringEquals": {"kms:ViaService": ["sns.r.amazonaws.com", "sqs.r.amazonaws.com"]}},
    }
    split = grants(statement)
    assert len(split) == 4
    assert {
        "Sid": "Both",
        "Effect": "Allow",
        "Action": "kms:GenerateDataKey",
        "Resource": KEY,
        "Condition": {"StringEquals": {"kms:ViaService": "sqs.r.amazonaws.com"}},
    } in split
