"""HTTP glue every API function shares: the error envelope on every error path."""

from __future__ import annotations

import traceback

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from clinic.common.errors import ApiError, NotFound, ValidationFailed
from clinic.common.validation import field_problems

JSON = "application/json"


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


def log_bug(logger: Logger, error: BaseException) -> None:
    """Log an unexpected error by type and stack only: its message may hold what a patient typed."""
    frames = [
        f"{frame.filename}:{frame.lineno} in {frame.name}"
        for frame in traceback.extract_tb(error.__traceback__)
    ]
    logger.error("Unhandled error", extra={"error_type": type(error).__name__, "stack": frames})


def install_error_handlers(app: APIGatewayHttpResolver, logger: Logger) -> None:
    """Map every failure a route can meet onto DESIGN.md's envelope; nothing escapes as a bare 500."""

    @app.exception_handler(ApiError)
    def _api_error(error: ApiError) -> Response[str]:
        return error_response(error)

    @app.exception_handler(RequestValidationError)
    def _invalid_request(error: RequestValidationError) -> Response[str]:
        return error_response(ValidationFailed(fields=field_problems(error.errors())))

    @app.not_found
    def _unknown_route(_: NotFoundError) -> Response[str]:
        return error_response(NotFound())

    @app.exception_handler(Exception)
    def _bug(error: Exception) -> Response[str]:
        log_bug(logger, error)
        return error_response(ApiError())
