"""IAM policy evaluation: moto's own (moto.iam.access_control), held to AWS's rules where it is
more forgiving.

moto's IAMPolicy evaluates a document statement by statement with IAMPolicyStatement; here each
statement is evaluated alone by that same class, because moto departs from AWS in ways that
would let a role pass that AWS refuses:

- A condition key the request does not carry: moto counts the condition as met, AWS as not met
  (for every operator without IfExists). Here such a statement does not apply.
- An operator moto does not implement (all but StringEquals): moto ignores the condition.
  ArnLike, ArnEquals and StringLike are matched here with moto's own wildcard matching (the
  one it applies to Resource); any other operator raises UnsupportedPolicy.
- An Allow whose condition fails: moto answers DENIED, which vetoes the whole document; AWS
  just skips the statement. Evaluating statements alone avoids it.
- moto turns a pattern into a regular expression unescaped ("." matches any character) and
  compares actions with case. Here only * and ? are wildcards, and actions ignore case.
- Deny, NotAction and NotResource: our roles use none, so they raise rather than be guessed.

Multi-valued request keys (ses:Recipients, dynamodb:LeadingKeys, ...) are never passed: moto
cannot evaluate ForAllValues/ForAnyValue, so a statement conditioned on them is refused here,
which is the safe direction.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from moto.iam.access_control import IAMPolicyStatement, PermissionResult

_MOTO_OPERATORS = {"StringEquals"}
_WILDCARD_OPERATORS = {"ArnLike", "ArnEquals", "StringLike"}


class UnsupportedPolicy(Exception):
    """A statement uses something this evaluator cannot decide as AWS would."""


@dataclass(frozen=True)
class Request:
    """One authorization AWS makes: an action on a resource, with the condition keys it carries."""

    action: str
    resource: str
    context: tuple[tuple[str, str], ...] = ()
    # What made the request (function, call), for failure messages; not part of its identity.
    reason: str = field(default="", compare=False)

    @property
    def keys(self) -> dict[str, str]:
        return {name.lower(): value for name, value in self.context}

    def __str__(self) -> str:
        keys = ", ".join(f"{name}={value}" for name, value in self.context)
        return f"{self.action} on {self.resource} [{keys}] ({self.reason})"


def request(action: str, resource: str, reason: str, context: Mapping[str, str] | None = None) -> Request:
    return Request(action, resource, tuple(sorted((context or {}).items())), reason)


class _LiteralMatchingStatement(IAMPolicyStatement):
    """moto's statement evaluation, with AWS's matching: only * and ? are wildcards."""

    @staticmethod
    def _match(pattern: str, string: str) -> re.Match[str] | None:
        expression = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
        return re.fullmatch(expression, string, flags=re.DOTALL)


def wildcard_match(pattern: str, value: str) -> bool:
    return _LiteralMatchingStatement._match(pattern, value) is not None


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statement_allows(statement: Mapping[str, Any], req: Request) -> bool:
    """Whether this one Allow statement grants `req`, as AWS decides it."""
    unsupported = {"NotAction", "NotResource", "NotPrincipal"} & set(statement)
    if statement.get("Effect") != "Allow" or unsupported:
        raise UnsupportedPolicy(f"only Allow with Action and Resource is evaluated: {statement}")
    carried = req.keys
    passed: dict[str, dict[str, Any]] = {}
    incoming: dict[str, str] = {}
    for operator, conditions in statement.get("Condition", {}).items():
        if operator not in _MOTO_OPERATORS | _WILDCARD_OPERATORS:
            raise UnsupportedPolicy(f"moto would ignore {operator}: {statement}")
        for key, expected in conditions.items():
            if key.lower() not in carried:
                return False  # AWS: a key the request lacks never meets the condition
            value = carried[key.lower()]
            if operator in _WILDCARD_OPERATORS:
                if not any(wildcard_match(str(pattern), value) for pattern in _as_list(expected)):
                    return False
            else:
                passed.setdefault(operator, {})[key] = expected
                incoming[key] = value
    evaluated = {
        "Effect": "Allow",
        # AWS compares actions without case; moto with.
        "Action": [str(action).lower() for action in _as_list(statement["Action"])],
        "Resource": statement["Resource"],
        **({"Condition": passed} if passed else {}),
    }
    result = _LiteralMatchingStatement(evaluated).is_action_permitted(
        req.action.lower(), req.resource, incoming_condition_values=incoming
    )
    return result is PermissionResult.PERMITTED


def policy_allows(statements: Iterable[Mapping[str, Any]], req: Request) -> bool:
    return any(statement_allows(statement, req) for statement in statements)


def grants(statement: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The statement split into its smallest grants: one action, one resource and one value of
    each condition key. Each is a statement of its own, so a grant no request uses shows."""
    conditions = [
        (operator, key, _as_list(values))
        for operator, keys in statement.get("Condition", {}).items()
        for key, values in keys.items()
    ]
    found = []
    for action, resource, *values in itertools.product(
        _as_list(statement["Action"]),
        _as_list(statement["Resource"]),
        *(choices for _, _, choices in conditions),
    ):
        single: dict[str, Any] = {"Effect": statement["Effect"], "Action": action, "Resource": resource}
        for (operator, key, _), value in zip(conditions, values, strict=True):
            single.setdefault("Condition", {}).setdefault(operator, {})[key] = value
        if "Sid" in statement:
            single["Sid"] = statement["Sid"]
        found.append(single)
    return found
