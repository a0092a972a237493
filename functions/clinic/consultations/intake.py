"""From an HTTP API event to the submitted fields: content type, size, encoding, parsing.

Powertools' resolver is not asked to read the body: it answers 500 for a base64 body that
is not UTF-8 and accepts form bodies into JSON models. Every malformed input here is a
4xx from docs/api.md's table instead.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from clinic.common.errors import (
    BadRequest,
    FieldProblem,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)
from clinic.consultations.models import HONEYPOT_FIELD

MAX_BODY_BYTES = 16 * 1024
JSON_TYPE = "application/json"
FORM_TYPE = "application/x-www-form-urlencoded"
LIST_FIELDS = {"concerns"}
CHECKBOX_ON = {"true", "on"}


@dataclass(frozen=True)
class Submission:
    """The fields as sent, and whether they came from a plain HTML form."""

    fields: dict[str, Any]
    from_form: bool

    @property
    def honeypot_filled(self) -> bool:
        """The honeypot field, hidden from people, was filled in (with text, as a form fills it;
        any other type is a malformed request and gets the usual 422)."""
        value = self.fields.get(HONEYPOT_FIELD)
        return isinstance(value, str) and bool(value.strip())


def media_type(content_type: str | None) -> tuple[str, str | None]:
    """`Application/JSON; charset=UTF-8` -> ("application/json", "utf-8")."""
    if not content_type:
        return "", None
    kind, *parameters = (part.strip() for part in content_type.split(";"))
    charset = None
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    return kind.lower(), charset


def _body_bytes(body: str | None, is_base64: bool) -> bytes:
    if not body:
        return b""
    if is_base64:
        if len(body) > (MAX_BODY_BYTES // 3 + 2) * 4:
            raise PayloadTooLarge()
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise BadRequest("The request body is not valid base64.") from None
    try:
        return body.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest() from None


def _parse_json(text: str) -> dict[str, Any]:
    try:
        fields = json.loads(text)
    except (ValueError, RecursionError):
        raise BadRequest("The request body is not valid JSON.") from None
    if not isinstance(fields, dict):
        problem = FieldProblem(field="body", message="Send the fields as one JSON object.")
        raise ValidationFailed(fields=[problem])
    return fields


def _parse_form(text: str) -> dict[str, Any]:
    try:
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=100)
    except ValueError:
        raise BadRequest("The form has too many fields.") from None
    fields: dict[str, Any] = {}
    source: dict[str, str] = {}  # `source.page` and friends: the form's way to send the object
    repeated: list[FieldProblem] = []
    for name, value in pairs:
        if name in LIST_FIELDS:
            fields.setdefault(name, []).append(value)
            continue
        if value == "":
            continue  # an empty form input means "not given"
        target, key = (source, name.removeprefix("source.")) if name.startswith("source.") else (fields, name)
        if key in target:
            repeated.append(FieldProblem(field=name, message="Send this field only once."))
        target[key] = value
    if source:
        if "source" in fields:
            repeated.append(
                FieldProblem(field="source", message="Send source details as source.page and so on.")
            )
        fields["source"] = source
    if repeated:
        raise ValidationFailed(fields=repeated)
    if fields.get("consent") in CHECKBOX_ON:
        fields["consent"] = True  # a checked box; anything else stays text and is refused
    return fields


def is_plain_form(content_type: str | None) -> bool:
    """Whether the request comes from a plain HTML form, and so is answered with pages: the one
    place this is decided, for the submission and for an error found before there is one."""
    return media_type(content_type)[0] == FORM_TYPE


def read_submission(content_type: str | None, body: str | None, is_base64: bool) -> Submission:
    """Decode and parse the body, or raise the 4xx that docs/api.md gives for the problem."""
    kind, charset = media_type(content_type)
    if kind not in (JSON_TYPE, FORM_TYPE):
        raise UnsupportedMediaType()
    if charset not in (None, "utf-8", "utf8"):
        raise UnsupportedMediaType("Send the request body in UTF-8.")
    data = _body_bytes(body, is_base64)
    if len(data) > MAX_BODY_BYTES:
        raise PayloadTooLarge()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("The request body is not valid UTF-8.") from None
    if is_plain_form(content_type):
        return Submission(_parse_form(text), from_form=True)
    return Submission(_parse_json(text), from_form=False)
