"""A local stand-in for API Gateway's HTTP API: HTTP requests in, payload 2.0 events out.

It follows what the deployed API does: the route table and CORS come from template.yaml,
headers are lower-cased, repeated headers and query parameters are joined with commas,
non-text bodies arrive base64-encoded, unknown routes answer `{"message":"Not Found"}`
without invoking anything, a route with a JWT authorizer answers 401
`{"message":"Unauthorized"}` for a missing or bad token before any function runs
(clinic_infra.local.authorizer), and a failed or throttled function answers
`{"message":"Internal Server Error"}` (AWS documents a Lambda throttle behind API Gateway
as an internal server error: Lambda's 429 is not passed on). Each connection has a thread
of its own, so requests are served concurrently, as API Gateway does.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from clinic_infra.local.authorizer import JwtAuthorizer, TokenRefused, gateway_claims
from clinic_infra.local.functions import FunctionThrottled, InvocationError
from clinic_infra.template import HttpRoute

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
_TEXT_TYPES = re.compile(
    r"^(text/.*|application/(json|xml|javascript|[\w.+-]+\+json|[\w.+-]+\+xml))$", re.IGNORECASE
)

Invoke = Callable[[str, dict[str, Any]], Any]
LocalPage = Callable[[], tuple[int, str, bytes]]


@dataclass(frozen=True)
class CorsConfig:
    """The HttpApi's CORS rules, which API Gateway applies before any function runs."""

    allow_origins: tuple[str, ...]
    allow_methods: tuple[str, ...]
    allow_headers: tuple[str, ...]
    expose_headers: tuple[str, ...]
    max_age: int | None

    @classmethod
    def from_template(cls, properties: Mapping[str, Any]) -> CorsConfig | None:
        """From the HttpApi's DefinitionBody extension `x-amazon-apigateway-cors`."""
        config = properties.get("DefinitionBody", {}).get("x-amazon-apigateway-cors")
        if not config:
            return None
        return cls(
            allow_origins=tuple(config.get("allowOrigins", ())),
            allow_methods=tuple(method.upper() for method in config.get("allowMethods", ())),
            allow_headers=tuple(header.lower() for header in config.get("allowHeaders", ())),
            expose_headers=tuple(header.lower() for header in config.get("exposeHeaders", ())),
            max_age=int(config["maxAge"]) if "maxAge" in config else None,
        )

    def allows(self, origin: str | None) -> bool:
        return origin is not None and ("*" in self.allow_origins or origin in self.allow_origins)


@dataclass(frozen=True)
class _CompiledRoute:
    route: HttpRoute
    pattern: re.Pattern[str]
    specificity: tuple[int, int]


def _compile(route: HttpRoute) -> _CompiledRoute:
    regex = ""
    for part in re.split(r"(\{[^}]+\})", route.path):
        if part.startswith("{") and part.endswith("+}"):
            regex += f"(?P<{part[1:-2]}>.+)"
        elif part.startswith("{"):
            regex += f"(?P<{part[1:-1]}>[^/]+)"
        else:
            regex += re.escape(part)
    variables = route.path.count("{")
    # Routes without variables win over those with them, as in API Gateway.
    return _CompiledRoute(route, re.compile(regex + "$"), (variables, -len(route.path)))


def is_text(content_type: str | None) -> bool:
    if not content_type:
        return False
    return bool(_TEXT_TYPES.match(content_type.split(";", 1)[0].strip()))


