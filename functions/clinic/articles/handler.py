"""GET /articles, /articles/{slug}, /tags, /feed.json, /sitemap.xml."""

from __future__ import annotations

import hashlib
import json
import re
import warnings
from datetime import UTC, datetime
from functools import cache
from typing import Annotated, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field

from clinic.articles.models import (
    SLUG_MAX_LENGTH,
    SLUG_PATTERN,
    Article,
    ArticlePage,
    ListQuery,
    TagList,
)
from clinic.articles.published import FEED_SIZE, PUBLISHED_PREFIX
from clinic.articles.service import (
    ArticleCatalog,
    PublishedContent,
    Redirect,
    SiteLinks,
    render_json_feed,
    render_sitemap,
)
from clinic.common.errors import NotFound
from clinic.common.http import (
    JSON,
    documented_errors,
    get_with_query,
    install_error_handlers,
    query_parameters,
)
from clinic.common.observability import keep_sdk_logs_quiet
from clinic.common.settings import EnvironmentSettings

logger = Logger()
metrics = Metrics()
# Parameters are validated by the route's own pydantic model: Powertools' validation middleware
# costs more per request than these routes' whole work (docs/performance.md).
app = APIGatewayHttpResolver()
install_error_handlers(app, logger)
keep_sdk_logs_quiet()
# Only the article route counts something; the others have no metric to flush (Powertools' advice).
warnings.filterwarnings("ignore", "No application metrics to publish*")


class ArticlesSettings(EnvironmentSettings):
    content_bucket: str = Field(min_length=3)
    content_prefix: str = PUBLISHED_PREFIX
    cache_ttl_seconds: float = Field(default=60, ge=0, le=3600)
    cache_control: str = "public, max-age=60, s-maxage=300"
    site_base_url: str = Field(pattern=r"^https?://[^\s/]+")
    article_path_pattern: str = Field(default="/article.html?slug={slug}", pattern=r"\{slug\}")
    site_name: str = "Clinic articles"
    # The API's public base URL; `{api_id}` (the execute-api default) is filled in per request.
    api_base_url: str = Field(pattern=r"^https?://[^\s/]+")


@cache
def settings() -> ArticlesSettings:
    return ArticlesSettings.from_environment()


@cache
def catalog() -> ArticleCatalog:
    config = settings()
    content = PublishedContent(config.content_bucket, config.content_prefix, config.cache_ttl_seconds)
    links = SiteLinks(config.site_base_url, config.article_path_pattern, config.site_name)
    return ArticleCatalog(content, links)


def _now() -> datetime:
    return datetime.now(UTC)


def api_url(path: str) -> str:
    """An absolute URL of this API, from the deploy's setting: never the request's Host, which
    is 127.0.0.1 locally and, behind a custom domain, leaves out its base path."""
    api_id = app.current_event.request_context.api_id
    return settings().api_base_url.replace("{api_id}", api_id).rstrip("/") + path


def _etag_matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    candidates = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in candidates or etag in candidates


def cacheable(body: str, content_type: str = JSON) -> Response[str]:
    """A 200 with a strong ETag and the configured Cache-Control, or a 304 when the client has it."""
    etag = '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": settings().cache_control}
    if _etag_matches(app.current_event.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers, body="")
    return Response(status_code=200, content_type=content_type, body=body, headers=headers)


def _documented(model: Any, *errors: int, media_type: str = JSON) -> dict[int, OpenAPIResponse]:
    """OpenAPI responses: the success model, 304, and the error envelope for each error status."""
    return {
        200: {
            "description": "OK, with a strong ETag and Cache-Control",
            "content": {media_type: {"model": model}},
        },
        304: {"description": "Not modified: the client's copy (If-None-Match) is current"},
        **documented_errors(*errors, 503),
    }


# Every read route answers HEAD as well: link checkers and CDNs ask with HEAD before (or instead of) GET.
READ_METHODS = ["GET", "HEAD"]
SlugParam = Annotated[str, Path(description="The article's slug (or an old alias of it).")]
_SLUG = re.compile(SLUG_PATTERN)


@get_with_query(app, "/articles", ListQuery, responses=_documented(ArticlePage, 422), head=True)
def list_articles() -> Response[str]:
    query = query_parameters(app, ListQuery)
    page = catalog().page(now=_now(), limit=query.limit, cursor=query.cursor, tag=query.tag)
    return cacheable(page.model_dump_json())


@app.route(
    "/articles/<slug>",
    method=READ_METHODS,
    responses={
        **_documented(Article, 404),
        301: {"description": "Moved: an old slug; Location names the article"},
    },
)
def get_article(slug: SlugParam) -> Response[str]:
    try:
        if len(slug) > SLUG_MAX_LENGTH or not _SLUG.fullmatch(slug):
            raise NotFound()
        found = catalog().article(slug, _now())
    except NotFound:
        metrics.add_metric(name="ArticleNotFound", unit=MetricUnit.Count, value=1)
        raise
    if isinstance(found, Redirect):
        headers = {"Location": api_url(f"/articles/{found.slug}"), "Cache-Control": settings().cache_control}
        return Response(status_code=301, headers=headers, body="")
    metrics.add_metric(name="ArticleServed", unit=MetricUnit.Count, value=1)
    return cacheable(found.model_dump_json())


@app.route("/tags", method=READ_METHODS, responses=_documented(TagList))
def list_tags() -> Response[str]:
    return cacheable(catalog().tags(_now()).model_dump_json())


@app.route("/feed.json", method=READ_METHODS, responses=_documented(dict, media_type="application/feed+json"))
def json_feed() -> Response[str]:
    entries = catalog().feed_entries(_now(), FEED_SIZE)
    feed = render_json_feed(entries, catalog().links, api_url("/feed.json"))
    return cacheable(json.dumps(feed, ensure_ascii=False), "application/feed+json")


@app.route("/sitemap.xml", method=READ_METHODS, responses=_documented(str, media_type="application/xml"))
def sitemap() -> Response[str]:
    body = render_sitemap(catalog().published(_now()), catalog().links)
    return cacheable(body, "application/xml")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    catalog()  # settings are validated on the first event: a misconfigured function fails loudly
    answer = app.resolve(event, context)
    if event.get("requestContext", {}).get("http", {}).get("method") == "HEAD":
        # HEAD is GET without the body (RFC 9110): same status and headers, ETag and 304 included.
        answer.update(body="", isBase64Encoded=False)
    return answer
