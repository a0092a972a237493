"""The staff console's page and files: what a browser is told it may run, load and frame."""

from __future__ import annotations

import json
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import pytest

from clinic.console import handler
from tests.helpers import FakeLambdaContext, http_event

CLIENT_ID = "console-client-id"


@pytest.fixture(autouse=True)
def console_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("USER_POOL_CLIENT_ID", CLIENT_ID)
    monkeypatch.delenv("COGNITO_ENDPOINT", raising=False)
    handler.settings.cache_clear()
    yield
    handler.settings.cache_clear()


def get(path: str, file: str | None = None) -> dict[str, Any]:
    route = "/staff/assets/{file}" if file is not None else path
    event = http_event("GET", path, route=route, path_parameters={"file": file} if file else None)
    return handler.lambda_handler(event, FakeLambdaContext())  # type: ignore[arg-type]


def csp(answer: dict[str, Any]) -> dict[str, str]:
    directives = (
        part.strip().split(" ", 1) for part in answer["headers"]["Content-Security-Policy"].split(";")
    )
    return {name: rest for name, rest in directives}


class References(HTMLParser):
    """Every URL the page loads, and whether it has inline script, style or handlers."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        self._in_script = tag == "script"
        for name in ("src", "href"):
            if values.get(name) and tag in ("script", "link"):
                self.urls.append(str(values[name]))
        self.inline += [name for name in values if name.startswith("on") or name == "style"]
        if tag == "style":
            self.inline.append("style element")

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append("inline script")

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False


def test_console_page_runs_only_its_own_files() -> None:
    answer = get("/staff")

    assert answer["statusCode"] == 200
    assert answer["headers"]["Content-Type"].startswith("text/html")
    policy = csp(answer)
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["connect-src"] == "'self' https://cognito-idp.us-east-1.amazonaws.com"
    page = References()
    page.feed(answer["body"])
    assert page.inline == []
    assert page.urls
    assert all(url.startswith("staff/assets/") or url == "data:," for url in page.urls)


def test_console_answers_carry_hsts_and_refuse_framing_and_sniffing() -> None:
    for answer in (get("/staff"), get("/staff/assets/console.js", "console.js")):
        headers = answer["headers"]
        assert headers["Strict-Transport-Security"].startswith("max-age=63072000")
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "no-referrer"


@pytest.mark.parametrize(
    ("file", "content_type"),
    [
        ("console.js", "text/javascript"),
        ("cognito.js", "text/javascript"),
        ("console.css", "text/css"),
        ("config.json", "application/json"),
    ],
)
def test_console_asset_is_served_with_its_type(file: str, content_type: str) -> None:
    answer = get(f"/staff/assets/{file}", file)

    assert answer["statusCode"] == 200
    assert answer["headers"]["Content-Type"].startswith(content_type)


@pytest.mark.parametrize("file", ["index.html", "service.py", "..%2Fservice.py", "handler.py", "missing.js"])
def test_console_serves_no_other_file(file: str) -> None:
    answer = get(f"/staff/assets/{file}", file)

    assert answer["statusCode"] == 404
    assert json.loads(answer["body"])["error"]["code"] == "not_found"


def test_console_config_names_the_app_client_and_the_pool_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COGNITO_ENDPOINT", "http://127.0.0.1:5000/")
    handler.settings.cache_clear()

    answer = get("/staff/assets/config.json", "config.json")

    assert json.loads(answer["body"]) == {
        "region": "us-east-1",
        "clientId": CLIENT_ID,
        "cognitoEndpoint": "http://127.0.0.1:5000/",
    }
    assert csp(answer)["connect-src"] == "'self' http://127.0.0.1:5000"