class LocalGateway:
    """Serves the template's routes on host:port by invoking local functions."""

    def __init__(
        self,
        routes: list[HttpRoute],
        invoke: Invoke,
        cors: CorsConfig | None,
        *,
        host: str = "127.0.0.1",
        port: int = 3000,
        account_id: str = "123456789012",
        local_pages: Mapping[str, LocalPage] | None = None,
        log: Callable[[str], None] = print,
        authorizers: Mapping[str, JwtAuthorizer] | None = None,
    ) -> None:
        self.routes = sorted((_compile(route) for route in routes), key=lambda item: item.specificity)
        self.invoke = invoke
        self.cors = cors
        self.account_id = account_id
        self.local_pages = dict(local_pages or {})
        self.authorizers = dict(authorizers or {})
        missing = {route.authorizer for route in routes if route.authorizer} - set(self.authorizers)
        if missing:
            raise ValueError(f"routes name authorizers the gateway was not given: {sorted(missing)}")
        self.log = log
        self.api_id = "local"
        self._host = host
        self._server = _GatewayServer((host, port), _RequestHandler)
        self._server.gateway = self
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self._server.server_port}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # ------------------------------------------------------------ routing
    def match(self, method: str, path: str) -> tuple[HttpRoute, dict[str, str]] | None:
        for compiled in self.routes:
            if compiled.route.method not in (method, "ANY"):
                continue
            found = compiled.pattern.match(path)
            if found:
                return compiled.route, found.groupdict()
        return None

    def build_event(
        self,
        route: HttpRoute,
        path_parameters: dict[str, str],
        method: str,
        raw_path: str,
        raw_query: str,
        headers: Message,
        body: bytes,
        source_ip: str,
        claims: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """An API Gateway HTTP API payload 2.0 event for one request (with the JWT authorizer's
        claims, for a route it guards)."""
        joined: dict[str, str] = {}
        cookies: list[str] = []
        for name, value in headers.items():
            key = name.lower()
            if key == "cookie":
                cookies.extend(part.strip() for part in value.split(";") if part.strip())
                continue
            joined[key] = f"{joined[key]},{value}" if key in joined else value
        query: dict[str, str] = {}
        for key, value in parse_qsl(raw_query, keep_blank_values=True):
            query[key] = f"{query[key]},{value}" if key in query else value
        now = datetime.now(UTC)
        request_id = uuid.uuid4().hex[:16]
        event: dict[str, Any] = {
            "version": "2.0",
            "routeKey": route.route_key,
            "rawPath": raw_path,
            "rawQueryString": raw_query,
            "headers": joined,
            "requestContext": {
                "accountId": self.account_id,
                "apiId": self.api_id,
                "domainName": joined.get("host", "127.0.0.1"),
                "domainPrefix": joined.get("host", "127.0.0.1").split(".")[0],
                "http": {
                    "method": method,
                    "path": raw_path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": source_ip,
                    "userAgent": joined.get("user-agent", ""),
                },
                "requestId": request_id,
                "routeKey": route.route_key,
                "stage": "$default",
                "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
                "timeEpoch": int(now.timestamp() * 1000),
            },
            "isBase64Encoded": False,
        }
        if claims is not None:
            event["requestContext"]["authorizer"] = {
                "jwt": {"claims": gateway_claims(claims), "scopes": None}
            }
        optional = {"cookies": cookies, "queryStringParameters": query, "pathParameters": path_parameters}
        event.update({name: value for name, value in optional.items() if value})
        if body:
            if is_text(joined.get("content-type")):
                try:
                    event["body"] = body.decode("utf-8")
                except UnicodeDecodeError:
                    event["body"] = base64.b64encode(body).decode()
                    event["isBase64Encoded"] = True
            else:
                event["body"] = base64.b64encode(body).decode()
                event["isBase64Encoded"] = True
        return event

    @staticmethod
    def to_http(result: Any) -> tuple[int, list[tuple[str, str]], bytes]:
        """Translate a handler's answer as API Gateway does for payload 2.0."""
        if not isinstance(result, dict) or "statusCode" not in result:
            # A bare value is taken as a JSON body with status 200.
            return 200, [("content-type", "application/json")], json.dumps(result).encode()
        headers = [(str(name), str(value)) for name, value in (result.get("headers") or {}).items()]
        headers += [("set-cookie", cookie) for cookie in result.get("cookies") or []]
        body = result.get("body") or ""
        payload = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
        return int(result["statusCode"]), headers, payload


class _GatewayServer(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog of 5 drops connections in a burst (the client then
    # waits a second to resend its SYN); API Gateway accepts them.
    request_queue_size = 128
    gateway: LocalGateway


class _RequestHandler(BaseHTTPRequestHandler):
    """One HTTP request through the gateway."""

    server: _GatewayServer
    protocol_version = "HTTP/1.1"
    server_version = "clinic-local-gateway"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the gateway logs its own line, without the client's address

    def _respond(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("content-length", str(len(body)))
        self.send_header("apigw-requestid", uuid.uuid4().hex[:16])
        self.end_headers()
        if self.command != "HEAD" and status not in (204, 304):
            self.wfile.write(body)

    def _message(self, status: int, message: str, extra: list[tuple[str, str]] = []) -> None:  # noqa: B006
        body = json.dumps({"message": message}).encode()
        self._respond(status, [("content-type", "application/json"), *extra], body)

    def _cors_headers(self) -> list[tuple[str, str]]:
        origin = self.headers.get("origin")
        cors = self.server.gateway.cors
        if cors is None or not cors.allows(origin):
            return []
        headers = [("access-control-allow-origin", str(origin)), ("vary", "origin")]
        if cors.expose_headers:
            headers.append(("access-control-expose-headers", ",".join(cors.expose_headers)))
        return headers

    def _preflight(self, cors: CorsConfig) -> None:
        headers: list[tuple[str, str]] = []
        if cors.allows(self.headers.get("origin")):
            headers = [
                ("access-control-allow-origin", str(self.headers.get("origin"))),
                ("access-control-allow-methods", ",".join(cors.allow_methods)),
                ("access-control-allow-headers", ",".join(cors.allow_headers)),
                ("vary", "origin"),
            ]
            if cors.max_age is not None:
                headers.append(("access-control-max-age", str(cors.max_age)))
        self._respond(204, headers, b"")

    def _handle(self) -> None:
        started = time.monotonic()
        status = self._dispatch()
        elapsed = (time.monotonic() - started) * 1000
        self.server.gateway.log(f"{self.command} {urlsplit(self.path).path} -> {status} ({elapsed:.0f} ms)")

    def _dispatch(self) -> int:
        gateway = self.server.gateway
        split = urlsplit(self.path)
        method = self.command.upper()
        if gateway.cors and method == "OPTIONS" and self.headers.get("access-control-request-method"):
            self._preflight(gateway.cors)
            return 204
        if method == "GET" and split.path in gateway.local_pages:
            status, content_type, page = gateway.local_pages[split.path]()
            self._respond(status, [("content-type", content_type)], page)
            return status
        length = int(self.headers.get("content-length") or 0)
        if length > MAX_BODY_BYTES:
            self._message(413, "Request Entity Too Large")
            return 413
        return self._proxy(method, split.path, split.query, self.rfile.read(length) if length else b"")

    def _proxy(self, method: str, path: str, query: str, body: bytes) -> int:
        gateway = self.server.gateway
        matched = gateway.match(method, path)
        if matched is None:
            self._message(404, "Not Found", self._cors_headers())
            return 404
        route, parameters = matched
        claims = None
        if route.authorizer:
            try:
                claims = gateway.authorizers[route.authorizer].claims(
                    {name.lower(): value for name, value in self.headers.items()}
                )
            except TokenRefused as error:
                gateway.log(f"{route.route_key}: token refused ({error})")
                self._message(401, "Unauthorized", self._cors_headers())
                return 401
            # As API Gateway: a valid token carrying none of the route's scopes is forbidden.
            if route.scopes and not set(str(claims.get("scope", "")).split()) & set(route.scopes):
                gateway.log(f"{route.route_key}: token lacks the scope {' or '.join(route.scopes)}")
                self._message(403, "Forbidden", self._cors_headers())
                return 403
        source_ip = self.client_address[0]
        event = gateway.build_event(
            route, parameters, method, path, query, self.headers, body, source_ip, claims
        )
        try:
            status, headers, payload = gateway.to_http(gateway.invoke(route.function, event))
        except FunctionThrottled as error:
            gateway.log(f"{route.function} throttled (TooManyRequestsException): {error}")
            self._message(500, "Internal Server Error", self._cors_headers())
            return 500
        except (InvocationError, ValueError, TypeError) as error:
            gateway.log(f"{route.function} failed: {error}")
            self._message(500, "Internal Server Error", self._cors_headers())
            return 500
        self._respond(status, headers + self._cors_headers(), payload)
        return status

    def __getattr__(self, name: str) -> Any:
        # Every method reaches the gateway (TRACE, PROPFIND, …): no route means 404, as in AWS.
        if name.startswith("do_"):
            return self._handle
        raise AttributeError(name)
