"""The API's OpenAPI 3.1 document, generated from the code.

Each function's Powertools resolver describes its routes, parameters and responses from
the handlers' own annotations and models; this module joins them into one document and
adds what the resolvers cannot see: the consultation body (which the handler reads itself,
to answer every malformed body with a 4xx) and the headers the answers carry.
"""

from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from clinic.consultations.models import ConsultationRequest

DOCUMENT_PATH = Path(__file__).resolve().parents[2] / "openapi.json"
TITLE = "Clinic backend API"
DESCRIPTION = (
    "Articles for the clinic's site, consultation requests from its form, and the signed-in staff "
    "inbox (/staff/...). Every error uses "
    'one envelope: `{"error": {"code", "message", "fields"?}}`. A path that no route matches is '
    'answered by API Gateway itself with 404 `{"message": "Not Found"}`.'
)
NO_BODY = {"204", "301", "303", "304"}
RESPONSE_HEADERS = {
    "200": {"ETag": "Strong validator of this answer", "Cache-Control": "How long caches may keep it"},
    "304": {"ETag": "The validator the client already holds", "Cache-Control": "How long caches may keep it"},
    "301": {"Location": "Where the article lives now"},
    "303": {"Location": "The thank-you page"},
    "429": {"Retry-After": "Seconds until the client may try again"},
    "503": {"Retry-After": "Seconds until the client may try again"},
}


def _resolvers() -> list[Any]:
    from clinic.articles.handler import app as articles
    from clinic.console.handler import app as console
    from clinic.consultations.handler import app as consultations
    from clinic.staff.handler import app as staff

    return [articles, consultations, staff, console]


STAFF_SECURITY = {
    "type": "http",
    "scheme": "bearer",
    "bearerFormat": "JWT",
    "description": (
        "The staff console's Cognito access token (the pool's groups decide each action). API "
        'Gateway answers a missing or invalid token with 401 {"message": "Unauthorized"} before '
        "any function runs."
    ),
}
# API Gateway's own refusals on a protected route, before any function runs: its body, not the envelope.
GATEWAY_REFUSAL = {
    "type": "object",
    "required": ["message"],
    "properties": {"message": {"type": "string"}},
    "title": "GatewayRefusal",
    "description": 'API Gateway\'s own refusal, before any function runs: `{"message": "Unauthorized"}`.',
}
GATEWAY_REFUSALS = {
    "401": (
        "API Gateway refused the token (missing, malformed, bad signature, wrong issuer or audience, "
        'expired or not yet valid): `{"message": "Unauthorized"}`; or the function did: the token\'s use '
        "or audience is not the console's access token (the envelope, `unauthorized`)"
    ),
    "403": (
        "The token lacks the route's scope (an ID token; API Gateway: "
        '`{"message": "Forbidden"}`); or the signed-in user\'s groups do not allow this action (the '
        "envelope, `forbidden`)"
    ),
}
IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": True,
    "description": "The lead's ETag as last read: 428 without it, 412 if the lead has changed since.",
    "schema": {"type": "string"},
}


def _staff_operations(paths: dict[str, Any], components: dict[str, Any]) -> None:
    """What the staff handler reads itself (bodies, If-Match), and the token every route needs."""
    from clinic.staff.models import ErasureRequest, LeadChange

    bodies: dict[tuple[str, str], type[BaseModel]] = {
        ("patch", "/staff/leads/{id}"): LeadChange,
        ("post", "/staff/erasures"): ErasureRequest,
    }
    for (method, path), model in bodies.items():
        components[model.__name__] = model.model_json_schema(ref_template="#/components/schemas/{model}")
        reference = {"$ref": f"#/components/schemas/{model.__name__}"}
        paths[path][method]["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": reference}},
        }
    paths["/staff/leads/{id}"]["patch"]["parameters"].append(IF_MATCH)
    components["GatewayRefusal"] = GATEWAY_REFUSAL
    either = {
        "anyOf": [
            {"$ref": "#/components/schemas/ErrorEnvelope"},
            {"$ref": "#/components/schemas/GatewayRefusal"},
        ]
    }
    for path, operations in paths.items():
        if path.startswith("/staff/") and not path.startswith("/staff/assets/"):  # the console is public
            for operation in operations.values():
                operation["security"] = [{"StaffToken": []}]
                for status, description in GATEWAY_REFUSALS.items():
                    operation["responses"][status] = {
                        "description": description,
                        "content": {"application/json": {"schema": either}},
                    }


def _consultation_body(components: dict[str, Any]) -> dict[str, Any]:
    schema = ConsultationRequest.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(schema.pop("$defs", {}))
    components["ConsultationRequest"] = schema
    reference = {"$ref": "#/components/schemas/ConsultationRequest"}
    return {
        "required": True,
        "description": (
            "The patient's request. A plain HTML form may send the same fields form-encoded, "
            "with `concerns` repeated and `source` as `source.page`, `source.utm_source`, …; it is "
            "then answered 303 to the thank-you page, or with an HTML page listing the problems."
        ),
        "content": {"application/json": {"schema": reference}},
    }


