"""The leads table as the staff inbox reads and changes it.

Every change to a lead and its audit event are one transaction (TransactWriteItems): the change
lands with its record or not at all. Changes are conditional on the version the caller read
(optimistic concurrency); erasure is conditional only on the lead not being erased already.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError
from ulid import ULID

from clinic.common.aws import API_CLIENT_CONFIG, LazyClient
from clinic.common.errors import ServiceUnavailable
from clinic.leads.record import (
    ASSIGNEE,
    CLAIMED_UNTIL,
    EMAIL_HASH,
    ERASED_ATTRIBUTES,
    EXPIRES_AT,
    HISTORY,
    INBOX_INDEX,
    KEY,
    NOTES,
    NOTIFIED_AT,
    NOTIFY_RELEASED,
    NOTIFY_STATE,
    PHONE_HASH,
    STATUS,
    VERSION,
    LeadStatus,
    Note,
    StatusChange,
    key,
    stored_entry,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef, TransactWriteItemTypeDef

logger = Logger(child=True)

RETRY_AFTER_SECONDS = 5
_ULID_RANDOM_LOW, _ULID_RANDOM_HIGH = "0" * 16, "Z" * 16
_ULID_LAST_MS = 2**48 - 1  # a ULID's time is 48 bits of milliseconds since 1970
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NOT_EXPIRED = f"(attribute_not_exists({EXPIRES_AT}) OR {EXPIRES_AT} > :now)"

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def _values(values: Mapping[str, Any]) -> dict[str, AttributeValueTypeDef]:
    return {name: _serializer.serialize(value) for name, value in values.items()}


def plain(item: Mapping[str, AttributeValueTypeDef]) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


def _milliseconds(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def _id_prefix(milliseconds: int) -> str:
    # A ULID starts with its time in milliseconds: lead ids sort as their created_at does. A time
    # before 1970 (a date a staff member may well type) is the first a ULID holds: no lead is older.
    return str(ULID.from_timestamp(min(max(milliseconds, 0), _ULID_LAST_MS)))[:10]


@dataclass(frozen=True)
class IdRange:
    """Lead ids from `lowest` to `highest`, both included (None: no bound)."""

    lowest: str | None = None
    highest: str | None = None

    @classmethod
    def of(cls, start: datetime | None, end: datetime | None, before: str | None = None) -> IdRange:
        """Leads created from `start` until `end` (exclusive), and older than the id `before`."""
        lowest = _id_prefix(_milliseconds(start)) + _ULID_RANDOM_LOW if start else None
        highest = _id_prefix(_milliseconds(end) - 1) + _ULID_RANDOM_HIGH if end else None
        if before is not None and (highest is None or before < highest):
            highest = before  # included by the key condition; the reader skips it
        return cls(lowest, highest)


class LeadChanged(Exception):
    """The condition of a change failed: another change came first, or the lead is gone."""


class StaffLeadStore:
    def __init__(
        self, leads_table: str, guard_table: str, dynamodb_client: DynamoDBClient | None = None
    ) -> None:
        self._table = leads_table
        self._guard_table = guard_table  # where intake remembers contact hashes for repeats
        self._dynamodb = LazyClient(
            dynamodb_client, lambda: boto3.client("dynamodb", config=API_CLIENT_CONFIG)
        )

    def get(self, lead_id: str) -> dict[str, Any] | None:
        """The lead's item (plain values), read consistently, or None."""
        try:
            response = self._dynamodb().get_item(TableName=self._table, Key=key(lead_id), ConsistentRead=True)
        except (ClientError, BotoCoreError) as error:
            raise _unavailable("GetItem", error) from None
        item = response.get("Item")
        return plain(item) if item else None

    def newest_first(
        self, statuses: Iterable[LeadStatus], ids: IdRange, now: float, *, skip: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """Unexpired leads of these statuses within `ids`, newest first, read a page at a time."""
        streams = [self._status_stream(status, ids, now, skip) for status in statuses]
        return heapq.merge(*streams, key=lambda item: str(item[KEY]), reverse=True)

    def _status_stream(
        self, status: LeadStatus, ids: IdRange, now: float, skip: str | None
    ) -> Iterator[dict[str, Any]]:
        condition = "#status = :status"
        values: dict[str, Any] = {":status": status.value, ":now": int(now)}
        if ids.lowest and ids.highest:
            condition += f" AND {KEY} BETWEEN :lowest AND :highest"
            values |= {":lowest": ids.lowest, ":highest": ids.highest}
        elif ids.lowest:
            condition += f" AND {KEY} >= :lowest"
            values[":lowest"] = ids.lowest
        elif ids.highest:
            condition += f" AND {KEY} <= :highest"
            values[":highest"] = ids.highest
        paginator = self._dynamodb().get_paginator("query")
        pages = paginator.paginate(
            TableName=self._table,
            IndexName=INBOX_INDEX,
            KeyConditionExpression=condition,
            FilterExpression=_NOT_EXPIRED,
            ExpressionAttributeNames={"#status": STATUS},
            ExpressionAttributeValues=_values(values),
            ScanIndexForward=False,
            PaginationConfig={"PageSize": 100},
        )
        try:
            for page in pages:
                for item in page.get("Items", []):
                    if item[KEY]["S"] != skip:
                        yield plain(item)
        except (ClientError, BotoCoreError) as error:
            raise _unavailable("Query", error) from None

    def change(
        self,
        lead_id: str,
        *,
        expected_version: int,
        now: float,
        status: StatusChange | None,
        note: Note | None,
        assignee: tuple[str | None] | None,
        audit: TransactWriteItemTypeDef,
    ) -> None:
        """Apply a change if the lead is still at `expected_version`, with its audit event;
        raise LeadChanged if it is not (or is gone)."""
        sets = [f"{VERSION} = :next"]
        removes = []
        values: dict[str, Any] = {":next": expected_version + 1, ":now": int(now), ":erased": "erased"}
        if status is not None:
            sets += [
                "#status = :status",
                f"{HISTORY} = list_append(if_not_exists({HISTORY}, :empty), :change)",
            ]
            values |= {":status": status.status.value, ":change": [stored_entry(status)], ":empty": []}
        if note is not None:
            sets.append(f"{NOTES} = list_append(if_not_exists({NOTES}, :empty), :note)")
            values |= {":note": [stored_entry(note)], ":empty": []}
        if assignee is not None:
            if assignee[0] is None:
                removes.append(ASSIGNEE)
            else:
                sets.append(f"{ASSIGNEE} = :assignee")
                values[":assignee"] = assignee[0]
        if expected_version:
            version_holds = f"{VERSION} = :version"
            values[":version"] = expected_version
        else:
            version_holds = f"attribute_not_exists({VERSION})"
        update = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        self._transact(
            {
                "Update": {
                    "TableName": self._table,
                    "Key": key(lead_id),
                    "UpdateExpression": update,
                    "ConditionExpression": " AND ".join(
                        (f"attribute_exists({KEY})", "#status <> :erased", version_holds, _NOT_EXPIRED)
                    ),
                    "ExpressionAttributeNames": {"#status": STATUS},
                    "ExpressionAttributeValues": _values(values),
                }
            },
            audit,
        )

    def release(
        self,
        lead_id: str,
        *,
        expected_version: int,
        now: float,
        change: StatusChange,
        expires_at: int,
        audit: TransactWriteItemTypeDef,
    ) -> None:
        """Move a quarantined lead to new and hand it to the sweeper (notify_state "released",
        which no stream delivery races: its insert was passed over), with its audit event and
        the retention of a lead rather than of quarantine; raise LeadChanged if it is no longer
        quarantined at that version. Never notified before, so staff are told exactly once: the
        notifier's claim and final mark are conditional as for any lead."""
        version_holds = f"{VERSION} = :version" if expected_version else f"attribute_not_exists({VERSION})"
        self._transact(
            {
                "Update": {
                    "TableName": self._table,
                    "Key": key(lead_id),
                    "UpdateExpression": (
                        f"SET #status = :new, {VERSION} = :next, {NOTIFY_STATE} = :released, "
                        f"{EXPIRES_AT} = :expires, "
                        f"{HISTORY} = list_append(if_not_exists({HISTORY}, :empty), :change)"
                    ),
                    "ConditionExpression": " AND ".join(
                        (
                            f"attribute_exists({KEY})",
                            "#status = :quarantined",
                            version_holds,
                            f"attribute_not_exists({NOTIFIED_AT})",
                            _NOT_EXPIRED,
                        )
                    ),
                    "ExpressionAttributeNames": {"#status": STATUS},
                    "ExpressionAttributeValues": _values(
                        {
                            ":new": LeadStatus.NEW.value,
                            ":quarantined": LeadStatus.QUARANTINED.value,
                            ":released": NOTIFY_RELEASED,
                            ":next": expected_version + 1,
                            ":now": int(now),
                            ":expires": expires_at,
                            ":empty": [],
                            ":change": [stored_entry(change)],
                        }
                        | ({":version": expected_version} if expected_version else {})
                    ),
                }
            },
            audit,
        )

    def erase(self, lead_id: str, change: StatusChange, audit: TransactWriteItemTypeDef) -> None:
        """Remove the patient's fields and mark the lead erased, with its audit event; raise
        LeadChanged if the lead is gone or erased already. It leaves the pending index, so the
        sweeper never finds it, and a claim in flight is dropped."""
        # By placeholder: several of these names (name, source, …) are DynamoDB reserved words.
        removed_names = {
            f"#r{n}": name for n, name in enumerate((*ERASED_ATTRIBUTES, NOTIFY_STATE, CLAIMED_UNTIL))
        }
        removed = ", ".join(removed_names)
        self._transact(
            {
                "Update": {
                    "TableName": self._table,
                    "Key": key(lead_id),
                    "UpdateExpression": (
                        f"SET #status = :erased, {VERSION} = if_not_exists({VERSION}, :zero) + :one, "
                        f"{HISTORY} = list_append(if_not_exists({HISTORY}, :empty), :change) REMOVE {removed}"
                    ),
                    "ConditionExpression": f"attribute_exists({KEY}) AND #status <> :erased",
                    "ExpressionAttributeNames": {"#status": STATUS, **removed_names},
                    "ExpressionAttributeValues": _values(
                        {
                            ":erased": LeadStatus.ERASED.value,
                            ":zero": 0,
                            ":one": 1,
                            ":empty": [],
                            ":change": [stored_entry(change)],
                        }
                    ),
                }
            },
            audit,
        )

    def forget_contacts(self, hashes: Iterable[str], *, of_lead: str | None = None) -> None:
        """Delete the repeat-request records of these contact hashes (consultations/repeats.py),
        so that an erased person's next request is not linked to what was erased; with
        `of_lead`, only the records that still name that lead (a later lead keeps its own)."""
        for digest in hashes:
            condition: dict[str, Any] = (
                {
                    "ConditionExpression": "lead_id = :lead",
                    "ExpressionAttributeValues": _values({":lead": of_lead}),
                }
                if of_lead
                else {}
            )
            try:
                self._dynamodb().delete_item(
                    TableName=self._guard_table, Key={"pk": {"S": f"contact#{digest}"}}, **condition
                )
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                    continue  # a later request of the person holds it: not this lead's
                raise _unavailable("DeleteItem", error) from None
            except BotoCoreError as error:
                raise _unavailable("DeleteItem", error) from None

    def leads_of_person(self, email_hash: str | None, phone_hash: str | None) -> list[str]:
        """Ids of the leads whose keyed email or phone hash is one of these (erasure by person).
        A scan of hashes, never of plaintext: erasure is rare, and a second index would cost
        every lead a write and could not be added in the same deploy as the inbox's."""
        conditions, values = [], {}
        if email_hash:
            conditions.append(f"{EMAIL_HASH} = :email")
            values[":email"] = email_hash
        if phone_hash:
            conditions.append(f"{PHONE_HASH} = :phone")
            values[":phone"] = phone_hash
        paginator = self._dynamodb().get_paginator("scan")
        pages = paginator.paginate(
            TableName=self._table,
            FilterExpression=" OR ".join(conditions),
            ProjectionExpression=KEY,
            ExpressionAttributeValues=_values(values),
        )
        try:
            return [item[KEY]["S"] for page in pages for item in page.get("Items", [])]
        except (ClientError, BotoCoreError) as error:
            raise _unavailable("Scan", error) from None

    def _transact(self, change: TransactWriteItemTypeDef, audit: TransactWriteItemTypeDef) -> None:
        try:
            self._dynamodb().transact_write_items(TransactItems=[change, audit])
        except ClientError as error:
            reasons = [reason.get("Code", "None") for reason in error.response.get("CancellationReasons", [])]
            if reasons and reasons[0] == "ConditionalCheckFailed":
                raise LeadChanged() from None
            raise _unavailable("TransactWriteItems", error) from None
        except BotoCoreError as error:
            raise _unavailable("TransactWriteItems", error) from None


def _unavailable(operation: str, error: Exception) -> ServiceUnavailable:
    code = (
        error.response.get("Error", {}).get("Code")
        if isinstance(error, ClientError)
        else type(error).__name__
    )
    logger.warning("DynamoDB call failed", extra={"operation": operation, "error_code": code})
    return ServiceUnavailable(retry_after=RETRY_AFTER_SECONDS)
