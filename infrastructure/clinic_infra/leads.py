"""`clinic lead show REFERENCE`: a lead as staff read it, for staff with AWS access to the stack.

Until the staff inbox exists this is how a person reads the whole request behind a staff
email: the leads table is scanned for the reference (ids only), and each lead found is read
with a consistent GetItem. A scan, not an index: DynamoDB adds one index per table update, and
the staff inbox's index takes this release's; a clinic's table is small, and this is a rare
read by one person. Every lead under the reference is printed: references are random, so
two leads could in principle share one, and staff should see both rather than the wrong one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from boto3.dynamodb.types import TypeDeserializer

from clinic.common.dates import date_and_time
from clinic.leads.record import REFERENCE, StoredLead, key
from clinic.notifications.messages import CHANNEL_LABELS, CONCERN_LABELS, TIME_LABELS

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_deserializer = TypeDeserializer()


def leads_with_reference(dynamodb: DynamoDBClient, table: str, reference: str) -> Iterator[StoredLead]:
    """Each lead stored under `reference` (as read_reference gives it), oldest first."""
    paginator = dynamodb.get_paginator("scan")
    pages = paginator.paginate(
        TableName=table,
        FilterExpression="#reference = :reference",
        ProjectionExpression="id",
        ExpressionAttributeNames={"#reference": REFERENCE},
        ExpressionAttributeValues={":reference": {"S": reference}},
    )
    ids = sorted(item["id"]["S"] for page in pages for item in page.get("Items", []))  # ULIDs sort by time
    for lead_id in ids:
        item = dynamodb.get_item(TableName=table, Key=key(lead_id), ConsistentRead=True).get("Item")
        if item:  # erased or expired since the index was read
            yield StoredLead.from_item(
                {name: _deserializer.deserialize(value) for name, value in item.items()}
            )


def lead_text(lead: StoredLead, zone: ZoneInfo) -> str:
    """The lead as lines of `label: value`, every field the patient sent."""
    source = lead.source.model_dump(exclude_none=True) if lead.source else {}
    rows = [
        ("Reference", lead.reference or ""),
        ("Lead id", lead.id),
        ("Received", date_and_time(lead.created_at, zone)),
        ("Status", lead.status.value),
        ("Name", lead.name),
        ("Preferred contact", CHANNEL_LABELS[lead.preferred_contact]),
        ("Email", lead.email or "(not given)"),
        ("Phone", lead.phone or "(not given)"),
        ("Best time", TIME_LABELS[lead.preferred_time]),
        ("Concerns", ", ".join(CONCERN_LABELS.get(item, item) for item in lead.concerns) or "None chosen"),
        ("Message", lead.message or "(none)"),
        (
            "Consent",
            f"version {lead.consent.version}, {date_and_time(lead.consent.given_at, zone)}"
            if lead.consent
            else "(not recorded)",
        ),
        ("Source", ", ".join(f"{name}={value}" for name, value in source.items()) or "(none)"),
        ("Staff notified", date_and_time(lead.notified_at, zone) if lead.notified_at else "not yet"),
    ]
    return "\n".join(f"{label}: {value}" for label, value in rows)
