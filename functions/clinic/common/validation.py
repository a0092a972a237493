"""Turn pydantic's validation errors into field problems a person can act on.

Messages never quote the submitted value: only the field's name and its rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from clinic.common.errors import FieldProblem

# Messages by pydantic error type; `{...}` is filled from the error's context (limits, never input).
_MESSAGES = {
    "missing": "This field is required.",
    "extra_forbidden": "This field is not accepted.",
    "string_too_short": "Enter at least {min_length} characters.",
    "string_too_long": "Use at most {max_length} characters.",
    "too_short": "Choose at least {min_length}.",
    "too_long": "Choose at most {max_length}.",
    "string_type": "Enter text.",
    "int_type": "Enter a whole number.",
    "int_parsing": "Enter a whole number.",
    "int_from_float": "Enter a whole number.",
    "bool_type": "Must be true or false.",
    "bool_parsing": "Must be true or false.",
    "list_type": "Send a list.",
    "dict_type": "Send an object with named fields.",
    "model_type": "Send an object with named fields.",
    "model_attributes_type": "Send an object with named fields.",
    "greater_than_equal": "Must be at least {ge}.",
    "less_than_equal": "Must be at most {le}.",
    "string_pattern_mismatch": "This value is not in the expected format.",
    "literal_error": "Choose one of: {expected}.",
    "enum": "Choose one of: {expected}.",
    "url_parsing": "Enter a full web address starting with https://.",
    "url_scheme": "Enter a full web address starting with https://.",
}
_FALLBACK = "This value is not valid."


_SAFE_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def _field_name(location: Iterable[Any]) -> str:
    # ("query", "limit") -> "limit"; ("source", "page") -> "source.page"; ("concerns", 2) -> "concerns"
    parts = [str(part) for part in location if isinstance(part, str)]
    if parts and parts[0] in {"query", "header", "path", "body", "cookie"} and len(parts) > 1:
        parts = parts[1:]
    name = ".".join(parts)
    # An unknown field's name came from the client: name it only if it is plainly a field name.
    return name if _SAFE_NAME.match(name) else "body"


def _message(error: Mapping[str, Any]) -> str:
    context = error.get("ctx") or {}
    if error["type"] == "value_error" and "error" in context:
        # Our own validators raise ValueError with a message written for people.
        return str(context["error"])
    template = _MESSAGES.get(error["type"], _FALLBACK)
    try:
        return template.format(**context)
    except (KeyError, IndexError):
        return _FALLBACK


def field_problems(
    errors: Iterable[Mapping[str, Any]], overrides: Mapping[str, str] | None = None
) -> list[FieldProblem]:
    """One problem per field, in the order found; `overrides` replaces the message of a field."""
    problems: dict[str, FieldProblem] = {}
    for error in errors:
        field = _field_name(error.get("loc", ()))
        if field in problems:
            continue
        message = (overrides or {}).get(field) if error["type"] != "extra_forbidden" else None
        problems[field] = FieldProblem(field=field, message=message or _message(error))
    return list(problems.values())
