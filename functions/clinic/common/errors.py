"""The API's error envelope and the domain errors that map onto it."""

from __future__ import annotations

from pydantic import BaseModel


class FieldProblem(BaseModel):
    """One field's problem, phrased for the person who filled in the form."""

    field: str
    message: str


class ErrorBody(BaseModel):
    code: str
    message: str
    fields: list[FieldProblem] | None = None


class ErrorEnvelope(BaseModel):
    """Every error answer: `{"error": {"code", "message", "fields"?}}`."""

    error: ErrorBody


class ApiError(Exception):
    """An answer other than success; the handler turns it into the envelope."""

    status = 500
    code = "internal_error"
    message = "Something went wrong on our side. Please try again later."

    def __init__(
        self,
        message: str | None = None,
        *,
        fields: list[FieldProblem] | None = None,
        retry_after: int | None = None,
    ) -> None:
        self.message = message or self.message
        self.fields = fields
        self.retry_after = retry_after
        super().__init__(self.message)

    def envelope(self) -> ErrorEnvelope:
        return ErrorEnvelope(error=ErrorBody(code=self.code, message=self.message, fields=self.fields))


class BadRequest(ApiError):
    status = 400
    code = "bad_request"
    message = "The request body could not be read as JSON in UTF-8."


class Unauthorized(ApiError):
    status = 401
    code = "unauthorized"
    message = "Sign in again: the token is not one this API accepts."


class Forbidden(ApiError):
    status = 403
    code = "forbidden"
    message = "Your account may not do this."


class NotFound(ApiError):
    status = 404
    code = "not_found"
    message = "Nothing was found at this address."


class IdempotencyConflict(ApiError):
    status = 409
    code = "idempotency_conflict"
    message = "This Idempotency-Key was already used with a different request."


class PreconditionFailed(ApiError):
    status = 412
    code = "precondition_failed"
    message = "The lead changed since you read it. Reload it and try again."


class PayloadTooLarge(ApiError):
    status = 413
    code = "payload_too_large"
    message = "The request body is larger than 16 KiB."


class UnsupportedMediaType(ApiError):
    status = 415
    code = "unsupported_media_type"
    message = "Send the request as application/json or application/x-www-form-urlencoded."


class ValidationFailed(ApiError):
    status = 422
    code = "validation_error"
    message = "One or more fields are invalid."


class PreconditionRequired(ApiError):
    status = 428
    code = "precondition_required"
    message = "Send If-Match with the lead's ETag, so that a change never overwrites another."


class RateLimited(ApiError):
    status = 429
    code = "rate_limited"
    message = "Too many requests from this connection. Please try again later."


class ServiceUnavailable(ApiError):
    status = 503
    code = "service_unavailable"
    message = "The service is temporarily unavailable. Please try again shortly."
