"""`make dev`'s stack: content published into the embedded AWS and served over HTTP."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

from clinic_infra.local.stack import LocalStack

CONTENT = Path(__file__).resolve().parents[2] / "content" / "articles"


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 - local URL
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_local_api_serves_every_published_article(local_stack: LocalStack) -> None:
    status, _, body = _get(f"{local_stack.api_url}/articles?limit=50")
    slugs = {item["slug"] for item in json.loads(body)["items"]}
    assert status == 200
    assert slugs == {path.stem for path in CONTENT.glob("*.md")}


def test_local_api_serves_an_article_with_its_body(local_stack: LocalStack) -> None:
    status, headers, body = _get(f"{local_stack.api_url}/articles/ketamine-for-chronic-pain")
    article = json.loads(body)
    assert status == 200
    assert article["title"] == "Ketamine infusions for chronic pain"
    assert "<h2>" in article["body_html"]
    assert headers["ETag"]


def test_local_api_answers_unknown_routes_as_api_gateway_does(local_stack: LocalStack) -> None:
    status, _, body = _get(f"{local_stack.api_url}/no-such-route")
    assert status == 404
    assert json.loads(body) == {"message": "Not Found"}
