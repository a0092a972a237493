"""The pipeline: the workflows, the deploy role template, and how they agree with each other.

The linters run on them once per `make test`, in `make lint`, as the tests marked `lint`
(cfn-lint and checkov in test_lint.py and test_checkov.py, check-jsonschema and zizmor in
test_workflows_lint.py). These check what no linter knows: that the execution role can do what
CloudFormation does for every resource in template.yaml, that the roles' names and trust match
what deploy.yml runs, and that every deploy is followed by the doctor.
"""

from __future__ import annotations

import fnmatch
import json
import re
import tomllib
from pathlib import Path
from typing import Any

import cfnlint
import pytest
import yaml
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

from clinic_infra.template import load_template

ROOT = Path(__file__).resolve().parents[2]
ROLE_TEMPLATE = ROOT / "infrastructure" / "github-deploy-role.yaml"
WORKFLOWS = ROOT / ".github" / "workflows"
# What CloudFormation calls for a resource in a stack operation (list is for discovery only).
HANDLERS = ("create", "read", "update", "delete")
# Resources whose physical name the execution role's ARNs expect CloudFormation to generate
# (`<stack>-<logical id>-<suffix>`), and the property that would name them otherwise.
NAMED_BY_CLOUDFORMATION = {
    "AWS::DynamoDB::Table": "TableName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::IAM::Role": "RoleName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::CloudWatch::Alarm": "AlarmName",
    "AWS::Events::Rule": "Name",
    "AWS::SecretsManager::Secret": "Name",
}


@pytest.fixture(scope="module")
def role_template() -> dict[str, Any]:
    return load_template(ROLE_TEMPLATE)


def _workflow(name: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    document["on"] = document.pop(True, document.get("on"))  # YAML 1.1 reads a bare `on` as true
    return document


@pytest.fixture(scope="module")
def deploy() -> dict[str, Any]:
    return _workflow("deploy.yml")


def _statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for policy in role["Properties"]["Policies"] for s in policy["PolicyDocument"]["Statement"]]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _allowed(action: str, statements: list[dict[str, Any]]) -> bool:
    """Whether an Allow statement names the action (IAM actions are case-insensitive, * and ? wild)."""
    return any(
        fnmatch.fnmatchcase(action.lower(), pattern.lower())
        for statement in statements
        if statement["Effect"] == "Allow"
        for pattern in _as_list(statement["Action"])
    )


def _iam_actions() -> set[str]:
    """Every IAM action, lowercased, from the service authorization data cfn-lint checks policies with."""
    services = json.loads(
        (Path(cfnlint.__file__).parent / "data" / "AdditionalSpecs" / "Policies.json").read_text()
    )
    return {
        f"{prefix}:{action}".lower() for prefix, service in services.items() for action in service["Actions"]
    }


def _registry_permissions(resource_types: set[str]) -> dict[str, set[str]]:
    """Each IAM action CloudFormation's registry schema lists for a type's handlers, with the types.

    Some schemas also name calls that are no IAM action (s3:DeleteBucketCors is authorized as
    s3:PutBucketCORS, and that one is listed too); IAM never asks about those, so they are skipped.
    """
    actions = _iam_actions()
    needed: dict[str, set[str]] = {}
    for resource_type in resource_types:
        handlers = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", resource_type).schema["handlers"]
        for handler in HANDLERS:
            for action in handlers.get(handler, {}).get("permissions", []):
                if action.lower() in actions:
                    needed.setdefault(action, set()).add(resource_type)
    return needed


def _left_out(role_template: dict[str, Any]) -> dict[str, str]:
    entries = role_template["Resources"]["CloudFormationExecutionRole"]["Metadata"][
        "RegistryPermissionsLeftOut"
    ]
    return {entry["Permission"]: entry["Reason"] for entry in entries}


def _missing(
    needed: dict[str, set[str]], statements: list[dict[str, Any]], left_out: dict[str, str]
) -> list[str]:
    return sorted(
        f"{action} (for {', '.join(sorted(types))})"
        for action, types in needed.items()
        if not any(fnmatch.fnmatchcase(action.lower(), pattern.lower()) for pattern in left_out)
        and not _allowed(action, statements)
    )


# ---------------------------------------------------------------- the deploy role


