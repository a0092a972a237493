"""Reading published articles: a TTL-cached view of the S3 objects the publisher wrote.

Every route costs at most one S3 read per object per cache period: the list, tags and
sitemap all come from `index.json`, the feed from `feed.json`, an article from its own
object (after the index has said that it exists and is published).
"""

from __future__ import annotations

import base64
import binascii
import time
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar
from xml.etree import ElementTree  # nosec B405 - builds the sitemap; never parses XML

import boto3
from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ValidationError

from clinic.articles.models import (
    Article,
    ArticlePage,
    ArticleSummary,
    FeedEntry,
    PublishedFeed,
    PublishedIndex,
    TagCount,
    TagList,
)
from clinic.articles.published import FEED_KEY, INDEX_KEY, article_key, position, sort_key
from clinic.common.aws import API_CLIENT_CONFIG, LazyClient
from clinic.common.errors import FieldProblem, NotFound, ServiceUnavailable, ValidationFailed

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

logger = Logger(child=True)
ModelT = TypeVar("ModelT", bound=BaseModel)
SummaryT = TypeVar("SummaryT", bound=ArticleSummary)

RETRY_AFTER_SECONDS = 5
RELATED_LIMIT = 3
SITEMAP_NAMESPACE = "http://www.sitemaps.org/schemas/sitemap/0.9"


class MissingObject(Exception):
    """The key is not in the bucket (a publish removed it, or never wrote it)."""


class PublishedContent:
    """Published JSON objects, each kept in this container for `ttl_seconds` once read.

    A small dict rather than Powertools' parameter providers: those wrap every S3 error in
    one exception type, and this cache must tell a missing object from an S3 outage.
    """

    def __init__(
        self,
        bucket: str,
        prefix: str,
        ttl_seconds: float,
        s3_client: S3Client | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._bucket = bucket
        self._prefix = prefix
        self._ttl = ttl_seconds
        self._s3 = LazyClient(s3_client, lambda: boto3.client("s3", config=API_CLIENT_CONFIG))
        self._clock = clock
        self._cache: dict[str, tuple[float, BaseModel]] = {}

    def get(self, key: str, model: type[ModelT], *, refresh: bool = False) -> ModelT:
        cached = self._cache.get(key)
        if cached and not refresh and cached[0] > self._clock():
            return cached[1]  # type: ignore[return-value]
        value = model.model_validate_json(self._read(key))
        self._cache[key] = (self._clock() + self._ttl, value)
        return value

    def _read(self, key: str) -> bytes:
        try:
            response = self._s3().get_object(Bucket=self._bucket, Key=self._prefix + key)
            return response["Body"].read()
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            # Without s3:ListBucket (which this role does not have), S3 answers a missing key
            # with 403 AccessDenied, not 404: both mean "not there" to a reader.
            if code in {"NoSuchKey", "404", "AccessDenied", "403"}:
                raise MissingObject(key) from None
            logger.warning("S3 read failed", extra={"key": key, "error_code": code})
            raise ServiceUnavailable(retry_after=RETRY_AFTER_SECONDS) from None
        except BotoCoreError as error:
            logger.warning("S3 unreachable", extra={"key": key, "error_type": type(error).__name__})
            raise ServiceUnavailable(retry_after=RETRY_AFTER_SECONDS) from None


@dataclass(frozen=True)
class Redirect:
    """The slug asked for is an alias; the article lives at `slug`."""

    slug: str


@dataclass(frozen=True)
class SiteLinks:
    """Where the site shows things, for feed and sitemap links."""

    base_url: str
    article_path_pattern: str
    name: str

    def article_url(self, slug: str) -> str:
        return self.site_url(self.article_path_pattern.format(slug=slug))

    def site_url(self, url: str) -> str:
        """A site path (`/images/x.jpg`) as an absolute URL under the base; an https URL as it is.

        Readers of the API (feed readers, other sites) would resolve a bare path against the
        API's host, where there is no such file."""
        return self.base_url.rstrip("/") + url if url.startswith("/") else url

    def on_site(self, summary: SummaryT) -> SummaryT:
        """`summary` with its image's URL absolute."""
        if summary.image is None or not summary.image.url.startswith("/"):
            return summary
        image = summary.image.model_copy(update={"url": self.site_url(summary.image.url)})
        return summary.model_copy(update={"image": image})


def encode_cursor(summary: ArticleSummary) -> str:
    raw = f"{summary.published_at.isoformat()}|{summary.slug}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[float, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        published_at, slug = raw.split("|", 1)
        return sort_key(datetime.fromisoformat(published_at), slug)
    except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError):
        problem = FieldProblem(
            field="cursor", message="This page link has expired; start from the first page."
        )
        raise ValidationFailed(fields=[problem]) from None


