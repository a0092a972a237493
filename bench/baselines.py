"""Hand-written handlers that do the same work as the real ones, without Powertools.

They reuse the project's service code (the same S3 reads, DynamoDB transaction, models and
JSON) and write the same log line and metric by hand; what they leave out is what Powertools
gives the real handlers (the resolver's event model and routing, the Logger's Lambda context
and correlation id, the Metrics flush). The ratio of the two is Powertools' cost per request.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from datetime import UTC, datetime
from typing import Any

from clinic.articles.models import SLUG_PATTERN
from clinic.articles.published import FEED_SIZE
from clinic.articles.service import ArticleCatalog, Redirect, render_json_feed, render_sitemap
from clinic.common.errors import ApiError
from clinic.consultations.intake import read_submission
from clinic.consultations.models import ConsultationAccepted
from clinic.consultations.service import ConsultationService

_SLUG = re.compile(SLUG_PATTERN)
CACHE_CONTROL = "public, max-age=60, s-maxage=300"


def _metric(name: str, service: str) -> None:
    """The CloudWatch embedded-metric line the real handlers print through Powertools Metrics."""
    emf = {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": "bench",
                    "Dimensions": [["service"]],
                    "Metrics": [{"Name": name, "Unit": "Count"}],
                }
            ],
        },
        "service": service,
        name: [1.0],
    }
    print(json.dumps(emf, separators=(",", ":")))


def _log(message: str, **keys: str) -> None:
    """The structured line the real handlers write through Powertools Logger."""
    line = {"level": "INFO", "message": message, "timestamp": datetime.now(UTC).isoformat(), **keys}
    print(json.dumps(line, separators=(",", ":")))


def _answer(status: int, body: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", **(headers or {})},
        "body": body,
    }


def _error(error: ApiError) -> dict[str, Any]:
    return _answer(
        error.status, error.envelope().model_dump_json(exclude_none=True), {"Cache-Control": "no-store"}
    )


def _cacheable(
    body: str, if_none_match: str | None, content_type: str = "application/json"
) -> dict[str, Any]:
    etag = '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL, "Content-Type": content_type}
    if if_none_match and etag in if_none_match:
        return {"statusCode": 304, "headers": headers, "body": ""}
    return {"statusCode": 200, "headers": headers, "body": body}


def articles_handler(event: dict[str, Any], catalog: ArticleCatalog) -> dict[str, Any]:
    path = event["rawPath"]
    query = event.get("queryStringParameters") or {}
    if_none_match = event["headers"].get("if-none-match")
    now = datetime.now(UTC)
    try:
        if path == "/articles":
            limit = int(query.get("limit", "10"))
            if not 1 <= limit <= 50:
                return _answer(422, '{"error":{"code":"validation_error"}}')
            page = catalog.page(now=now, limit=limit, cursor=query.get("cursor"), tag=query.get("tag"))
            return _cacheable(page.model_dump_json(), if_none_match)
        if path.startswith("/articles/"):
            slug = path.removeprefix("/articles/")
            if not _SLUG.fullmatch(slug):
                return _answer(404, '{"error":{"code":"not_found"}}')
            found = catalog.article(slug, now)
            if isinstance(found, Redirect):
                return {"statusCode": 301, "headers": {"Location": f"/articles/{found.slug}"}, "body": ""}
            _metric("ArticleServed", "articles")
            return _cacheable(found.model_dump_json(), if_none_match)
        if path == "/tags":
            return _cacheable(catalog.tags(now).model_dump_json(), if_none_match)
        if path == "/feed.json":
            feed = render_json_feed(
                catalog.feed_entries(now, FEED_SIZE), catalog.links, "https://api.example/feed.json"
            )
            return _cacheable(json.dumps(feed, ensure_ascii=False), if_none_match, "application/feed+json")
        if path == "/sitemap.xml":
            return _cacheable(
                render_sitemap(catalog.published(now), catalog.links), if_none_match, "application/xml"
            )
    except ApiError as error:
        return _error(error)
    return _answer(404, '{"message":"Not Found"}')


def consultations_handler(event: dict[str, Any], service: ConsultationService) -> dict[str, Any]:
    try:
        submission = read_submission(event["headers"].get("content-type"), event.get("body"), False)
        accepted = service.receive(
            submission,
            idempotency_key=event["headers"].get("idempotency-key"),
            source_ip=event["requestContext"]["http"]["sourceIp"],
        )
    except ApiError as error:
        return _error(error)
    _log("Lead stored", lead_id=accepted.lead_id, correlation_id=event["requestContext"]["requestId"])
    _metric("LeadCreated", "consultations")
    body = ConsultationAccepted(id=accepted.lead_id, reference=accepted.reference)
    return _answer(201, body.model_dump_json())
