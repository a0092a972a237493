"""The notification state kept on each lead: a short claim, each step's mark, the final mark.

Every change is a conditional update, so two deliveries of the same stream record, or the
stream and the sweeper at once, cannot both send.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from clinic.common.aws import WORKER_CLIENT_CONFIG, LazyClient
from clinic.leads.record import (
    CLAIMED_UNTIL,
    CREATED_AT,
    KEY,
    NOTIFIED_AT,
    NOTIFY_PENDING,
    NOTIFY_STATE,
    PENDING_INDEX,
    STATUS,
    LeadStatus,
    format_time,
    key,
    mark_attribute,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def _values(values: dict[str, Any]) -> dict[str, AttributeValueTypeDef]:
    return {name: _serializer.serialize(value) for name, value in values.items()}


def _plain(item: Mapping[str, AttributeValueTypeDef]) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


class LeadGone(Exception):
    """The lead no longer exists (expired by TTL, or erased)."""


class LeadQuarantined(Exception):
    """The lead failed a spam test: staff are not told unless they release it."""


class AlreadyNotified(Exception):
    """Staff were already told about this lead."""


class LeadBusy(Exception):
    """Another delivery holds the claim on this lead right now."""


class ClaimLost(Exception):
    """Our claim expired before we finished; another delivery may have taken over."""


def _conditional_failure(error: ClientError) -> bool:
    return bool(error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException")


def _item_when_refused(error: ClientError) -> dict[str, Any] | None:
    """The item as the failed condition saw it (ReturnValuesOnConditionCheckFailure), which
    DynamoDB adds to the error and botocore's error type does not name."""
    response: Mapping[str, object] = error.response
    item = response.get("Item")
    return item if isinstance(item, dict) else None


class NotificationStore:
    def __init__(self, leads_table: str, dynamodb_client: DynamoDBClient | None = None) -> None:
        self._table = leads_table
        self._dynamodb = LazyClient(
            dynamodb_client, lambda: boto3.client("dynamodb", config=WORKER_CLIENT_CONFIG)
        )

    def claim(self, lead_id: str, now: int, lease_until: int) -> dict[str, Any]:
        """Hold the lead until `lease_until` and read it (the item's values), in one conditional update.
        An erased lead is gone: nobody is told about it, whoever asks (the stream or the sweeper).
        A quarantined lead reaches the stream too (its records carry keys only, so the stream's
        filter cannot tell it apart): it is refused here."""
        try:
            response = self._dynamodb().update_item(
                TableName=self._table,
                Key=key(lead_id),
                UpdateExpression=f"SET {CLAIMED_UNTIL} = :lease",
                ConditionExpression=(
                    f"attribute_exists({KEY}) AND attribute_not_exists({NOTIFIED_AT}) AND "
                    f"(attribute_not_exists({CLAIMED_UNTIL}) OR {CLAIMED_UNTIL} < :now) AND "
                    "NOT #status IN (:erased, :quarantined)"
                ),
                ExpressionAttributeNames={"#status": STATUS},
                ExpressionAttributeValues=_values(
                    {
                        ":lease": lease_until,
                        ":now": now,
                        ":erased": LeadStatus.ERASED.value,
                        ":quarantined": LeadStatus.QUARANTINED.value,
                    }
                ),
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if not _conditional_failure(error):
                raise
            old = _item_when_refused(error)
            if not old or old.get(STATUS, {}).get("S") == LeadStatus.ERASED:
                raise LeadGone(lead_id) from None
            if NOTIFIED_AT in old:
                raise AlreadyNotified(lead_id) from None
            if old.get(STATUS, {}).get("S") == LeadStatus.QUARANTINED:
                raise LeadQuarantined(lead_id) from None
            raise LeadBusy(lead_id) from None
        return _plain(response["Attributes"])

    def mark_step(self, lead_id: str, step: str, now: float, lease_until: int) -> None:
        update = f"SET {mark_attribute(step)} = :now"
        self._while_claimed(lead_id, lease_until, update, {":now": format_time(now)})

    def mark_notified(self, lead_id: str, now: float, lease_until: int) -> None:
        """Staff have everything: leave the pending index and drop the claim."""
        self._while_claimed(
            lead_id,
            lease_until,
            f"SET {NOTIFIED_AT} = :now REMOVE {NOTIFY_STATE}, {CLAIMED_UNTIL}",
            {":now": format_time(now)},
        )

    def release(self, lead_id: str, lease_until: int) -> None:
        """Give the claim back after a failure, so that a retry need not wait for the lease."""
        with contextlib.suppress(ClaimLost):
            self._while_claimed(lead_id, lease_until, f"REMOVE {CLAIMED_UNTIL}", {})

    def _while_claimed(self, lead_id: str, lease_until: int, update: str, values: dict[str, Any]) -> None:
        try:
            self._dynamodb().update_item(
                TableName=self._table,
                Key=key(lead_id),
                UpdateExpression=update,
                ConditionExpression=f"{CLAIMED_UNTIL} = :lease",
                ExpressionAttributeValues=_values({**values, ":lease": lease_until}),
            )
        except ClientError as error:
            if _conditional_failure(error):
                raise ClaimLost(lead_id) from None
            raise

    def pending_before(self, created_before: float, limit: int) -> Iterator[str]:
        """Ids of leads never marked notified and created before `created_before` (epoch seconds),
        newest first, so that a lead that fails every time cannot keep the sweeper from more
        recent ones."""
        paginator = self._dynamodb().get_paginator("query")
        pages = paginator.paginate(
            TableName=self._table,
            IndexName=PENDING_INDEX,
            KeyConditionExpression=f"{NOTIFY_STATE} = :pending AND {CREATED_AT} < :before",
            ExpressionAttributeValues=_values(
                {":pending": NOTIFY_PENDING, ":before": format_time(created_before)}
            ),
            ScanIndexForward=False,
            PaginationConfig={"MaxItems": limit, "PageSize": min(limit, 100)},
        )
        for page in pages:
            for item in page.get("Items", []):
                yield item[KEY]["S"]
