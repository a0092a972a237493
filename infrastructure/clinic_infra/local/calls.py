"""The AWS calls a function makes, as IAM sees them: for the tests' least-privilege check.

A botocore hook reads each call's parameters before they are sent and keeps only what AWS
authorizes the call on: resource names and the values of condition keys. Never an item, a
message body, or an email address that is not in the function's own configuration (the
patient's is replaced by PATIENT_ADDRESS). The local stack records only when the tests ask,
by naming a file in CALL_LOG_ENV; one JSON line per call.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from typing import Any

CALL_LOG_ENV = "CLINIC_AWS_CALL_LOG"
# Stands for any address the function did not get from its configuration (a patient's).
PATIENT_ADDRESS = "patient@recipient.invalid"

Call = dict[str, Any]

_DYNAMODB_KEYS = ("TableName", "IndexName", "ReturnValues", "Select", "ReturnConsumedCapacity")
_KEPT: dict[str, tuple[str, ...]] = {
    "dynamodb": _DYNAMODB_KEYS,
    "dynamodbstreams": ("StreamArn",),
    "s3": ("Bucket", "Key"),
    "secretsmanager": ("SecretId", "VersionId", "VersionStage"),
    "sns": ("TopicArn", "TargetArn"),
    "sqs": ("QueueUrl",),
    "sesv2": (
        "FromEmailAddress",
        "FromEmailAddressIdentityArn",
        "FeedbackForwardingEmailAddress",
        "ConfigurationSetName",
    ),
}


def configured_addresses(environment: Mapping[str, str]) -> frozenset[str]:
    """The addresses a function has from its configuration (sender, staff): kept as they are."""
    addresses = {environment.get("SENDER_ADDRESS", "")}
    addresses.update(environment.get("STAFF_ADDRESSES", "").split(","))
    return frozenset(address.strip().lower() for address in addresses if address.strip())


def _kept_address(address: str, configured: frozenset[str]) -> str:
    return address if address.lower() in configured else PATIENT_ADDRESS


def _email(params: Mapping[str, Any], configured: frozenset[str]) -> dict[str, Any]:
    """Recipients and From of a SendEmail, from Destination or a raw message's headers."""
    # Imported here: the worker imports this module, and a cold start should not pay for it.
    from email.parser import BytesHeaderParser
    from email.policy import default as email_policy
    from email.utils import getaddresses

    found: dict[str, Any] = {}
    destination = params.get("Destination", {})
    recipients = [
        address
        for field in ("ToAddresses", "CcAddresses", "BccAddresses")
        for address in destination.get(field, [])
    ]
    raw = params.get("Content", {}).get("Raw", {}).get("Data")
    if raw is not None:
        headers = BytesHeaderParser(policy=email_policy).parsebytes(
            raw if isinstance(raw, bytes) else str(raw).encode()
        )
        recipients += [address for _, address in getaddresses(headers.get_all("To", []))]
        recipients += [address for _, address in getaddresses(headers.get_all("Cc", []))]
        recipients += [address for _, address in getaddresses(headers.get_all("Bcc", []))]
        sender = headers.get("From")
        if sender is not None and sender.addresses and sender.addresses[0].display_name:
            found["FromDisplayName"] = sender.addresses[0].display_name
    found["Recipients"] = sorted({_kept_address(address, configured) for address in recipients})
    return found


def authorization_params(
    service: str, operation: str, params: Mapping[str, Any], configured: frozenset[str]
) -> dict[str, Any]:
    """What of a call's parameters IAM authorizes it on; nothing else."""
    kept = {name: params[name] for name in _KEPT.get(service, ()) if name in params}
    if service == "dynamodb" and operation in ("TransactWriteItems", "TransactGetItems"):
        kept["Items"] = [
            {"Kind": kind, **{name: item[name] for name in _DYNAMODB_KEYS if name in item}}
            for entry in params.get("TransactItems", [])
            for kind, item in entry.items()
        ]
    if service == "dynamodb" and operation in ("BatchWriteItem", "BatchGetItem"):
        kept["Tables"] = sorted(params.get("RequestItems", {}))
    if service == "sesv2" and operation == "SendEmail":
        kept.update(_email(params, configured))
    if "FromEmailAddress" in kept:
        kept["FromEmailAddress"] = _kept_address(kept["FromEmailAddress"], configured)
    return kept


Sink = Callable[[Call], None]


def recording_hook(function: Callable[[], str | None], sink: Sink, environment: Mapping[str, str]) -> Any:
    """A `before-parameter-build` handler: each call of the function `function()` names (None:
    not a function's call) goes to `sink`. It runs once per API call, before any retry."""

    def record(params: Mapping[str, Any], model: Any, **_: Any) -> None:
        name = function()
        if name is None:
            return
        service = model.service_model.service_name
        configured = configured_addresses(environment)
        sink(
            {
                "function": name,
                "service": service,
                "operation": model.name,
                "params": authorization_params(service, model.name, params, configured),
            }
        )

    return record


def file_sink(path: str) -> Sink:
    """Append each call as one JSON line; one write each, so several workers can share a file."""

    def write(call: Call) -> None:
        line = (json.dumps(call, sort_keys=True) + "\n").encode()
        descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(descriptor, line)
        finally:
            os.close(descriptor)

    return write


def read_calls(path: str, offset: int = 0) -> tuple[list[Call], int]:
    """The calls recorded in `path` from byte `offset` on (whole lines only), and the new offset."""
    if not os.path.exists(path):
        return [], offset
    with open(path, "rb") as lines:
        lines.seek(offset)
        data = lines.read()
    complete = data[: data.rfind(b"\n") + 1]
    return [json.loads(line) for line in complete.splitlines() if line], offset + len(complete)


def record_worker_calls(function_name: str, environment: Mapping[str, str]) -> None:
    """In a local worker, before the handler is loaded: if CALL_LOG_ENV names a file, record
    there every call of the clients the handler makes (from boto3's default session)."""
    path = environment.get(CALL_LOG_ENV)
    if not path:
        return
    import boto3

    session = boto3.DEFAULT_SESSION = boto3.session.Session()
    session.events.register(
        "before-parameter-build", recording_hook(lambda: function_name, file_sink(path), environment)
    )
