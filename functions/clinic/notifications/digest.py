"""The daily quarantine digest: how many consultation requests wait in quarantine for staff to
review, as a number only (never a name, a reference or anything a patient sent), and only on a
day when some do."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import boto3
from boto3.dynamodb.types import TypeSerializer

from clinic.common.aws import WORKER_CLIENT_CONFIG, LazyClient
from clinic.leads.record import EXPIRES_AT, INBOX_INDEX, STATUS, LeadStatus
from clinic.notifications.messages import quarantine_digest_email

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sesv2 import SESV2Client

_serializer = TypeSerializer()


@dataclass(frozen=True)
class DigestAddresses:
    sender: str
    staff: tuple[str, ...]
    console_url: str  # the console's page; the digest links to its quarantine view
    configuration_set: str  # TLS required on every send


class QuarantineDigest:
    def __init__(
        self,
        leads_table: str,
        addresses: DigestAddresses,
        dynamodb_client: DynamoDBClient | None = None,
        ses_client: SESV2Client | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._table = leads_table
        self._addresses = addresses
        self._dynamodb = LazyClient(
            dynamodb_client, lambda: boto3.client("dynamodb", config=WORKER_CLIENT_CONFIG)
        )
        self._ses = LazyClient(ses_client, lambda: boto3.client("sesv2", config=WORKER_CLIENT_CONFIG))
        self._clock = clock

    def waiting(self) -> int:
        """Quarantined leads not past their retention, counted on the Inbox index (keys only:
        the count reads no lead's fields)."""
        paginator = self._dynamodb().get_paginator("query")
        pages = paginator.paginate(
            TableName=self._table,
            IndexName=INBOX_INDEX,
            KeyConditionExpression="#status = :quarantined",
            FilterExpression=f"attribute_not_exists({EXPIRES_AT}) OR {EXPIRES_AT} > :now",
            ExpressionAttributeNames={"#status": STATUS},
            ExpressionAttributeValues={
                ":quarantined": _serializer.serialize(LeadStatus.QUARANTINED.value),
                ":now": _serializer.serialize(int(self._clock())),
            },
            Select="COUNT",
        )
        return sum(page["Count"] for page in pages)

    def send(self) -> int:
        """Email staff the number waiting, if any; the number."""
        count = self.waiting()
        if count:
            addresses = self._addresses
            email = quarantine_digest_email(count, addresses.sender, addresses.staff, addresses.console_url)
            self._ses().send_email(
                FromEmailAddress=addresses.sender,
                Content={"Raw": {"Data": email.as_bytes()}},
                ConfigurationSetName=addresses.configuration_set,
            )
        return count
