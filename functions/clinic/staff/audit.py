"""The audit trail: one event per full view, change, export, release and erasure of leads.

Events are appended (a conditional put of a new ULID, never an overwrite) and read; the staff
function's role allows nothing else on the table, so no one it serves can rewrite history.
An event names the actor (Cognito subject and username), the action, the lead, the time, the
API request and the outcome: never what the patient sent. DynamoDB's TTL removes an event
when its retention (AUDIT_RETENTION_DAYS) ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError
from ulid import ULID

from clinic.common.aws import API_CLIENT_CONFIG, LazyClient
from clinic.leads.record import format_time, parse_time
from clinic.staff.access import Caller
from clinic.staff.models import Actor, AuditAction, AuditEvent

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef, TransactWriteItemTypeDef

EXPORTS_TRAIL = "staff#exports"
ERASURES_TRAIL = "staff#erasures"
SUCCESS = "success"

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def lead_trail(lead_id: str) -> str:
    return f"lead#{lead_id}"


class AuditUnavailable(Exception):
    """The event could not be written: the action it records must not happen (or be answered)."""


@dataclass(frozen=True)
class Attempt:
    """The who, what and which of one action, before its outcome is known."""

    caller: Caller
    action: AuditAction
    lead_id: str | None
    request_id: str

    @property
    def trail(self) -> str:
        if self.lead_id is not None:
            return lead_trail(self.lead_id)
        return EXPORTS_TRAIL if self.action == "leads.exported" else ERASURES_TRAIL

    def for_lead(self, action: AuditAction, lead_id: str) -> Attempt:
        return Attempt(self.caller, action, lead_id, self.request_id)


class AuditLog:
    def __init__(
        self, table: str, retention_days: int, dynamodb_client: DynamoDBClient | None = None
    ) -> None:
        self._table = table
        self._retention_seconds = retention_days * 86_400
        self._dynamodb = LazyClient(
            dynamodb_client, lambda: boto3.client("dynamodb", config=API_CLIENT_CONFIG)
        )

    def _item(self, attempt: Attempt, outcome: str, now: float) -> dict[str, AttributeValueTypeDef]:
        values: dict[str, Any] = {
            "trail": attempt.trail,
            "event_id": str(ULID.from_timestamp(now)),
            "at": format_time(now),
            "actor_sub": attempt.caller.sub,
            "actor_username": attempt.caller.username,
            "action": attempt.action,
            "lead_id": attempt.lead_id,
            "outcome": outcome,
            "request_id": attempt.request_id,
            "expires_at": int(now) + self._retention_seconds,
        }
        return {name: _serializer.serialize(value) for name, value in values.items() if value is not None}

    def append_request(self, attempt: Attempt, outcome: str, now: float) -> TransactWriteItemTypeDef:
        """The event as one item of a transaction: the change and its record land together."""
        return {
            "Put": {
                "TableName": self._table,
                "Item": self._item(attempt, outcome, now),
                "ConditionExpression": "attribute_not_exists(event_id)",
            }
        }

    def append(self, attempt: Attempt, outcome: str, now: float) -> None:
        """Write the event, or raise AuditUnavailable."""
        put = self.append_request(attempt, outcome, now)["Put"]
        try:
            self._dynamodb().put_item(
                TableName=put["TableName"], Item=put["Item"], ConditionExpression=put["ConditionExpression"]
            )
        except (ClientError, BotoCoreError):
            raise AuditUnavailable() from None

    def trail(self, lead_id: str) -> list[AuditEvent]:
        """Every event of one lead, oldest first."""
        paginator = self._dynamodb().get_paginator("query")
        pages = paginator.paginate(
            TableName=self._table,
            KeyConditionExpression="trail = :trail",
            ExpressionAttributeValues={":trail": {"S": lead_trail(lead_id)}},
            ScanIndexForward=True,
        )
        events = []
        for page in pages:
            for item in page.get("Items", []):
                values = {name: _deserializer.deserialize(value) for name, value in item.items()}
                events.append(_event(values))
        return events


def _event(values: dict[str, Any]) -> AuditEvent:
    return AuditEvent(
        at=parse_time(values["at"]),
        actor=Actor(sub=values["actor_sub"], username=values["actor_username"]),
        action=values["action"],
        lead_id=values.get("lead_id"),
        outcome=values["outcome"],
        request_id=values["request_id"],
    )
