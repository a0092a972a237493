"""The staff inbox API (/staff/...): every route behind the HTTP API's JWT authorizer."""

from __future__ import annotations

import base64
import binascii
import json
import re
import warnings
from functools import cache
from typing import Annotated, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field

from clinic.common.errors import BadRequest, NotFound, PayloadTooLarge
from clinic.common.http import (
    JSON,
    documented_errors,
    get_with_query,
    install_error_handlers,
    query_parameters,
)
from clinic.common.observability import keep_sdk_logs_quiet
from clinic.common.settings import EnvironmentSettings
from clinic.consultations.client_hash import ClientHashKey
from clinic.staff.access import caller_from_event
from clinic.staff.audit import AuditLog
from clinic.staff.models import (
    ULID_PATTERN,
    AuditTrail,
    ErasureResult,
    ExportQuery,
    LeadDetail,
    LeadPage,
    LeadQuery,
)
from clinic.staff.service import Request, StaffService
from clinic.staff.store import StaffLeadStore

logger = Logger()
metrics = Metrics()
app = APIGatewayHttpResolver()
install_error_handlers(app, logger)
keep_sdk_logs_quiet()
warnings.filterwarnings("ignore", "No application metrics to publish*")

MAX_BODY_BYTES = 16 * 1024
CSV = "text/csv; charset=utf-8"
_LEAD_ID = re.compile(ULID_PATTERN)


class StaffSettings(EnvironmentSettings):
    leads_table: str = Field(min_length=3)
    guard_table: str = Field(min_length=3)
    audit_table: str = Field(min_length=3)
    audit_retention_days: int = Field(default=2192, ge=365, le=3653)
    lead_retention_days: int = Field(default=365, ge=1, le=3650)
    client_hash_secret_arn: str = Field(min_length=1)
    default_phone_region: str = Field(default="US", pattern=r"^[A-Z]{2}$")
    console_client_id: str = Field(min_length=1)


@cache
def settings() -> StaffSettings:
    return StaffSettings.from_environment()


@cache
def service() -> StaffService:
    config = settings()
    return StaffService(
        StaffLeadStore(config.leads_table, config.guard_table),
        AuditLog(config.audit_table, config.audit_retention_days),
        ClientHashKey(config.client_hash_secret_arn),
        default_phone_region=config.default_phone_region,
        lead_retention_days=config.lead_retention_days,
    )


def _request() -> Request:
    event = app.current_event
    caller = caller_from_event(event.raw_event, settings().console_client_id)
    return Request(caller=caller, request_id=event.request_context.request_id)


def _json_body() -> Any:
    """The request's JSON body: 400 if it is not JSON in UTF-8, 413 if it is over 16 KiB."""
    event = app.current_event
    raw = event.get("body") or ""
    try:
        data = base64.b64decode(raw, validate=True) if event.get("isBase64Encoded") else raw.encode()
        if len(data) > MAX_BODY_BYTES:
            raise PayloadTooLarge()
        return json.loads(data.decode("utf-8")) if data else None
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadRequest() from None


def _lead_id(value: str) -> str:
    if not _LEAD_ID.fullmatch(value):
        raise NotFound()
    return value


def _json(model: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=status,
        content_type=JSON,
        body=model.model_dump_json(),
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


def _ok(model: Any, *errors: int, description: str = "OK") -> dict[int, OpenAPIResponse]:
    return {
        200: {"description": description, "content": {JSON: {"model": model}}},
        **documented_errors(401, 403, *errors, 503),
    }


LeadId = Annotated[str, Path(description="The lead's id (a ULID).")]


@get_with_query(app, "/staff/leads", LeadQuery, responses=_ok(LeadPage, 422))
def list_leads() -> Response[str]:
    query = query_parameters(app, LeadQuery)
    return _json(service().page(_request(), query))


@app.get("/staff/leads/<id>", responses=_ok(LeadDetail, 404, description="The lead; ETag is its version"))
def get_lead(id: LeadId) -> Response[str]:
    lead = service().view(_request(), _lead_id(id))
    return _json(lead, headers={"ETag": f'"{lead.version}"'})


@app.patch(
    "/staff/leads/<id>",
    responses=_ok(
        LeadDetail, 400, 404, 412, 413, 422, 428, description="The lead as changed; ETag is its version"
    ),
)
def update_lead(id: LeadId) -> Response[str]:
    request, lead_id = _request(), _lead_id(id)
    lead = service().change(request, lead_id, app.current_event.headers.get("if-match"), _json_body())
    return _json(lead, headers={"ETag": f'"{lead.version}"'})


@app.delete(
    "/staff/leads/<id>",
    responses={204: {"description": "Erased (or erased already)"}, **documented_errors(401, 403, 404, 503)},
)
def erase_lead(id: LeadId) -> Response[str]:
    service().erase(_request(), _lead_id(id))
    return Response(status_code=204, body="", headers={"Cache-Control": "no-store"})


@app.post(
    "/staff/leads/<id>/release",
    responses=_ok(
        LeadDetail, 404, 412, 422, 428, description="Released: new, and staff will be notified once"
    ),
)
def release_lead(id: LeadId) -> Response[str]:
    request, lead_id = _request(), _lead_id(id)
    lead = service().release(request, lead_id, app.current_event.headers.get("if-match"))
    metrics.add_metric(name="LeadReleased", unit=MetricUnit.Count, value=1)
    return _json(lead, headers={"ETag": f'"{lead.version}"'})


@app.get("/staff/leads/<id>/audit", responses=_ok(AuditTrail, 404))
def lead_audit_trail(id: LeadId) -> Response[str]:
    events = service().trail(_request(), _lead_id(id))
    return _json(AuditTrail(items=events))


_CSV_RESPONSE: dict[int, OpenAPIResponse] = {
    200: {
        "description": "The leads as CSV (UTF-8 with a byte order mark; formula-safe cells)",
        "content": {CSV: {"schema": {"type": "string"}}},
    },
    **documented_errors(401, 403, 422, 503),
}


@get_with_query(app, "/staff/exports/leads.csv", ExportQuery, responses=_CSV_RESPONSE)
def export_leads() -> Response[str]:
    query = query_parameters(app, ExportQuery)
    text = service().export(_request(), query)
    headers = {
        "Cache-Control": "no-store",
        "Content-Disposition": 'attachment; filename="leads.csv"',
    }
    return Response(status_code=200, content_type=CSV, body=text, headers=headers)


@app.post("/staff/erasures", responses=_ok(ErasureResult, 400, 413, 422, description="Erased"))
def erase_person() -> Response[str]:
    request = _request()
    erased = service().erase_person(request, _json_body())
    return _json(ErasureResult(erased=erased))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    service()  # settings are validated on the first event: a misconfigured function fails loudly
    return app.resolve(event, context)
