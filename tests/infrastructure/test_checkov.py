"""checkov, with this project's own checks, passes the templates and would catch each regression."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from clinic_infra.template import load_template

ROOT = Path(__file__).resolve().parents[2]
DEPLOY_ROLE = ROOT / "infrastructure" / "github-deploy-role.yaml"
GITHUB = "token.actions.githubusercontent.com"
pytestmark = pytest.mark.lint  # `make lint` runs these


def _checkov_command() -> str:
    """checkov lives in a virtual environment of its own (its pins clash with ours): `make lint`
    names it in CLINIC_CHECKOV; otherwise PATH, then where the Makefile puts it."""
    made = ROOT / ".venv" / "checkov" / "bin" / "checkov"
    command = (
        os.environ.get("CLINIC_CHECKOV") or shutil.which("checkov") or (str(made) if made.exists() else None)
    )
    assert command, "checkov not found: run `make lint`, or set CLINIC_CHECKOV to its path"
    return command


def _checkov(*files: Path) -> dict[str, list[str]]:
    """Failed and passed check ids (ours and checkov's) for the given templates."""
    checks_dir = str(ROOT / "infrastructure" / "checkov_checks")
    arguments = [_checkov_command(), "--skip-download", "--framework", "cloudformation", "--output", "json"]
    arguments += ["--external-checks-dir", checks_dir]
    for path in files:
        arguments += ["-f", str(path)]
    result = subprocess.run(arguments, capture_output=True, text=True, check=False, cwd=ROOT)  # noqa: S603
    reports = json.loads(result.stdout or "[]")
    reports = reports if isinstance(reports, list) else [reports]
    outcome: dict[str, list[str]] = {"failed": [], "passed": []}
    for report in reports:
        results = report.get("results", {})
        outcome["failed"] += [check["check_id"] for check in results.get("failed_checks", [])]
        outcome["passed"] += [check["check_id"] for check in results.get("passed_checks", [])]
    return outcome


def _web_identity_role(condition: dict[str, Any]) -> dict[str, Any]:
    statement = {
        "Effect": "Allow",
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Principal": {"Federated": f"arn:aws:iam::123456789012:oidc-provider/{GITHUB}"},
        "Condition": condition,
    }
    return {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {"Statement": [statement]}}}


def _write(tmp_path: Path, resources: dict[str, Any]) -> Path:
    path = tmp_path / "template.json"
    path.write_text(json.dumps({"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources}))
    return path


def test_the_templates_pass_every_check(translated: dict[str, Any], tmp_path: Path) -> None:
    # The stack as written and as translated, and the role GitHub Actions deploys it with: one run.
    translated_path = tmp_path / "translated.json"
    translated_path.write_text(json.dumps(translated))
    outcome = _checkov(ROOT / "template.yaml", translated_path, DEPLOY_ROLE)
    assert outcome["failed"] == []
    project_checks = {"CKV_CLINIC_1", "CKV_CLINIC_2", "CKV_CLINIC_3", "CKV_CLINIC_4", "CKV_CLINIC_OIDC"}
    assert project_checks <= set(outcome["passed"])


def test_every_skipped_check_gives_its_reason(template: dict[str, Any]) -> None:
    deploy_role = load_template(DEPLOY_ROLE)
    skips = [
        (name, skip)
        for document in (template, deploy_role)
        for name, resource in document["Resources"].items()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]
    assert skips
    for name, skip in skips:
        assert skip["id"].startswith("CKV_"), name
        assert len(skip.get("comment", "")) > 40, f"{name} skips {skip['id']} without a reason"


@pytest.mark.parametrize(
    ("check", "resource"),
    [
        ("CKV_CLINIC_1", {"Type": "AWS::ApiGatewayV2::Api",
                          "Properties": {"Body": {"x-amazon-apigateway-cors": {"allowOrigins": ["*"]}}}}),
        ("CKV_CLINIC_2", {"Type": "AWS::ApiGatewayV2::Stage",
                          "Properties": {"ApiId": "x", "StageName": "$default", "DefaultRouteSettings": {}}}),
        ("CKV_CLINIC_3", {"Type": "AWS::DynamoDB::Table",
                          "Properties": {"SSESpecification": {"SSEEnabled": True},
                                         "KeySchema": [], "AttributeDefinitions": []}}),
        ("CKV_CLINIC_4", {"Type": "AWS::DynamoDB::Table",
                          "Properties": {"StreamSpecification": {"StreamViewType": "NEW_IMAGE"},
                                         "KeySchema": [], "AttributeDefinitions": []}}),
        # Any workflow of any repository in the organisation could assume this role.
        ("CKV_CLINIC_OIDC", _web_identity_role({
            "StringEquals": {f"{GITHUB}:aud": "sts.amazonaws.com"},
            "StringLike": {f"{GITHUB}:sub": "repo:example-org/*"}})),
        # Any workflow of any repository on GitHub could.
        ("CKV_CLINIC_OIDC", _web_identity_role({"StringEquals": {f"{GITHUB}:aud": "sts.amazonaws.com"}})),
    ],
)  # fmt: skip
def test_each_project_check_fails_the_regression_it_guards(
    check: str, resource: dict[str, Any], tmp_path: Path
) -> None:
    assert check in _checkov(_write(tmp_path, {"Thing": resource}))["failed"]
