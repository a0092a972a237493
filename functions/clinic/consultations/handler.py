"""POST /consultations: the site's consultation form, as JSON or as a plain HTML form post;
GET /consultations/challenge: the proof-of-work challenge the form's widget solves first."""

from __future__ import annotations

import json
import warnings
from functools import cache
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from aws_lambda_powertools import Logger, Metrics, single_metric
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.params import Header
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field

from clinic.common.errors import ApiError, RateLimited, ServiceUnavailable
from clinic.common.http import JSON, documented_errors, error_response, install_error_handlers
from clinic.common.observability import keep_sdk_logs_quiet
from clinic.common.settings import EnvironmentSettings
from clinic.consultations.client_hash import ChallengeKey, ClientHashKey
from clinic.consultations.intake import is_plain_form, read_submission
from clinic.consultations.models import (
    FIELD_MESSAGES,
    IDEMPOTENCY_KEY_PATTERN,
    ConsultationAccepted,
    ProofOfWorkChallenge,
)
from clinic.consultations.pages import PageDetails, problems_page
from clinic.consultations.proof_of_work import ChallengeIssuer, ChallengePolicy
from clinic.consultations.service import Accepted, ConsultationService, SubmissionPolicy
from clinic.consultations.store import LeadStore

logger = Logger()
metrics = Metrics()
app = APIGatewayHttpResolver(enable_validation=True)


def _answer_failure(error: ApiError) -> Response[str]:
    """A plain form gets a page it can show, for every failure (the Idempotency-Key header is
    checked before the route runs); everyone else the envelope."""
    if is_plain_form(app.current_event.headers.get("content-type")):
        config = settings()
        page = PageDetails(config.clinic_name, config.clinic_contact_line, config.consultation_form_url)
        return problems_page(error, page)
    return error_response(error)


install_error_handlers(app, logger, FIELD_MESSAGES, render=_answer_failure)
keep_sdk_logs_quiet()
warnings.filterwarnings("ignore", "No application metrics to publish*")


class ConsultationSettings(EnvironmentSettings):
    leads_table: str = Field(min_length=3)
    guard_table: str = Field(min_length=3)
    client_hash_secret_arn: str = Field(min_length=1)
    rate_limit_per_window: int = Field(default=5, ge=1, le=10_000)
    rate_limit_window_seconds: int = Field(default=3600, ge=60, le=86_400)
    lead_retention_days: int = Field(default=365, ge=1, le=3650)
    consent_version: str = Field(min_length=1, max_length=64)
    thank_you_url: str = Field(pattern=r"^https?://\S+$")
    consultation_form_url: str = Field(pattern=r"^https?://\S+$")
    clinic_name: str = Field(min_length=1)
    clinic_contact_line: str = Field(min_length=1)
    default_phone_region: str = Field(default="US", pattern=r"^[A-Z]{2}$")
    idempotency_ttl_seconds: int = Field(default=86_400, ge=60, le=7 * 86_400)
    challenge_secret_arn: str = Field(min_length=1)
    challenge_cost: int = Field(default=1000, ge=1, le=1_000_000)
    challenge_max_number: int = Field(default=1000, ge=1, le=10_000_000)
    challenge_expiry_seconds: int = Field(default=600, ge=10, le=3600)
    quarantine_retention_days: int = Field(default=30, ge=1, le=365)
    unsolved_form_posts: Literal["quarantine", "notify"] = "quarantine"


@cache
def settings() -> ConsultationSettings:
    return ConsultationSettings.from_environment()


@cache
def challenges() -> ChallengeIssuer:
    config = settings()
    policy = ChallengePolicy(
        cost=config.challenge_cost,
        max_number=config.challenge_max_number,
        expiry_seconds=config.challenge_expiry_seconds,
    )
    return ChallengeIssuer(ChallengeKey(config.challenge_secret_arn), policy)


@cache
def service() -> ConsultationService:
    config = settings()
    policy = SubmissionPolicy(
        rate_limit=config.rate_limit_per_window,
        rate_window_seconds=config.rate_limit_window_seconds,
        retention_days=config.lead_retention_days,
        consent_version=config.consent_version,
        idempotency_seconds=config.idempotency_ttl_seconds,
        default_phone_region=config.default_phone_region,
        quarantine_retention_days=config.quarantine_retention_days,
        notify_unsolved_form_posts=config.unsolved_form_posts == "notify",
    )
    store = LeadStore(config.leads_table, config.guard_table)
    return ConsultationService(store, policy, ClientHashKey(config.client_hash_secret_arn), challenges())


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        pattern=IDEMPOTENCY_KEY_PATTERN,
        description="One per form view: a repeat with the same key and body gets the first answer.",
    ),
]


