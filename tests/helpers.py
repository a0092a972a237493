"""Builders the tests share: API Gateway events, Lambda contexts, article files, solved
proof-of-work challenges."""

from __future__ import annotations

import base64
import copy
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from clinic_infra.proof_of_work import solve

EVENTS = Path(__file__).parent / "events"
_BASE_EVENT = json.loads((EVENTS / "http_api_request.json").read_text())


def http_event(
    method: str,
    path: str,
    *,
    route: str | None = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    path_parameters: dict[str, str] | None = None,
    body: str | bytes | None = None,
    base64_body: bool = False,
    source_ip: str = "203.0.113.7",
) -> dict[str, Any]:
    """An API Gateway HTTP API payload 2.0 event, as the deployed API sends it."""
    event = copy.deepcopy(_BASE_EVENT)
    route_key = f"{method} {route or path}"
    event["routeKey"] = event["requestContext"]["routeKey"] = route_key
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["requestContext"]["http"]["method"] = method
    event["requestContext"]["http"]["sourceIp"] = source_ip
    event["requestContext"]["requestId"] = uuid.uuid4().hex
    event["headers"].update({name.lower(): value for name, value in (headers or {}).items()})
    event["headers"]["x-forwarded-for"] = source_ip
    if query:
        event["queryStringParameters"] = query
        event["rawQueryString"] = urlencode(query)
    if path_parameters:
        event["pathParameters"] = path_parameters
    if body is not None:
        raw = body.encode() if isinstance(body, str) else body
        if base64_body or isinstance(body, bytes):
            event["body"] = base64.b64encode(raw).decode()
            event["isBase64Encoded"] = True
        else:
            event["body"] = body
    return event


@dataclass
class FakeLambdaContext:
    """The context attributes Powertools reads (the real object exists only inside Lambda)."""

    function_name: str = "test-function"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"
    remaining_ms: int = 10_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def article_markdown(
    slug: str,
    *,
    title: str | None = None,
    tags: list[str] | None = None,
    published_at: str = "2026-01-01T09:00:00Z",
    draft: bool = False,
    aliases: list[str] | None = None,
    body: str = "Some words about treatment.\n",
    extra: str = "",
) -> str:
    """A valid article file; pass `extra` YAML lines to add fields."""
    return (
        "---\n"
        f"title: {json.dumps(title or slug.replace('-', ' ').title())}\n"
        f"slug: {slug}\n"
        'summary: "A short summary."\n'
        f"tags: {json.dumps(tags or ['ketamine'])}\n"
        "author:\n  name: Clinic editorial team\n"
        f"published_at: {published_at}\n"
        f"updated_at: {published_at}\n"
        f"draft: {'true' if draft else 'false'}\n"
        f"aliases: {json.dumps(aliases or [])}\n"
        "references:\n  - title: A study\n    url: https://doi.org/10.1000/example\n"
        f"{extra}"
        "---\n\n"
        f"{body}"
    )


# The tags the tests' articles use, with the names content/tags.yaml would give them.
TAG_NAMES = {
    "ketamine": "Ketamine",
    "depression": "Depression",
    "pain": "Pain",
    "anxiety": "Anxiety and worry",
}


def write_content(
    root: Path,
    articles: dict[str, str],
    disclaimer: str = "Not medical advice.",
    tag_names: dict[str, str] | None = None,
) -> Path:
    """A content/ directory holding `articles` (slug -> file text), a disclaimer and tags.yaml."""
    (root / "articles").mkdir(parents=True, exist_ok=True)
    (root / "disclaimer.md").write_text(disclaimer)
    names = TAG_NAMES if tag_names is None else tag_names
    (root / "tags.yaml").write_text("".join(f"{tag}: {json.dumps(name)}\n" for tag, name in names.items()))
    for slug, text in articles.items():
        (root / "articles" / f"{slug}.md").write_text(text)
    return root


def solved_altcha(fetch_challenge: Callable[[], dict[str, Any]]) -> str:
    """The `altcha` field a browser's widget would send: a fresh challenge (from
    `fetch_challenge`, which asks the API) solved with the `altcha` library."""
    return solve(fetch_challenge())


def altcha_from_api(api_url: str) -> str:
    """`solved_altcha` against a running API (the local stack): GET {api_url}/consultations/challenge."""
    import urllib.request

    def fetch() -> dict[str, Any]:
        url = f"{api_url}/consultations/challenge"
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - the local API
            return json.loads(response.read())  # type: ignore[no-any-return]

    return solved_altcha(fetch)


def challenge_event() -> dict[str, Any]:
    """GET /consultations/challenge, as API Gateway sends it."""
    return http_event("GET", "/consultations/challenge")
