"""Repeat requests: the same email address or phone number within REPEAT_WINDOW_DAYS links the
new lead to the earlier one (`repeat_of`), so that the staff email and the inbox say so and
nobody calls the patient twice.

The earlier lead is found by the keyed contact hashes intake keeps (record.contact_hash), never
by plaintext, and without a second index on the leads table: each stored lead leaves a guard
table record per hash, `contact#<hash>` -> its id, that expires with the window. It is written
in the lead's own transaction (LeadStore.create), so a record never names a lead that was not
stored, and the latest lead of a person always holds it (each repeat links to the one before).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from clinic.leads.record import REPEAT_WINDOW_DAYS, StoredLead

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

REPEAT_WINDOW_SECONDS = REPEAT_WINDOW_DAYS * 86400

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def contact_keys(lead: StoredLead) -> list[str]:
    """The guard table keys of the lead's contact hashes (none for a lead without them)."""
    return [f"contact#{digest}" for digest in (lead.email_hash, lead.phone_hash) if digest]


def earlier_lead(dynamodb: DynamoDBClient, guard_table: str, lead: StoredLead, now: float) -> str | None:
    """The id of the latest other lead with the same email or phone in the window, or None.
    (Read consistently: a repeat seconds after the first request is still found.)"""
    found: list[str] = []
    for pk in contact_keys(lead):
        item = dynamodb.get_item(TableName=guard_table, Key={"pk": {"S": pk}}, ConsistentRead=True).get(
            "Item"
        )
        if not item:
            continue
        values = {name: _deserializer.deserialize(value) for name, value in item.items()}
        # TTL deletion lags: an expired record no longer links anything.
        if int(values["expires_at"]) > now and values["lead_id"] != lead.id:
            found.append(str(values["lead_id"]))
    return max(found) if found else None  # ULIDs sort by time: the most recent


def remember_contacts(guard_table: str, lead: StoredLead) -> list[TransactWriteItemTypeDef]:
    """The writes (for the lead's own transaction) that let the next request of this person
    within the window find this lead: only the hash and the lead's id, never the contact itself."""
    expires = int(lead.created_at.timestamp()) + REPEAT_WINDOW_SECONDS
    puts: list[TransactWriteItemTypeDef] = []
    for pk in contact_keys(lead):
        values: dict[str, Any] = {"pk": pk, "lead_id": lead.id, "expires_at": expires}
        item = {name: _serializer.serialize(value) for name, value in values.items()}
        puts.append({"Put": {"TableName": guard_table, "Item": item}})
    return puts