def _challenge_operation(paths: dict[str, Any]) -> None:
    """The challenge route takes no input (so Powertools' 422 cannot happen) and is never cached
    (each form view solves its own challenge), unlike the articles' GETs."""
    operation = paths["/consultations/challenge"]["get"]
    operation["responses"].pop("422", None)
    operation["description"] = (
        "A fresh proof-of-work challenge (ALTCHA PoW v2, as the `altcha` library creates it) for "
        "the consultation form's widget, which solves it and sends the solution with the form as "
        "`altcha`. A solution is accepted once, until the challenge's `expiresAt`."
    )
    operation["responses"]["200"]["headers"] = {
        "Cache-Control": {"description": "no-store: never cached or shared", "schema": {"type": "string"}}
    }


def _query_parameters(model: Any, components: dict[str, Any]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(schema.pop("$defs", {}))  # an enum a parameter names (LeadStatus)
    return [
        {
            "name": name,
            "in": "query",
            "required": name in schema.get("required", []),
            "description": field.get("description", ""),
            "schema": {key: value for key, value in field.items() if key not in ("description", "title")},
        }
        for name, field in schema["properties"].items()
    ]


IF_NONE_MATCH = {
    "name": "If-None-Match",
    "in": "header",
    "required": False,
    "description": "ETags the client holds; a match answers 304 without a body.",
    "schema": {"type": "string"},
}


def _add_parameters(paths: dict[str, Any], components: dict[str, Any]) -> None:
    """What the articles handler reads itself: its query model and, where it answers 304, If-None-Match."""
    from clinic.common.http import QUERY_MODELS  # filled as _resolvers() imported the handlers

    for (method, path), model in QUERY_MODELS.items():
        operation = paths[path][method.lower()]
        operation["parameters"] = operation.get("parameters", []) + _query_parameters(model, components)
    for operations in paths.values():
        for operation in operations.values():
            if "304" in operation["responses"]:
                operation["parameters"] = [*operation.get("parameters", []), IF_NONE_MATCH]


# The staff routes are never cached, and a lead's ETag is its version (If-Match), not a cache validator.
STAFF_HEADERS = {"Cache-Control": "no-store: staff answers are never cached"}
LEAD_HEADERS = {**STAFF_HEADERS, "ETag": "The lead's version: send it back as If-Match to change the lead"}
CONSOLE_HEADERS = {
    "Cache-Control": "no-cache: the browser asks again, so a deploy's console is used at once",
    "Content-Security-Policy": "The console runs only its own files and talks only to its origin and Cognito",
}


def _headers_for(path: str, status: str) -> dict[str, str] | None:
    if path.startswith("/staff") and status == "200":
        if path == "/staff" or path.startswith("/staff/assets/"):
            return CONSOLE_HEADERS
        return LEAD_HEADERS if path == "/staff/leads/{id}" else STAFF_HEADERS
    if path.startswith("/staff") and status not in ("429", "503"):  # Retry-After holds everywhere
        return None
    return RESPONSE_HEADERS.get(status)


def _polish_responses(path: str, method: str, operation: dict[str, Any]) -> None:
    for status, response in operation["responses"].items():
        if status in NO_BODY or method == "head":  # HEAD answers as GET would, without the body
            response.pop("content", None)
        headers = _headers_for(path, status)
        if headers:
            response["headers"] = {
                name: {"description": text, "schema": {"type": "string"}} for name, text in headers.items()
            }


def _referenced(document: dict[str, Any]) -> set[str]:
    text = json.dumps(document["paths"])
    found: set[str] = set()
    pending = [name for name in document["components"]["schemas"] if f'"#/components/schemas/{name}"' in text]
    while pending:
        name = pending.pop()
        if name in found:
            continue
        found.add(name)
        nested = json.dumps(document["components"]["schemas"][name])
        pending += [
            other
            for other in document["components"]["schemas"]
            if f'"#/components/schemas/{other}"' in nested
        ]
    return found


def build_document() -> dict[str, Any]:
    """The whole API, as the deployed functions serve it."""
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for resolver in _resolvers():
        part = json.loads(resolver.get_openapi_json_schema(title=TITLE, version=version("clinic-backend")))
        paths.update(part["paths"])
        schemas.update(part.get("components", {}).get("schemas", {}))
    paths["/consultations"]["post"]["requestBody"] = _consultation_body(schemas)
    _add_parameters(paths, schemas)
    _staff_operations(paths, schemas)
    for path, operations in paths.items():
        for method, operation in operations.items():
            _polish_responses(path, method, operation)
    _challenge_operation(paths)
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": TITLE, "version": version("clinic-backend"), "description": DESCRIPTION},
        "servers": [{"url": "/"}],
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": schemas, "securitySchemes": {"StaffToken": STAFF_SECURITY}},
    }
    used = _referenced(document)
    document["components"]["schemas"] = {name: schemas[name] for name in sorted(schemas) if name in used}
    return document


def render_document() -> str:
    return json.dumps(build_document(), indent=2, sort_keys=False) + "\n"


def write_document(path: Path = DOCUMENT_PATH) -> Path:
    path.write_text(render_document(), encoding="utf-8")
    return path
