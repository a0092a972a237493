"""Lambda's event sources, locally: a DynamoDB stream mapping and a rate schedule.

The stream mapping does what Lambda's does for the template's properties: polls each
shard, applies the FilterCriteria, delivers batches of at most BatchSize, retries from
the first record a function reports as failed (ReportBatchItemFailures), halves a batch
whose invocation fails (BisectBatchOnFunctionError), and after MaximumRetryAttempts sends
a description of the batch, never its records, to the OnFailure queue.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypedDict

from clinic_infra.local.functions import InvocationError, LocalFunction
from clinic_infra.streams import lambda_record, passes_filters, stream_event

if TYPE_CHECKING:
    from mypy_boto3_dynamodbstreams import DynamoDBStreamsClient
    from mypy_boto3_dynamodbstreams.literals import ShardIteratorTypeType
    from mypy_boto3_sqs import SQSClient

Log = Callable[[str], None]


class ShardPosition(TypedDict, total=False):
    """Where a shard is read from next: an iterator to follow, or a checkpoint to ask one for."""

    ShardIterator: str
    ShardIteratorType: ShardIteratorTypeType
    SequenceNumber: str


class StreamEventSource:
    """One DynamoDB event source mapping: stream -> function."""

    def __init__(
        self,
        streams_client: DynamoDBStreamsClient,
        sqs_client: SQSClient,
        stream_arn: str,
        function: LocalFunction,
        properties: dict[str, Any],
        log: Log,
        *,
        poll_seconds: float = 0.5,
        retry_pause_seconds: float = 1.0,
    ) -> None:
        self._streams = streams_client
        self._sqs = sqs_client
        self._arn = stream_arn
        self._function = function
        self._batch_size = int(properties.get("BatchSize", 100))
        self._filters = properties.get("FilterCriteria", {}).get("Filters", [])
        self._max_retries = int(properties.get("MaximumRetryAttempts", -1))
        self._bisect = bool(properties.get("BisectBatchOnFunctionError", False))
        self._reports_items = "ReportBatchItemFailures" in properties.get("FunctionResponseTypes", [])
        self._on_failure = properties.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        self._starting_position = properties.get("StartingPosition", "LATEST")
        self._log = log
        self._poll_seconds = poll_seconds
        self._retry_pause = retry_pause_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"stream-{self._function.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._stop.is_set()

    def describe(self) -> dict[str, Any]:
        """This mapping as Lambda's ListEventSourceMappings describes one (for `clinic doctor`)."""
        return {
            "FunctionName": self._function.name,
            "EventSourceArn": self._arn,
            "State": "Enabled" if self.running else "Disabled",
            "StartingPosition": self._starting_position,
            "BatchSize": self._batch_size,
            "FilterCriteria": {"Filters": self._filters},
            "MaximumRetryAttempts": self._max_retries,
            "BisectBatchOnFunctionError": self._bisect,
            "DestinationConfig": {"OnFailure": {"Destination": self._on_failure}} if self._on_failure else {},
        }

    def _run(self) -> None:
        positions: dict[str, ShardPosition] = {}
        while not self._stop.is_set():
            backlog = False
            try:
                self._discover_shards(positions)
                for shard_id, position in list(positions.items()):
                    positions[shard_id], read = self._poll(shard_id, position)
                    backlog = backlog or read
            except Exception as error:  # keep polling, as Lambda's poller does
                self._log(f"stream poll failed: {type(error).__name__}: {error}")
            if not backlog:
                self._stop.wait(self._poll_seconds)

    def _discover_shards(self, positions: dict[str, ShardPosition]) -> None:
        description = self._streams.describe_stream(StreamArn=self._arn)["StreamDescription"]
        for shard in description["Shards"]:
            if shard["ShardId"] not in positions:
                positions[shard["ShardId"]] = {"ShardIteratorType": self._starting_position}

    def _poll(self, shard_id: str, position: ShardPosition) -> tuple[ShardPosition, bool]:
        """Deliver what the shard holds after `position`, in batches of the filtered records.

        Each poll asks for a new iterator at the last sequence number read (a checkpoint, as
        Lambda keeps) rather than following NextShardIterator: moto replaces a table's stream
        shard when it rolls back a cancelled transaction, and an old iterator would read the
        abandoned shard forever. Filtering comes before batching, as in Lambda, so BatchSize
        counts records that pass the FilterCriteria.
        """
        iterator = position.get("ShardIterator") or self._checkpoint_iterator(shard_id, position)
        response = self._streams.get_records(ShardIterator=iterator, Limit=1000)
        records = [lambda_record(record, self._arn) for record in response.get("Records", [])]
        wanted = [record for record in records if passes_filters(record, self._filters)]
        for start in range(0, len(wanted), self._batch_size):
            self._deliver(wanted[start : start + self._batch_size])
        if not records:
            if position.get("ShardIteratorType") == "LATEST" or "ShardIterator" in position:
                # Nothing read yet from LATEST: no sequence number to return to, so follow on.
                return {"ShardIterator": response["NextShardIterator"]}, False
            return position, False
        last = records[-1]["dynamodb"]["SequenceNumber"]
        return {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": last}, True

    def _checkpoint_iterator(self, shard_id: str, position: ShardPosition) -> str:
        sequence = {"SequenceNumber": position["SequenceNumber"]} if "SequenceNumber" in position else {}
        return self._streams.get_shard_iterator(
            StreamArn=self._arn, ShardId=shard_id, ShardIteratorType=position["ShardIteratorType"], **sequence
        )["ShardIterator"]

    def _deliver(self, records: list[dict[str, Any]], attempt: int = 0) -> None:
        """Invoke until every record succeeded, or the batch's retries are spent."""
        while records and not self._stop.is_set():
            try:
                result = self._function.invoke(stream_event(records))
                failed_from = self._first_failure(records, result)
            except InvocationError as error:
                self._log(f"{self._function.name} failed on a batch of {len(records)}: {error}")
                if self._bisect and len(records) > 1:
                    middle = len(records) // 2
                    self._deliver(records[:middle], attempt + 1)
                    self._deliver(records[middle:], attempt + 1)
                    return
                failed_from = 0
            if failed_from is None:
                return
            records = records[failed_from:]
            attempt += 1
            if 0 <= self._max_retries < attempt:
                self._dead_letter(records)
                return
            self._stop.wait(self._retry_pause * attempt)

    def _first_failure(self, records: list[dict[str, Any]], result: Any) -> int | None:
        if not self._reports_items or not isinstance(result, dict):
            return None
        failures = {item.get("itemIdentifier") for item in result.get("batchItemFailures") or []}
        for position, record in enumerate(records):
            if record["dynamodb"]["SequenceNumber"] in failures:
                return position
        return None

    def _dead_letter(self, records: list[dict[str, Any]]) -> None:
        self._log(f"{self._function.name}: {len(records)} records failed every retry; sent to the DLQ")
        if not self._on_failure:
            return
        queue_url = self._sqs.get_queue_url(QueueName=self._on_failure.rsplit(":", 1)[1])["QueueUrl"]
        # What Lambda sends: where the batch was, not what it held.
        description = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": self._function.name,
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": self._max_retries + 1,
            },
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled",
            },
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(),
            "DDBStreamBatchInfo": {
                "shardId": "local",
                "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
                "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
                "batchSize": len(records),
                "streamArn": self._arn,
            },
        }
        self._sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(description))


_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def rate_seconds(expression: str) -> int:
    """`rate(15 minutes)` -> 900. Cron expressions are not used by this template."""
    found = _RATE.match(expression.strip())
    if not found:
        raise ValueError(f"unsupported schedule {expression!r}")
    return int(found.group(1)) * _UNIT_SECONDS[found.group(2).rstrip("s")]


class ScheduledInvoker:
    """An EventBridge rate schedule: invokes the function with a scheduled event every period."""

    def __init__(self, function: LocalFunction, period_seconds: float, log: Log) -> None:
        self._function = function
        self.period_seconds = period_seconds
        self._log = log
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"schedule-{self._function.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._stop.is_set()

    def run_once(self) -> Any:
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": "us-east-1",
            "resources": [],
            "detail": {},
        }
        return self._function.invoke(event)

    def _run(self) -> None:
        while not self._stop.wait(self.period_seconds):
            try:
                self._log(f"{self._function.name}: {self.run_once()}")
            except InvocationError as error:
                self._log(f"{self._function.name} failed: {error}")