def test_each_role_trusts_only_its_own_environments_jobs(role_template: dict[str, Any]) -> None:
    statement = role_template["Resources"]["DeployRole"]["Properties"]["AssumeRolePolicyDocument"][
        "Statement"
    ]
    assert len(statement) == 1
    assert statement[0]["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert set(statement[0]["Condition"]) == {"StringEquals"}
    condition = statement[0]["Condition"]["StringEquals"]
    assert condition["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com"
    template, values = condition["token.actions.githubusercontent.com:sub"]["Fn::Sub"]
    assert template == "repo:${GitHubRepository}:${Subject}"
    assert values == {"Subject": {"Fn::FindInMap": ["Environments", {"Ref": "DeployEnvironment"}, "Subject"]}}
    environments = role_template["Mappings"]["Environments"]
    assert {name: env["Subject"] for name, env in environments.items()} == {
        "staging": "ref:refs/heads/main",
        "production": "environment:production",
    }
    assert role_template["Parameters"]["DeployEnvironment"]["AllowedValues"] == ["staging", "production"]


def test_every_change_set_runs_as_the_execution_role_and_imports_nothing(
    role_template: dict[str, Any],
) -> None:
    denies = [s for s in _statements(role_template["Resources"]["DeployRole"]) if s["Effect"] == "Deny"]
    conditions = [s["Condition"] for s in denies if s["Action"] == "cloudformation:CreateChangeSet"]
    assert {
        "StringNotEquals": {"cloudformation:RoleArn": {"Fn::GetAtt": ["CloudFormationExecutionRole", "Arn"]}}
    } in conditions
    assert {"Null": {"cloudformation:ImportResourceTypes": "false"}} in conditions


def test_the_execution_role_may_do_what_cloudformation_does_for_every_resource_in_the_stack(
    translated: dict[str, Any], role_template: dict[str, Any]
) -> None:
    # Given every resource type the stack deploys, and what CloudFormation's handlers call for it
    needed = _registry_permissions({resource["Type"] for resource in translated["Resources"].values()})
    statements = _statements(role_template["Resources"]["CloudFormationExecutionRole"])
    # Then the execution role allows each, except what the template says it leaves out and why
    missing = _missing(needed, statements, _left_out(role_template))
    assert not missing, "not granted and not left out with a reason:\n" + "\n".join(missing)


def test_each_left_out_permission_is_one_the_registry_lists(
    translated: dict[str, Any], role_template: dict[str, Any]
) -> None:
    needed = _registry_permissions({resource["Type"] for resource in translated["Resources"].values()})
    for pattern, reason in _left_out(role_template).items():
        assert any(fnmatch.fnmatchcase(action.lower(), pattern.lower()) for action in needed), pattern
        assert len(reason) > 20, pattern


def test_each_statement_of_the_execution_role_is_needed(
    translated: dict[str, Any], role_template: dict[str, Any]
) -> None:
    needed = _registry_permissions({resource["Type"] for resource in translated["Resources"].values()})
    statements = _statements(role_template["Resources"]["CloudFormationExecutionRole"])
    left_out = _left_out(role_template)
    for index, statement in enumerate(statements):
        without = statements[:index] + statements[index + 1 :]
        assert _missing(needed, without, left_out), f"{statement['Sid']} grants nothing the stack needs"


def test_the_role_attaches_exactly_the_managed_policies_the_stack_uses(
    translated: dict[str, Any], role_template: dict[str, Any]
) -> None:
    used = {
        arn
        for resource in translated["Resources"].values()
        if resource["Type"] == "AWS::IAM::Role"
        for arn in resource["Properties"].get("ManagedPolicyArns", [])
    }
    # Every function role is explicit, with inline policies only: a managed policy would grant
    # what no check here sees, so the deploy role may attach one only if the stack names it.
    attach = [
        s
        for s in _statements(role_template["Resources"]["CloudFormationExecutionRole"])
        if "iam:AttachRolePolicy" in _as_list(s["Action"])
    ]
    allowed = {
        arn["Fn::Sub"].replace("${AWS::Partition}", "aws")
        for statement in attach
        for arn in statement["Condition"]["ArnEquals"]["iam:PolicyARN"]
    }
    assert used == allowed


def _under_the_stacks_name(name: Any) -> bool:
    return isinstance(name, dict) and str(name.get("Fn::Sub", "")).startswith("${AWS::StackName}/")


def test_cloudformation_names_every_resource_the_role_scopes_by_name(translated: dict[str, Any]) -> None:
    """The role's ARNs are `<stack>-*` (names CloudFormation generates) or, for the log groups
    and alarms the key policy names, `<stack>/*`; a resource named otherwise would be refused."""
    named = [
        f"{logical_id}.{NAMED_BY_CLOUDFORMATION[resource['Type']]}"
        for logical_id, resource in translated["Resources"].items()
        if NAMED_BY_CLOUDFORMATION.get(resource["Type"]) in resource.get("Properties", {})
        and not _under_the_stacks_name(resource["Properties"][NAMED_BY_CLOUDFORMATION[resource["Type"]]])
    ]
    assert named == []
    aliases = [
        r["Properties"]["AliasName"]
        for r in translated["Resources"].values()
        if r["Type"] == "AWS::KMS::Alias"
    ]
    assert aliases
    for alias in aliases:
        assert alias["Fn::Sub"].startswith("alias/${AWS::StackName}-")


def test_each_role_deploys_the_stack_of_its_environment_in_samconfig(role_template: dict[str, Any]) -> None:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    stack_names = {
        "staging": config["staging"]["deploy"]["parameters"]["stack_name"],
        "production": config["default"]["global"]["parameters"]["stack_name"],
    }
    environments = role_template["Mappings"]["Environments"]
    assert {name: env["StackName"] for name, env in environments.items()} == stack_names


# ---------------------------------------------------------------- the workflows


def _deploy_steps(job: dict[str, Any]) -> list[int]:
    return [index for index, step in enumerate(job["steps"]) if "sam deploy" in step.get("run", "")]


def _config_env(command: str) -> str:
    match = re.search(r"--config-env (\S+)", command)
    assert match, command
    return match.group(1)


def test_every_deploy_is_followed_by_the_doctor_with_a_test_lead_on_the_stack_it_deployed(
    deploy: dict[str, Any],
) -> None:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    deploying = {name: job for name, job in deploy["jobs"].items() if "steps" in job and _deploy_steps(job)}
    assert set(deploying) == {"staging", "production"}
    for name, job in deploying.items():
        [deploy_step] = _deploy_steps(job)
        command = job["steps"][deploy_step]["run"]
        environment = _config_env(command)
        parameters = config[environment].get("deploy", {}).get("parameters", {})
        stack = parameters.get("stack_name", config["default"]["global"]["parameters"]["stack_name"])
        assert job["env"]["STACK_NAME"] == stack, name
        for flag in ("--no-confirm-changeset", "--no-fail-on-empty-changeset", "--role-arn", "--s3-bucket"):
            assert flag in command, (name, flag)
        # SAM refuses --s3-bucket beside resolve_s3, so samconfig must not set it.
        assert "resolve_s3" not in parameters, environment
        doctor = [
            step["run"] for step in job["steps"][deploy_step + 1 :] if "clinic doctor" in step.get("run", "")
        ]
        assert doctor == ['.venv/bin/clinic doctor --stack "$STACK_NAME" --send-test-lead'], name


def test_production_deploys_from_a_version_tag_in_the_production_environment(
    deploy: dict[str, Any], role_template: dict[str, Any]
) -> None:
    production = deploy["jobs"]["production"]
    environment = production["environment"]
    assert (environment if isinstance(environment, str) else environment["name"]) == "production"
    assert production["if"] == "startsWith(github.ref, 'refs/tags/v')"
    assert deploy["on"]["push"]["tags"] == ["v*"]
    assert role_template["Mappings"]["Environments"]["production"]["Subject"] == "environment:production"


def test_staging_deploys_from_main_outside_any_environment(
    deploy: dict[str, Any], role_template: dict[str, Any]
) -> None:
    # The staging role trusts sub ref:refs/heads/main, which a job in an environment never has.
    staging = deploy["jobs"]["staging"]
    assert "environment" not in staging
    assert staging["if"] == "github.ref == 'refs/heads/main'"
    assert deploy["on"]["push"]["branches"] == ["main"]
    assert role_template["Mappings"]["Environments"]["staging"]["Subject"] == "ref:refs/heads/main"


def test_only_the_deploy_jobs_may_ask_for_an_oidc_token_and_only_after_the_tests(
    deploy: dict[str, Any],
) -> None:
    ci = _workflow("ci.yml")
    assert ci["permissions"] == {"contents": "read"}
    assert deploy["permissions"] == {}
    assert "make test" in [step.get("run") for step in ci["jobs"]["test"]["steps"]]
    assert {"pull_request", "push", "workflow_call"} <= set(ci["on"])
    assert ci["on"]["push"]["branches"] == ["main"]
    for name, job in deploy["jobs"].items():
        oidc = job.get("permissions", {}).get("id-token")
        if name in {"staging", "production"}:
            assert oidc == "write", name
            assert job["needs"] == "test", name
        else:
            assert oidc is None, name
    assert deploy["jobs"]["test"]["uses"].endswith("/.github/workflows/ci.yml")
