"""Each function's role as CloudFormation deploys it (the SAM translation), bound to a stack."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from functools import cache
from typing import Any

from clinic_infra.template import StackTemplate, load_template, translate

Statements = list[dict[str, Any]]


@cache
def _translated() -> dict[str, Any]:
    return translate(load_template())


def translated_template() -> dict[str, Any]:
    """template.yaml after the SAM transform (a copy: callers may change it)."""
    return copy.deepcopy(_translated())


def function_roles(translated: Mapping[str, Any]) -> dict[str, str]:
    """Function logical id -> the logical id of its role."""
    roles = {}
    for name, resource in translated["Resources"].items():
        if resource["Type"] == "AWS::Lambda::Function":
            role = resource["Properties"]["Role"]
            roles[name] = (
                role["Fn::GetAtt"][0] if isinstance(role["Fn::GetAtt"], list) else role["Fn::GetAtt"]
            )
    return roles


def role_statements(translated: Mapping[str, Any], role: str) -> Statements:
    """The role's inline statements, as written (intrinsics unresolved)."""
    properties = translated["Resources"][role]["Properties"]
    if properties.get("ManagedPolicyArns"):
        raise ValueError(f"{role} attaches managed policies, whose statements are not in the template")
    return [
        statement
        for policy in properties.get("Policies", [])
        for statement in policy["PolicyDocument"]["Statement"]
    ]


def bound_roles(translated: Mapping[str, Any], stack: StackTemplate) -> dict[str, Statements]:
    """Function logical id -> its role's statements with the stack's names and ARNs."""
    return {
        function: [stack.resolve(statement) for statement in role_statements(translated, role)]
        for function, role in function_roles(translated).items()
    }
