"""DynamoDB writes for a consultation request: one transaction, so nothing is half-written.

The transaction counts the request against the client's rate-limit window, claims the
Idempotency-Key (when one was sent), records the proof-of-work solution as used (when it had
one), remembers the lead's contact hashes for repeat requests (repeats.py) and puts the lead,
all or nothing: a request refused for its rate does not use up its solution. Rate-limit,
idempotency, solution and contact records live in the guard table, so they never reach the
leads stream.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from clinic.common.aws import API_CLIENT_CONFIG, LazyClient
from clinic.common.errors import RateLimited, ServiceUnavailable
from clinic.consultations import repeats
from clinic.consultations.proof_of_work import SolutionClaim
from clinic.leads.record import KEY, StoredLead

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef, TransactWriteItemTypeDef

logger = Logger(child=True)

RETRY_AFTER_SECONDS = 5

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def _item(values: dict[str, Any]) -> dict[str, AttributeValueTypeDef]:
    return {key: _serializer.serialize(value) for key, value in values.items() if value is not None}


@dataclass(frozen=True)
class RateWindow:
    """A fixed window of `length` seconds in which a client may store `limit` requests."""

    client_hash: str
    limit: int
    length: int
    now: float

    @property
    def start(self) -> int:
        return int(self.now // self.length * self.length)

    @property
    def retry_after(self) -> int:
        return max(1, math.ceil(self.start + self.length - self.now))


@dataclass(frozen=True)
class IdempotencyRecord:
    """What the first request with a key was answered: the lead it created."""

    key_hash: str
    fingerprint: str
    lead_id: str
    reference: str | None  # None in a record written before references existed
    expires_at: int = field(compare=False)


class WriteContended(Exception):
    """Another write got there first: a request with the same Idempotency-Key (a race, or our
    own write whose answer was lost), or a concurrent request in the same rate window.
    Reading again and retrying resolves it."""


class SolutionUsed(Exception):
    """The proof-of-work solution was already recorded as used: the request is a replay."""


class LeadStore:
    def __init__(
        self, leads_table: str, guard_table: str, dynamodb_client: DynamoDBClient | None = None
    ) -> None:
        self._leads_table = leads_table
        self._guard_table = guard_table
        self._dynamodb = LazyClient(
            dynamodb_client, lambda: boto3.client("dynamodb", config=API_CLIENT_CONFIG)
        )

    def idempotency_record(self, key_hash: str, now: float) -> IdempotencyRecord | None:
        """The unexpired record for a key (TTL deletion can lag, so expiry is checked here)."""
        try:
            response = self._dynamodb().get_item(
                TableName=self._guard_table, Key=_item({"pk": f"idem#{key_hash}"}), ConsistentRead=True
            )
        except (ClientError, BotoCoreError) as error:
            raise _unavailable("GetItem", error) from None
        if "Item" not in response:
            return None
        values = {key: _deserializer.deserialize(value) for key, value in response["Item"].items()}
        if int(values["expires_at"]) <= now:
            return None
        return IdempotencyRecord(
            key_hash,
            values["fingerprint"],
            values["lead_id"],
            values.get("reference"),
            int(values["expires_at"]),
        )

    def linked_to_earlier(self, lead: StoredLead, now: float) -> StoredLead:
        """The lead, linked (repeat_of) to an earlier one of the same email or phone in the
        repeat window, if there is one."""
        try:
            earlier = repeats.earlier_lead(self._dynamodb(), self._guard_table, lead, now)
        except (ClientError, BotoCoreError) as error:
            raise _unavailable("GetItem", error) from None
        return lead.model_copy(update={"repeat_of": earlier}) if earlier else lead

    def create(
        self,
        lead: StoredLead,
        rate: RateWindow,
        idempotency: IdempotencyRecord | None,
        solution: SolutionClaim | None = None,
    ) -> None:
        """Store the lead, or raise RateLimited, WriteContended, SolutionUsed or ServiceUnavailable."""
        parts = ["rate"]
        items: list[TransactWriteItemTypeDef] = [self._count_request(rate)]
        if idempotency:
            parts.append("key")
            items.append(self._claim_key(idempotency, int(rate.now)))
        if solution:
            parts.append("solution")
            items.append(self._use_solution(solution, int(rate.now)))
        contacts = repeats.remember_contacts(self._guard_table, lead)  # before the lead: it stays last
        parts += ["contact"] * len(contacts)
        items += contacts
        parts.append("lead")
        items.append(
            {
                "Put": {
                    "TableName": self._leads_table,
                    "Item": _item(lead.to_item()),
                    "ConditionExpression": f"attribute_not_exists({KEY})",
                }
            }
        )
        try:
            # botocore adds a ClientRequestToken, so its own retry of an applied write is a no-op.
            self._dynamodb().transact_write_items(TransactItems=items)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise _unavailable("TransactWriteItems", error) from None
            self._explain_cancellation(error, rate, parts)
        except BotoCoreError as error:
            raise _unavailable("TransactWriteItems", error) from None

    def _count_request(self, rate: RateWindow) -> TransactWriteItemTypeDef:
        return {
            "Update": {
                "TableName": self._guard_table,
                "Key": _item({"pk": f"rate#{rate.client_hash}#{rate.start}"}),
                "UpdateExpression": "ADD hits :one SET expires_at = if_not_exists(expires_at, :expires)",
                "ConditionExpression": "attribute_not_exists(hits) OR hits < :limit",
                "ExpressionAttributeValues": _item(
                    {":one": 1, ":limit": rate.limit, ":expires": rate.start + rate.length + 60}
                ),
            }
        }

    def _claim_key(self, record: IdempotencyRecord, now: int) -> TransactWriteItemTypeDef:
        return {
            "Put": {
                "TableName": self._guard_table,
                "Item": _item(
                    {
                        "pk": f"idem#{record.key_hash}",
                        "fingerprint": record.fingerprint,
                        "lead_id": record.lead_id,
                        "reference": record.reference,
                        "expires_at": record.expires_at,
                    }
                ),
                "ConditionExpression": "attribute_not_exists(pk) OR expires_at <= :now",
                "ExpressionAttributeValues": _item({":now": now}),
            }
        }

    def _use_solution(self, solution: SolutionClaim, now: int) -> TransactWriteItemTypeDef:
        # Kept until its challenge expires (and a minute more, for clocks): after that the
        # solution is refused as expired anyway.
        return {
            "Put": {
                "TableName": self._guard_table,
                "Item": _item({"pk": f"pow#{solution.solution_id}", "expires_at": solution.expires_at + 60}),
                "ConditionExpression": "attribute_not_exists(pk) OR expires_at <= :now",
                "ExpressionAttributeValues": _item({":now": now}),
            }
        }

    def _explain_cancellation(self, error: ClientError, rate: RateWindow, parts: list[str]) -> None:
        codes = [reason.get("Code", "None") for reason in error.response.get("CancellationReasons", [])]
        reasons = dict(zip(parts, codes, strict=False))
        if reasons.get("key") in ("ConditionalCheckFailed", "TransactionConflict"):
            raise WriteContended()
        if reasons.get("rate") == "ConditionalCheckFailed":
            raise RateLimited(retry_after=rate.retry_after)
        if reasons.get("solution") == "ConditionalCheckFailed":
            raise SolutionUsed()
        lead_reason = reasons.get("lead", "None")
        if lead_reason == "ConditionalCheckFailed":
            # The id is new to this request, so the lead is there because our own write landed
            # and botocore retried after losing the answer. (DynamoDB itself answers such a
            # retry as a success, by its ClientRequestToken; emulators and a token older than
            # ten minutes do not, and land here.)
            return
        if "TransactionConflict" in codes:
            raise WriteContended()
        raise _unavailable("TransactWriteItems", error)


def _unavailable(operation: str, error: Exception) -> ServiceUnavailable:
    code = (
        error.response.get("Error", {}).get("Code")
        if isinstance(error, ClientError)
        else type(error).__name__
    )
    logger.warning("DynamoDB call failed", extra={"operation": operation, "error_code": code})
    return ServiceUnavailable(retry_after=RETRY_AFTER_SECONDS)
