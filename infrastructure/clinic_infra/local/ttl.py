"""DynamoDB's Time to Live, which moto records but never carries out.

In AWS, an item whose TTL attribute (epoch seconds) is in the past is deleted by the service,
usually within days, and reads may still return it until then. The local stack deletes
expired items every few seconds, so that retention can be seen working: a lead past its
`expires_at` disappears from the table, as it will in the deployed stack.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

# How often the local stack looks for expired items.
DEFAULT_PERIOD_SECONDS = 5.0


def ttl_attributes(dynamodb: Any) -> dict[str, str]:
    """Each table with TTL enabled, and its TTL attribute, as DynamoDB describes them."""
    found = {}
    for table in dynamodb.list_tables()["TableNames"]:
        description = dynamodb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
        if description.get("TimeToLiveStatus") == "ENABLED":
            found[table] = description["AttributeName"]
    return found


def delete_expired(dynamodb: Any, table: str, attribute: str, now: float) -> int:
    """Delete the items of `table` whose TTL attribute is before `now`; the number deleted.

    Each delete is conditional, as TTL's is: an item whose expiry moved meanwhile stays.
    Items whose attribute is missing or not a number are never deleted, as in DynamoDB."""
    deleted = 0
    key_names = [
        key["AttributeName"] for key in dynamodb.describe_table(TableName=table)["Table"]["KeySchema"]
    ]
    scan: dict[str, Any] = {
        "TableName": table,
        "FilterExpression": "#ttl < :now",
        "ExpressionAttributeNames": {"#ttl": attribute},
        "ExpressionAttributeValues": {":now": {"N": str(int(now))}},
    }
    while True:
        page = dynamodb.scan(**scan)
        for item in page["Items"]:
            try:
                dynamodb.delete_item(
                    TableName=table,
                    Key={name: item[name] for name in key_names},
                    ConditionExpression="#ttl < :now",
                    ExpressionAttributeNames={"#ttl": attribute},
                    ExpressionAttributeValues={":now": {"N": str(int(now))}},
                )
                deleted += 1
            except ClientError as error:
                if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
        if "LastEvaluatedKey" not in page:
            return deleted
        scan["ExclusiveStartKey"] = page["LastEvaluatedKey"]


class TimeToLive:
    """A thread that deletes expired items from every TTL-enabled table, every `period` seconds."""

    def __init__(
        self,
        dynamodb: Any,
        log: Callable[[str], None],
        period: float = DEFAULT_PERIOD_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._dynamodb = dynamodb
        self._log = log
        self._period = period
        self._clock = clock
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="local-ttl", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)

    def sweep(self) -> int:
        """One pass over every TTL-enabled table; the number of items deleted."""
        total = 0
        for table, attribute in ttl_attributes(self._dynamodb).items():
            deleted = delete_expired(self._dynamodb, table, attribute, self._clock())
            if deleted:
                self._log(f"{table}: {deleted} expired item(s) deleted ({attribute} passed)")
            total += deleted
        return total

    def _run(self) -> None:
        while not self._stopped.wait(self._period):
            try:
                self.sweep()
            except (ClientError, OSError) as error:  # the embedded AWS stopping under us
                self._log(f"TTL sweep failed: {type(error).__name__}")