class ArticleCatalog:
    """The articles a reader may see now: published, not drafts, not future-dated."""

    def __init__(self, content: PublishedContent, links: SiteLinks) -> None:
        self._content = content
        self.links = links

    def _index(self, *, refresh: bool = False) -> PublishedIndex:
        try:
            return self._content.get(INDEX_KEY, PublishedIndex, refresh=refresh)
        except (MissingObject, ValidationError):
            logger.error("The published index is missing or unreadable; run `clinic publish`")
            raise ServiceUnavailable(retry_after=RETRY_AFTER_SECONDS) from None

    def published(self, now: datetime) -> list[ArticleSummary]:
        return [summary for summary in self._index().articles if summary.is_published(now)]

    def page(self, *, now: datetime, limit: int, cursor: str | None, tag: str | None) -> ArticlePage:
        items = self.published(now)
        if tag is not None:
            items = [summary for summary in items if tag in summary.tags]
        start = bisect_right(items, decode_cursor(cursor), key=position) if cursor else 0
        window = items[start : start + limit]
        has_more = start + limit < len(items)
        next_cursor = encode_cursor(window[-1]) if has_more else None
        return ArticlePage(items=[self.links.on_site(item) for item in window], next_cursor=next_cursor)

    def article(self, slug: str, now: datetime) -> Article | Redirect:
        index = self._index()
        listed = {summary.slug: summary for summary in index.articles if summary.is_published(now)}
        if slug not in listed:
            target = index.aliases.get(slug)
            if target in listed:
                return Redirect(slug=target)
            raise NotFound()
        try:
            article = self._content.get(article_key(slug), Article)
        except MissingObject:
            # A publish removed it after this container read the index: ask the index again.
            if slug in {summary.slug for summary in self._index(refresh=True).articles}:
                raise ServiceUnavailable(retry_after=RETRY_AFTER_SECONDS) from None
            raise NotFound() from None
        except ValidationError:
            logger.error("A published article is unreadable", extra={"slug": slug})
            raise ServiceUnavailable(retry_after=RETRY_AFTER_SECONDS) from None
        related = [self.links.on_site(summary) for summary in article.related if summary.slug in listed][
            :RELATED_LIMIT
        ]
        canonical = article.canonical_url or self.links.article_url(slug)
        on_site = self.links.on_site(article)
        return on_site.model_copy(update={"related": related, "canonical_url": canonical})

    def tags(self, now: datetime) -> TagList:
        published = self.published(now)
        counts = Counter(tag for summary in published for tag in summary.tags)
        names = {topic.tag: topic.name for summary in published for topic in summary.topics}
        ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        return TagList(
            items=[TagCount(tag=tag, name=names.get(tag, tag), count=count) for tag, count in ordered]
        )

    def feed_entries(self, now: datetime, limit: int) -> list[FeedEntry]:
        try:
            feed = self._content.get(FEED_KEY, PublishedFeed)
        except (MissingObject, ValidationError):
            logger.error("The published feed is missing or unreadable; run `clinic publish`")
            raise ServiceUnavailable(retry_after=RETRY_AFTER_SECONDS) from None
        entries = [entry for entry in feed.entries if entry.is_published(now)][:limit]
        return [self.links.on_site(entry) for entry in entries]


def render_json_feed(entries: list[FeedEntry], links: SiteLinks, feed_url: str) -> dict[str, Any]:
    """A JSON Feed 1.1 document (https://www.jsonfeed.org/version/1.1/)."""
    items = []
    for entry in entries:
        url = links.article_url(entry.slug)
        item: dict[str, Any] = {
            "id": url,
            "url": url,
            "title": entry.title,
            "summary": entry.summary,
            "content_html": entry.content_html,
            "date_published": entry.published_at.isoformat().replace("+00:00", "Z"),
            "date_modified": entry.updated_at.isoformat().replace("+00:00", "Z"),
            "tags": [topic.name for topic in entry.topics] or entry.tags,  # what feed readers show
            "authors": [{"name": entry.author.name}],
        }
        if entry.image:
            item["image"] = entry.image.url
        items.append(item)
    return {
        "version": "https://jsonfeed.org/version/1.1",
        "title": links.name,
        "home_page_url": links.base_url,
        "feed_url": feed_url,
        "language": "en",
        "items": items,
    }


def render_sitemap(summaries: list[ArticleSummary], links: SiteLinks) -> str:
    """A sitemaps.org urlset of the article pages on the site."""
    urlset = ElementTree.Element("urlset", xmlns=SITEMAP_NAMESPACE)
    for summary in summaries:
        url = ElementTree.SubElement(urlset, "url")
        ElementTree.SubElement(url, "loc").text = links.article_url(summary.slug)
        ElementTree.SubElement(url, "lastmod").text = summary.updated_at.isoformat()
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(urlset, encoding="unicode")
