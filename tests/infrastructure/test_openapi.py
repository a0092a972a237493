"""openapi.json is generated from the code and committed; it must not drift from it."""

from __future__ import annotations

import json
from pathlib import Path

from clinic_infra.openapi import DOCUMENT_PATH, build_document, render_document
from clinic_infra.template import StackTemplate


def test_committed_document_matches_the_code() -> None:
    assert DOCUMENT_PATH.read_text(encoding="utf-8") == render_document(), "run `.venv/bin/clinic openapi`"


def test_document_covers_every_route_the_template_deploys() -> None:
    document = build_document()
    documented = {
        (method.upper(), path) for path, operations in document["paths"].items() for method in operations
    }
    deployed = {(route.method, route.path) for route in StackTemplate().http_routes()}
    assert documented == deployed


ENVELOPE = {"$ref": "#/components/schemas/ErrorEnvelope"}
ENVELOPE_OR_GATEWAY = {"anyOf": [ENVELOPE, {"$ref": "#/components/schemas/GatewayRefusal"}]}


def test_every_error_status_is_documented_with_the_envelope() -> None:
    for path, operations in build_document()["paths"].items():
        for method, operation in operations.items():
            if method == "head":
                continue  # no body at all (test_head_operations_document_no_bodies)
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    schema = response["content"]["application/json"]["schema"]
                    # API Gateway itself refuses a bad token (401) or one without the scope (403).
                    gateway = "security" in operation and status in ("401", "403")
                    expected = ENVELOPE_OR_GATEWAY if gateway else ENVELOPE
                    assert schema == expected, (method, path, status)


def test_every_staff_route_but_the_console_needs_the_token_and_documents_the_gateways_refusals() -> None:
    document = build_document()
    assert document["components"]["schemas"]["GatewayRefusal"]["required"] == ["message"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            public = not path.startswith("/staff/") or path.startswith("/staff/assets/")
            assert ("security" not in operation) == public, (method, path)
            if not public:
                assert operation["security"] == [{"StaffToken": []}]
                assert {"401", "403"} <= set(operation["responses"]), (method, path)


def test_the_console_documents_the_media_types_it_answers() -> None:
    paths = build_document()["paths"]
    assert set(paths["/staff"]["get"]["responses"]["200"]["content"]) == {"text/html; charset=utf-8"}
    asset = paths["/staff/assets/{file}"]["get"]["responses"]
    assert set(asset["200"]["content"]) == {
        "text/javascript; charset=utf-8",
        "text/css; charset=utf-8",
        "application/json",
    }
    assert "404" in asset


def test_no_content_answers_document_no_body() -> None:
    erase = build_document()["paths"]["/staff/leads/{id}"]["delete"]["responses"]["204"]
    assert "content" not in erase


def test_every_read_route_is_documented_for_head_as_get_without_bodies() -> None:
    paths = build_document()["paths"]
    for path, operations in paths.items():
        # Link checkers and CDNs read articles; the staff routes and the widget's challenge are not theirs.
        if "get" not in operations or path.startswith("/staff") or path == "/consultations/challenge":
            continue
        get, head = operations["get"], operations.get("head")
        assert head is not None, f"HEAD {path} is not documented"
        assert set(head["responses"]) == set(get["responses"]), path
        assert head["parameters"] == get["parameters"], path
        for status, response in head["responses"].items():
            assert "content" not in response, (path, status)
            assert response.get("headers") == get["responses"][status].get("headers"), (path, status)


def test_consultation_body_and_idempotency_key_are_documented() -> None:
    operation = build_document()["paths"]["/consultations"]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/ConsultationRequest"}
    (header,) = operation["parameters"]
    assert header["name"] == "idempotency-key"
    assert header["in"] == "header"
    assert set(operation["responses"]) == {
        "201",
        "303",
        "400",
        "409",
        "413",
        "415",
        "422",
        "429",
        "500",
        "503",
    }


def test_document_is_valid_json_with_no_dangling_references() -> None:
    document = json.loads(Path(DOCUMENT_PATH).read_text())
    text = json.dumps(document)
    for name in document["components"]["schemas"]:
        assert f"#/components/schemas/{name}" in text
    for reference in {part.split('"')[0] for part in text.split('"#/components/schemas/')[1:]}:
        assert reference in document["components"]["schemas"], reference
    # A model's own $defs mean nothing outside it: every reference is to the components.
    assert '"#/$defs/' not in text


def test_challenge_route_and_the_altcha_field_are_documented() -> None:
    document = build_document()
    operation = document["paths"]["/consultations/challenge"]["get"]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ProofOfWorkChallenge"
    }
    assert "no-store" in operation["responses"]["200"]["headers"]["Cache-Control"]["description"]
    assert set(operation["responses"]) == {"200", "500", "503"}
    challenge = document["components"]["schemas"]["ProofOfWorkChallenge"]
    assert set(challenge["required"]) == {"parameters", "signature"}
    field = document["components"]["schemas"]["ConsultationRequest"]["properties"]["altcha"]
    assert "GET /consultations/challenge" in field["description"]
