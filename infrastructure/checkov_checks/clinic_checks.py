"""Checkov checks for what this project depends on and checkov's own checks do not look at.

Loaded with `checkov --external-checks-dir infrastructure/checkov_checks`; they run on
template.yaml (SAM) and on its translated form (plain CloudFormation) alike.
"""

from __future__ import annotations

from typing import Any

from checkov.cloudformation.checks.resource.base_resource_check import BaseResourceCheck
from checkov.common.models.enums import CheckCategories, CheckResult


def _properties(conf: dict[str, Any]) -> dict[str, Any]:
    return conf.get("Properties") or {}


class NoCorsWildcard(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure the HTTP API's CORS allows exact origins only, never a wildcard",
            id="CKV_CLINIC_1",
            categories=[CheckCategories.GENERAL_SECURITY],
            supported_resources=["AWS::Serverless::HttpApi", "AWS::ApiGatewayV2::Api"],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        properties = _properties(conf)
        body = properties.get("DefinitionBody") or properties.get("Body") or {}
        cors = [body.get("x-amazon-apigateway-cors"), properties.get("CorsConfiguration")]
        for config in filter(None, cors):
            if config is True or "*" in str(config.get("allowOrigins", config.get("AllowOrigins", ""))):
                return CheckResult.FAILED
        return CheckResult.PASSED


class ApiStageIsThrottled(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure the HTTP API's default route settings set a rate and a burst limit",
            id="CKV_CLINIC_2",
            categories=[CheckCategories.GENERAL_SECURITY],
            supported_resources=["AWS::Serverless::HttpApi", "AWS::ApiGatewayV2::Stage"],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        settings = _properties(conf).get("DefaultRouteSettings") or {}
        has_limits = "ThrottlingRateLimit" in settings and "ThrottlingBurstLimit" in settings
        return CheckResult.PASSED if has_limits else CheckResult.FAILED


class TableEncryptedWithCustomerManagedKey(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure every DynamoDB table is encrypted with a customer-managed KMS key",
            id="CKV_CLINIC_3",
            categories=[CheckCategories.ENCRYPTION],
            supported_resources=["AWS::DynamoDB::Table"],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        sse = _properties(conf).get("SSESpecification") or {}
        key = sse.get("KMSMasterKeyId")
        customer_managed = key is not None and "alias/aws/" not in str(key)
        if sse.get("SSEEnabled") is True and sse.get("SSEType") == "KMS" and customer_managed:
            return CheckResult.PASSED
        return CheckResult.FAILED


class StreamCarriesKeysOnly(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure a DynamoDB stream carries keys only, never the items' data",
            id="CKV_CLINIC_4",
            categories=[CheckCategories.GENERAL_SECURITY],
            supported_resources=["AWS::DynamoDB::Table"],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        stream = _properties(conf).get("StreamSpecification")
        if stream is None or stream.get("StreamViewType") == "KEYS_ONLY":
            return CheckResult.PASSED
        return CheckResult.FAILED


GITHUB = "token.actions.githubusercontent.com"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


class GitHubOidcTrustNamesOneSubject(BaseResourceCheck):
    """checkov's own GitHub OIDC trust check covers Terraform only; this is it for CloudFormation."""

    def __init__(self) -> None:
        super().__init__(
            name="Ensure a role GitHub Actions assumes names its audience and exact subjects (StringEquals)",
            id="CKV_CLINIC_OIDC",
            categories=[CheckCategories.IAM],
            supported_resources=["AWS::IAM::Role"],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        document = _properties(conf).get("AssumeRolePolicyDocument") or {}
        for statement in _as_list(document.get("Statement") or []):
            if "sts:AssumeRoleWithWebIdentity" not in _as_list(statement.get("Action")):
                continue
            # Exact values only: StringLike is where wildcards live. Conditions are ANDed, so a
            # StringLike beside these could narrow the trust, never widen it.
            equals = (statement.get("Condition") or {}).get("StringEquals") or {}
            if equals.get(f"{GITHUB}:aud") != "sts.amazonaws.com" or f"{GITHUB}:sub" not in equals:
                return CheckResult.FAILED
        return CheckResult.PASSED


check_cors = NoCorsWildcard()
check_throttling = ApiStageIsThrottled()
check_table_cmk = TableEncryptedWithCustomerManagedKey()
check_stream_keys_only = StreamCarriesKeysOnly()
check_github_oidc_trust = GitHubOidcTrustNamesOneSubject()
