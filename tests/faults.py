"""Fault injection through botocore's event hooks: the real clients, the real error handling.

`inject(hooks, "dynamodb.TransactWriteItems", fault)` installs a fault ahead of moto.
- `aws_error` answers like Stubber does (at `before-call`): the service is never reached.
- `cancelled` answers a TransactWriteItems with TransactionCanceledException and the
  per-item CancellationReasons DynamoDB gives (e.g. TransactionConflict under contention).
- `unreachable` fails every connection attempt (at `before-send`), so botocore's own retries
  run and give up.
- `lost_response` lets the first attempt reach moto and be applied, then loses its answer,
  so botocore retries a request the service has already carried out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError
from moto.core.models import botocore_stubber


@dataclass
class Fault:
    stage: str  # the botocore event the hook listens to
    hook: Callable[..., Any]
    calls: list[int] = field(default_factory=list)


def inject(register: Callable[..., None], operation: str, fault: Fault) -> Fault:
    register(f"{fault.stage}.{operation}", fault.hook, first=True)
    return fault


def aws_error(
    code: str, status: int = 400, *, times: int | None = None, extra: dict[str, Any] | None = None
) -> Fault:
    """The service answers with error `code` (`times` times, then normally)."""
    fault = Fault("before-call", lambda **_: None)

    def hook(**_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        fault.calls.append(1)
        if times is not None and len(fault.calls) > times:
            return None
        parsed = {
            "Error": {"Code": code, "Message": "injected fault"},
            "ResponseMetadata": {"HTTPStatusCode": status, "RequestId": "fault"},
            **(extra or {}),
        }
        return AWSResponse("https://fault.invalid", status, {}, None), parsed  # type: ignore[arg-type]

    fault.hook = hook
    return fault


def cancelled(*reasons: str, times: int = 1) -> Fault:
    """TransactWriteItems cancelled with one CancellationReasons code per item, `times` times."""
    extra = {"CancellationReasons": [{"Code": reason} for reason in reasons]}
    return aws_error("TransactionCanceledException", times=times, extra=extra)


def unreachable() -> Fault:
    """No connection can be made, on every attempt."""
    fault = Fault("before-send", lambda **_: None)

    def hook(request: Any, **_: Any) -> None:
        fault.calls.append(1)
        raise EndpointConnectionError(endpoint_url=request.url)

    fault.hook = hook
    return fault


def lost_response() -> Fault:
    """The first attempt is carried out by the service, but its answer never arrives."""
    fault = Fault("before-send", lambda **_: None)

    def hook(request: Any, event_name: str, **kwargs: Any) -> None:
        fault.calls.append(1)
        if len(fault.calls) == 1:
            botocore_stubber(event_name=event_name, request=request, **kwargs)  # applied in moto
            raise ReadTimeoutError(endpoint_url=request.url)

    fault.hook = hook
    return fault