_REJECTION_METRICS = {RateLimited: "LeadRateLimited", ServiceUnavailable: "LeadStoreFailed"}


def _count_failure(error: ApiError) -> None:
    name = _REJECTION_METRICS.get(type(error), "LeadRejected" if error.status < 500 else None)
    if name:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


_RESPONSES: dict[int, OpenAPIResponse] = {
    201: {
        "description": "Received (or, for a repeat, had been)",
        "content": {JSON: {"model": ConsultationAccepted}},
    },
    303: {"description": "Received from a plain HTML form: Location is the thank-you page"},
    **documented_errors(400, 409, 413, 415, 422, 429, 503),
}


_CHALLENGE_RESPONSES: dict[int, OpenAPIResponse] = {
    200: {
        "description": "A new signed challenge, as the `altcha` library makes it; never cached",
        "content": {JSON: {"model": ProofOfWorkChallenge}},
    },
    **documented_errors(503),
}


@app.get("/consultations/challenge", responses=_CHALLENGE_RESPONSES)
def create_challenge() -> Response[str]:
    # Each form view gets its own challenge: a cached one would be a solution shared by all.
    body = json.dumps(challenges().issue())
    return Response(status_code=200, content_type=JSON, body=body, headers={"Cache-Control": "no-store"})


@app.post("/consultations", responses=_RESPONSES)
def create_consultation(idempotency_key: IdempotencyKey = None) -> Response[str]:
    event = app.current_event
    content_type = event.headers.get("content-type")
    try:
        submission = read_submission(content_type, event.get("body"), bool(event.get("isBase64Encoded")))
        accepted = service().receive(
            submission, idempotency_key=idempotency_key, source_ip=event.request_context.http.source_ip
        )
    except ApiError as error:
        _count_failure(error)
        raise  # answered by _answer_failure
    _count_success(accepted)
    if submission.from_form:
        headers = {"Location": thank_you_location(accepted), "Cache-Control": "no-store"}
        return Response(status_code=303, headers=headers, body="")
    body = ConsultationAccepted(id=accepted.lead_id, reference=accepted.reference).model_dump_json()
    return Response(status_code=201, content_type=JSON, body=body, headers={"Cache-Control": "no-store"})


def thank_you_location(accepted: Accepted) -> str:
    """The thank-you page, with the reference in the fragment: the page shows it, and a fragment
    is never sent to the site's server, its logs or another site's Referer."""
    page = settings().thank_you_url.split("#", 1)[0]
    return f"{page}#{urlencode({'reference': accepted.reference})}" if accepted.reference else page


def _count_success(accepted: Accepted) -> None:
    if accepted.replayed:
        logger.info("Repeated request answered with its first answer", extra={"lead_id": accepted.lead_id})
        return
    logger.append_keys(lead_id=accepted.lead_id)
    if accepted.quarantine_reason:
        logger.info("Lead quarantined", extra={"quarantine_reason": accepted.quarantine_reason.value})
    else:
        metrics.add_metric(name="LeadCreated", unit=MetricUnit.Count, value=1)
        logger.info("Lead stored")
    _count_kind(accepted)


def _count_kind(accepted: Accepted) -> None:
    """Repeats, and quarantined leads in all (what the alarm watches) and by the spam test failed."""
    if accepted.repeat_of:
        metrics.add_metric(name="LeadRepeat", unit=MetricUnit.Count, value=1)
    if accepted.quarantine_reason:
        metrics.add_metric(name="LeadQuarantined", unit=MetricUnit.Count, value=1)
        # Its own metric: the function's other metrics must not take the reason as a dimension.
        with single_metric(
            name="LeadQuarantined", unit=MetricUnit.Count, value=1, namespace=metrics.namespace
        ) as metric:
            metric.add_dimension(name="service", value=metrics.service or "consultations")
            metric.add_dimension(name="reason", value=accepted.quarantine_reason.value)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    service()  # settings are validated on the first event: a misconfigured function fails loudly
    return app.resolve(event, context)
