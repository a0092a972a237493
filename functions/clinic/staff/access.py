"""Who is calling: the claims API Gateway's JWT authorizer checked and passed on, and what each
group may do.

API Gateway has verified the token's signature, issuer, audience (or client_id) and expiry
before the function runs. It does not check `token_use`, and Cognito's ID tokens carry the
console's client id as `aud`, so an ID token passes the authorizer: the function accepts only
an access token issued to the console's client (defence in depth). The authorizer passes every
claim as a string, an array as one string in brackets: `cognito:groups` is "[admin staff]".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from clinic.common.errors import Forbidden, Unauthorized

ACCESS_TOKEN = "access"  # noqa: S105  # nosec B105 - a token_use value, not a secret


class Group(StrEnum):
    STAFF = "staff"
    ADMIN = "admin"


class Action(StrEnum):
    LIST = "list"
    VIEW = "view"
    UPDATE = "update"
    ERASE = "erase"
    EXPORT = "export"
    ERASE_PERSON = "erase_person"
    READ_AUDIT = "read_audit"


# Which groups may do what: staff work leads, administrators also export, erase and audit.
ALLOWED: dict[Action, frozenset[Group]] = {
    Action.LIST: frozenset({Group.STAFF, Group.ADMIN}),
    Action.VIEW: frozenset({Group.STAFF, Group.ADMIN}),
    Action.UPDATE: frozenset({Group.STAFF, Group.ADMIN}),
    Action.ERASE: frozenset({Group.ADMIN}),
    Action.EXPORT: frozenset({Group.ADMIN}),
    Action.ERASE_PERSON: frozenset({Group.ADMIN}),
    Action.READ_AUDIT: frozenset({Group.ADMIN}),
}


def claim_list(value: Any) -> list[str]:
    """An array claim as the authorizer passes it ("[admin staff]"), or as a list."""
    if isinstance(value, list):
        return [str(item) for item in value]
    if not isinstance(value, str) or not value.strip():
        return []
    return value.strip().removeprefix("[").removesuffix("]").split()


@dataclass(frozen=True)
class Caller:
    """The signed-in staff member: Cognito subject, username, groups."""

    sub: str
    username: str
    groups: frozenset[str]

    def may(self, action: Action) -> bool:
        return bool(self.groups & ALLOWED[action])

    def require(self, action: Action) -> None:
        if not self.may(action):
            raise Forbidden()


def caller_from_event(event: Mapping[str, Any], console_client_id: str) -> Caller:
    """The caller of a payload 2.0 event; Unauthorized unless it carries the console's access token."""
    context = event.get("requestContext") or {}
    claims = ((context.get("authorizer") or {}).get("jwt") or {}).get("claims") or {}
    sub, username = claims.get("sub"), claims.get("username")
    if (
        claims.get("token_use") != ACCESS_TOKEN
        or claims.get("client_id") != console_client_id
        or not isinstance(sub, str)
        or not sub
        or not isinstance(username, str)
        or not username
    ):
        raise Unauthorized()
    return Caller(sub=sub, username=username, groups=frozenset(claim_list(claims.get("cognito:groups"))))
