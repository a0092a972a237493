"""HTTP glue every API function shares: the error envelope on every error path."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import TypeVar

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import BaseModel, ValidationError

from clinic.common.errors import ApiError, ErrorEnvelope, NotFound, ValidationFailed
from clinic.common.validation import field_problems

JSON = "application/json"
QueryT = TypeVar("QueryT", bound=BaseModel)
RouteT = TypeVar("RouteT", bound=Callable[..., object])

# Query-string models by route, ("GET", path): a route reads its query string itself
# (`query_parameters`), so the resolver's OpenAPI schema cannot see it; the document adds these.
QUERY_MODELS: dict[tuple[str, str], type[BaseModel]] = {}

# What each error status means, for the OpenAPI document (docs/api.md's table).
_ERROR_MEANINGS = {
    400: "bad_request: the body is not valid JSON, base64 or UTF-8",
    401: "unauthorized: the token's use or audience is not the console's access token",
    403: "forbidden: the signed-in user's groups do not allow this action",
    404: "not_found: unknown or malformed slug or id",
    409: "idempotency_conflict: the same Idempotency-Key with a different body",
    412: "precondition_failed: If-Match is not the lead's current ETag",
    413: "payload_too_large: the body is over 16 KiB",
    415: "unsupported_media_type: not JSON or form-encoded",
    422: "validation_error: each problem is listed in `fields`",
    428: "precondition_required: a change needs If-Match",
    429: "rate_limited: too many requests from this client; see Retry-After",
    500: "internal_error: a bug; no detail is given",
    503: "service_unavailable: a dependency failed after retries; see Retry-After; nothing was stored",
}


def documented_errors(*statuses: int) -> dict[int, OpenAPIResponse]:
    """OpenAPI responses for these error statuses (and 500, which any route can answer)."""
    return {
        status: {"description": _ERROR_MEANINGS[status], "content": {JSON: {"model": ErrorEnvelope}}}
        for status in sorted({*statuses, 500})
    }


def error_response(error: ApiError) -> Response[str]:
    """The envelope for `error`, never cached, with `Retry-After` when the error has one."""
    headers = {"Cache-Control": "no-store"}
    if error.retry_after is not None:
        headers["Retry-After"] = str(error.retry_after)
    return Response(
        status_code=error.status,
        content_type=JSON,
        body=error.envelope().model_dump_json(exclude_none=True),
        headers=headers,
    )


def get_with_query(
    app: APIGatewayHttpResolver,
    rule: str,
    model: type[BaseModel],
    *,
    responses: dict[int, OpenAPIResponse] | None = None,
    head: bool = False,
) -> Callable[[RouteT], RouteT]:
    """`app.get(rule)` (and HEAD, with `head`) for a route whose query string is `model`: registered
    for the OpenAPI document here, where the route is declared; the route reads it with
    `query_parameters`."""
    methods = ["GET", "HEAD"] if head else ["GET"]
    for method in methods:
        QUERY_MODELS[(method, rule)] = model
    return app.route(rule, method=methods, responses=responses)


def query_parameters(app: APIGatewayHttpResolver, model: type[QueryT]) -> QueryT:
    """The request's query string, validated by `model`; a problem is a 422 naming the parameter."""
    try:
        return model.model_validate(app.current_event.query_string_parameters or {})
    except ValidationError as error:
        raise ValidationFailed(fields=field_problems(error.errors())) from None


def log_bug(logger: Logger, error: BaseException) -> None:
    """Log an unexpected error by type and stack only: its message may hold what a patient typed."""
    frames = [
        f"{frame.filename}:{frame.lineno} in {frame.name}"
        for frame in traceback.extract_tb(error.__traceback__)
    ]
    logger.error("Unhandled error", extra={"error_type": type(error).__name__, "stack": frames})


def install_error_handlers(
    app: APIGatewayHttpResolver,
    logger: Logger,
    messages: dict[str, str] | None = None,
    render: Callable[[ApiError], Response[str]] = error_response,
) -> None:
    """Map every failure a route can meet onto the envelope of docs/api.md; nothing escapes as a bare 500.

    `messages` words the problem for a parameter (query or header) by its name; `render` answers
    a 4xx or 503 (the envelope, unless a route's callers need another form, such as a page).
    """

    def api_error(error: ApiError) -> Response[str]:
        return render(error)

    def invalid_request(error: RequestValidationError) -> Response[str]:
        # A header or query parameter the resolver checked before the route ran.
        return render(ValidationFailed(fields=field_problems(error.errors(), messages)))

    def unknown_route(_: NotFoundError) -> Response[str]:
        return error_response(NotFound())

    def bug(error: Exception) -> Response[str]:
        log_bug(logger, error)
        return render(ApiError())

    app.exception_handler(ApiError)(api_error)
    app.exception_handler(RequestValidationError)(invalid_request)
    app.not_found(unknown_route)
    app.exception_handler(Exception)(bug)
