"""The local gateway behaves as API Gateway's HTTP API does, for the template's routes and CORS.

Every route is served by a real worker process running tests/support/echo_handler.py,
which answers with the payload 2.0 event it was given.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from joserfc.jwk import KeySet

from clinic_infra.local.authorizer import JwtAuthorizer
from clinic_infra.local.functions import LocalFunction
from clinic_infra.local.gateway import CorsConfig, LocalGateway
from clinic_infra.template import FunctionSpec, StackTemplate
from tests.e2e.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
SITE = "http://127.0.0.1:8000"


@pytest.fixture(scope="module")
def gateway() -> Iterator[LocalGateway]:
    template = StackTemplate({"AllowedOrigins": SITE})
    spec = FunctionSpec("EchoFunction", "tests.support.echo_handler.lambda_handler", 10, 128, {}, {}, {})
    echo = LocalFunction(spec, {"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT)}, lambda *_: None)
    # The template's authorizers, with no keys to trust: every token is refused here (signed-in
    # requests are tested against the embedded Cognito in test_staff_gateway.py).
    authorizers = {
        name: JwtAuthorizer.from_template(name, spec, lambda _issuer: KeySet([]), token_use="access")  # noqa: S106
        for name, spec in template.http_api()["Auth"]["Authorizers"].items()
    }
    gateway = LocalGateway(
        template.http_routes(),
        lambda _function, event: echo.invoke(event),
        CorsConfig.from_template(template.http_api()),
        port=free_port(),
        log=lambda _: None,
        authorizers=authorizers,
    )
    gateway.start()
    yield gateway
    gateway.stop()
    echo.stop()


def request(
    gateway: LocalGateway,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, http.client.HTTPMessage, bytes]:
    host, port = gateway.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    payload = response.read()
    connection.close()
    return response.status, response.headers, payload


def event_for(gateway: LocalGateway, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    status, _, payload = request(gateway, method, path, **kwargs)
    assert status == 200, payload
    return json.loads(payload)  # type: ignore[no-any-return]


def test_event_is_payload_2_with_route_key_and_path_parameters(gateway: LocalGateway) -> None:
    event = event_for(gateway, "GET", "/articles/some-slug")
    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /articles/{slug}"
    assert event["rawPath"] == "/articles/some-slug"
    assert event["pathParameters"] == {"slug": "some-slug"}
    context = event["requestContext"]
    assert context["http"]["method"] == "GET"
    assert context["http"]["path"] == "/articles/some-slug"
    assert context["http"]["sourceIp"] == "127.0.0.1"
    assert context["stage"] == "$default"
    assert context["routeKey"] == "GET /articles/{slug}"
    assert context["requestId"]
    assert isinstance(context["timeEpoch"], int)
    assert event["isBase64Encoded"] is False
    assert "body" not in event


def test_headers_are_lower_cased_and_repeated_ones_joined_with_commas(gateway: LocalGateway) -> None:
    host, port = gateway.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.putrequest("GET", "/tags")
    connection.putheader("X-Custom-Thing", "one")
    connection.putheader("X-Custom-Thing", "two")
    connection.putheader("Cookie", "a=1; b=2")
    connection.endheaders()
    event = json.loads(connection.getresponse().read())
    connection.close()
    assert event["headers"]["x-custom-thing"] == "one,two"
    assert "X-Custom-Thing" not in event["headers"]
    assert event["cookies"] == ["a=1", "b=2"]
    assert "cookie" not in event["headers"]


def test_query_string_is_raw_and_parsed_with_repeats_joined(gateway: LocalGateway) -> None:
    event = event_for(gateway, "GET", "/articles?limit=3&tag=a&tag=b&empty=")
    assert event["rawQueryString"] == "limit=3&tag=a&tag=b&empty="
    assert event["queryStringParameters"] == {"limit": "3", "tag": "a,b", "empty": ""}


def test_json_body_arrives_as_text(gateway: LocalGateway) -> None:
    event = event_for(
        gateway, "POST", "/consultations", body=b'{"a": 1}', headers={"content-type": "application/json"}
    )
    assert event["body"] == '{"a": 1}'
    assert event["isBase64Encoded"] is False


@pytest.mark.parametrize(
    "content_type",
    ["application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "image/png", None],
)
def test_non_text_bodies_arrive_base64_encoded(gateway: LocalGateway, content_type: str | None) -> None:
    raw = b"name=A%20B&x=\xff"
    headers = {"content-type": content_type} if content_type else {}
    event = event_for(gateway, "POST", "/consultations", body=raw, headers=headers)
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == raw


def test_unknown_routes_and_methods_are_404_without_invoking(gateway: LocalGateway) -> None:
    for method, path in (
        ("GET", "/nope"),
        ("DELETE", "/articles"),
        ("GET", "/consultations"),
        ("GET", "/articles/a/b"),
    ):
        status, headers, payload = request(gateway, method, path)
        assert status == 404, (method, path)
        assert json.loads(payload) == {"message": "Not Found"}
        assert headers["content-type"] == "application/json"


def test_handler_exception_is_500_internal_server_error(gateway: LocalGateway) -> None:
    status, _, payload = request(gateway, "GET", "/tags", headers={"x-echo-raise": "1"})
    assert status == 500
    assert json.loads(payload) == {"message": "Internal Server Error"}
    assert event_for(gateway, "GET", "/tags")["routeKey"] == "GET /tags"  # the container restarts


def test_function_answers_are_translated_status_headers_cookies_and_base64(gateway: LocalGateway) -> None:
    status, headers, _ = request(
        gateway, "GET", "/tags", headers={"x-echo-status": "418", "x-echo-cookie": "1"}
    )
    assert status == 418
    assert headers["x-function"] == "EchoFunction"
    assert headers.get_all("set-cookie") == ["session=abc; HttpOnly", "theme=dark"]
    status, headers, payload = request(gateway, "GET", "/tags", headers={"x-echo-binary": "1"})
    assert payload == b"\x89PNG\r\n"
    assert headers["content-type"] == "image/png"


def test_a_bare_answer_becomes_a_200_json_body(gateway: LocalGateway) -> None:
    status, headers, payload = request(gateway, "GET", "/tags", headers={"x-echo-bare": "1"})
    assert status == 200
    assert headers["content-type"] == "application/json"
    assert json.loads(payload) == {"bare": True}


def test_preflight_from_the_allowed_origin_gets_the_template_cors_rules(gateway: LocalGateway) -> None:
    status, headers, payload = request(
        gateway,
        "OPTIONS",
        "/consultations",
        headers={
            "Origin": SITE,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,idempotency-key",
        },
    )
    assert status == 204
    assert payload == b""
    assert headers["access-control-allow-origin"] == SITE
    assert set(headers["access-control-allow-methods"].split(",")) == {"GET", "POST", "OPTIONS"}
    assert {"content-type", "idempotency-key"} <= set(headers["access-control-allow-headers"].split(","))
    assert headers["access-control-max-age"] == "600"


def test_preflight_from_a_foreign_origin_gets_no_cors_grant(gateway: LocalGateway) -> None:
    status, headers, _ = request(
        gateway,
        "OPTIONS",
        "/consultations",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert status == 204
    assert "access-control-allow-origin" not in headers


def test_responses_carry_cors_headers_only_for_the_allowed_origin(gateway: LocalGateway) -> None:
    _, allowed, _ = request(gateway, "GET", "/tags", headers={"Origin": SITE})
    assert allowed["access-control-allow-origin"] == SITE
    assert "etag" in allowed["access-control-expose-headers"].split(",")
    _, foreign, _ = request(gateway, "GET", "/tags", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in foreign


@pytest.mark.parametrize("method", ["TRACE", "PROPFIND", "PATCH"])
def test_methods_no_route_declares_are_404_like_any_unknown_route(gateway: LocalGateway, method: str) -> None:
    status, _, payload = request(gateway, method, "/tags")
    assert status == 404
    assert json.loads(payload) == {"message": "Not Found"}


def test_head_reaches_the_head_route_and_answers_without_a_body(gateway: LocalGateway) -> None:
    status, headers, payload = request(gateway, "HEAD", "/articles/some-slug")
    assert status == 200
    assert headers["x-function"] == "EchoFunction"  # the function ran, for the HEAD route
    assert payload == b""
    assert int(headers["content-length"]) > 0  # what the function answered, as GET would send it
    status, _, payload = request(gateway, "HEAD", "/consultations")  # no HEAD route there
    assert (status, payload) == (404, b"")
