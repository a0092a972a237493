"""What a first deploy needs to deliver leads: email SES accepts in and out of the sandbox, over
TLS, from a domain it can verify; alarms that reach a person; a rollback that leaves nothing."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from clinic_infra.template import StackTemplate, TemplateError
from tests.infrastructure.conftest import resources_of_type

ROOT = Path(__file__).resolve().parents[2]


def test_a_deploy_without_an_operator_address_is_refused(template: dict[str, Any]) -> None:
    parameter = template["Parameters"]["OpsAlarmEmail"]
    assert "Default" not in parameter  # CloudFormation refuses a create that does not give one
    for refused in ("", "ops", "ops@", "ops@clinic"):
        with pytest.raises(TemplateError):
            StackTemplate({"OpsAlarmEmail": refused})
    assert StackTemplate({"OpsAlarmEmail": "oncall@example-clinic.com"}).parameters["OpsAlarmEmail"]


def test_every_retained_resource_goes_with_a_failed_first_create(template: dict[str, Any]) -> None:
    retained = {
        name: resource["DeletionPolicy"]
        for name, resource in template["Resources"].items()
        if resource.get("DeletionPolicy", "Delete") != "Delete"
    }
    assert set(retained) == {"DataKey", "LeadsTable", "ContentBucket", "AuditTable", "StaffUserPool"}
    assert set(retained.values()) == {"RetainExceptOnCreate"}


def test_the_leads_table_has_no_deletion_protection_that_would_block_a_rollback(
    template: dict[str, Any],
) -> None:
    # DynamoDB refuses DeleteTable while deletion protection is on, so a rolled-back first create
    # would leave the table behind; the runbook turns it on after the first deploy instead.
    assert "DeletionProtectionEnabled" not in template["Resources"]["LeadsTable"]["Properties"]


def test_every_email_goes_through_a_configuration_set_that_requires_tls(template: dict[str, Any]) -> None:
    (name, configuration_set), *others = resources_of_type(template, "AWS::SES::ConfigurationSet").items()
    assert not others
    assert configuration_set["Properties"]["DeliveryOptions"]["TlsPolicy"] == "REQUIRE"
    assert "Name" not in configuration_set["Properties"]  # generated: two stacks never collide
    for function in ("NotifierFunction", "SweeperFunction", "QuarantineDigestFunction"):
        variables = template["Resources"][function]["Properties"]["Environment"]["Variables"]
        assert variables["SES_CONFIGURATION_SET"] == {"Ref": name}


def test_the_sender_is_a_dkim_verified_domain_identity(template: dict[str, Any]) -> None:
    identity = template["Resources"]["SenderDomainIdentity"]
    assert identity["Condition"] == "CreateSenderIdentity"
    props = identity["Properties"]
    assert props["EmailIdentity"] == {"Fn::Select": [1, {"Fn::Split": ["@", {"Ref": "SenderEmailAddress"}]}]}
    assert props["DkimSigningAttributes"] == {"NextSigningKeyLength": "RSA_2048_BIT"}
    outputs = template["Outputs"]
    assert outputs["SenderDkimRecords"]["Condition"] == "CreateSenderIdentity"
    records = str(outputs["SenderDkimRecords"]["Value"])
    for n in (1, 2, 3):
        assert f"DkimDNSTokenName{n}" in records
        assert f"DkimDNSTokenValue{n}" in records


def test_the_local_stack_resolves_the_sender_identity_to_its_domain() -> None:
    stack = StackTemplate({"SenderEmailAddress": "hello@mail.example-clinic.com"})
    identity = stack.resolve(stack.resources["SenderDomainIdentity"]["Properties"]["EmailIdentity"])
    assert identity == "mail.example-clinic.com"


def _send_statements(translated: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = {}
    for role_name, role in resources_of_type(translated, "AWS::IAM::Role").items():
        for policy in role["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                if "ses:SendEmail" in str(statement["Action"]):
                    found[role_name] = statement
    return found


def test_send_permission_holds_in_the_sandbox_but_only_from_the_clinic_address(
    translated: dict[str, Any],
) -> None:
    statements = _send_statements(translated)
    assert set(statements) == {"NotifierRole", "SweeperFunctionRole", "QuarantineDigestRole"}
    for statement in statements.values():
        assert statement["Action"] == "ses:SendEmail"
        resources = [resource["Fn::Sub"] for resource in statement["Resource"]]
        # Any identity, because the sandbox also checks each recipient's identity ...
        assert resources[0].endswith(":identity/*")
        assert resources[1].endswith(":configuration-set/${EmailConfigurationSet}")
        # ... but only ever as the clinic's sender.
        assert statement["Condition"] == {"StringEquals": {"ses:FromAddress": {"Ref": "SenderEmailAddress"}}}


def _deploy_parameters(environment: dict[str, Any]) -> dict[str, str]:
    overrides = environment.get("deploy", {}).get("parameters", {}).get("parameter_overrides", "")
    return dict(pair.split("=", 1) for pair in overrides.split())


def test_staging_and_production_do_not_share_an_account_wide_sender_identity(
    template: dict[str, Any],
) -> None:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    default_sender = template["Parameters"]["SenderEmailAddress"]["Default"]
    senders = {
        name: _deploy_parameters(environment).get("SenderEmailAddress", default_sender)
        for name, environment in config.items()
        if isinstance(environment, dict) and "deploy" in environment
    }
    assert set(senders) == {"default", "staging"}
    domains = {name: sender.split("@", 1)[1] for name, sender in senders.items()}
    assert domains["default"] != domains["staging"], "both stacks would create the same SES identity"
    stack_names = {config[name]["deploy"]["parameters"].get("stack_name") for name in ("staging",)}
    assert config["default"]["global"]["parameters"]["stack_name"] not in stack_names
