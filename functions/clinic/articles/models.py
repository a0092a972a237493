"""Article shapes: what the API answers and what the publisher writes to S3.

The publisher (infrastructure/) builds these same models, so the JSON in the bucket and
the API contract cannot drift apart.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
SLUG_MAX_LENGTH = 100


class _Shape(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Author(_Shape):
    name: str
    credentials: str | None = None


class Image(_Shape):
    url: str
    alt: str


class Reviewer(_Shape):
    name: str
    credentials: str


class MedicalReview(_Shape):
    reviewer: Reviewer
    reviewed_at: AwareDatetime


class Reference(_Shape):
    title: str
    url: str


class Topic(_Shape):
    """A tag with the name readers see (content/tags.yaml)."""

    tag: str = Field(description="The tag's slug, as `tag` in GET /articles?tag=.")
    name: str = Field(description="What the site shows, e.g. 'Treatment-resistant depression'.")


class ArticleSummary(_Shape):
    slug: str
    title: str
    summary: str
    tags: list[str] = Field(description="Tag slugs; `topics` has the same tags with their names.")
    # A default: objects published before tags had names still read (the reader shows slugs).
    topics: list[Topic] = Field(default_factory=list, description="The tags, in order, with display names.")
    author: Author
    published_at: AwareDatetime
    updated_at: AwareDatetime
    reading_time_minutes: int
    image: Image | None = None

    def is_published(self, now: datetime) -> bool:
        return self.published_at <= now


class Article(ArticleSummary):
    body_html: str = Field(description="Sanitized HTML rendered from the article's Markdown.")
    medical_review: MedicalReview | None = None
    references: list[Reference]
    disclaimer: str
    related: list[ArticleSummary] = Field(description="At most 3 published articles sharing tags.")
    canonical_url: str | None = None


class ListQuery(BaseModel):
    """GET /articles query parameters (unknown ones are ignored, as usual for a query string)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    limit: int = Field(default=10, ge=1, le=50, description="Articles per page.")
    cursor: str | None = Field(
        default=None, max_length=256, description="`next_cursor` of the previous page."
    )
    tag: str | None = Field(
        default=None,
        max_length=SLUG_MAX_LENGTH,
        pattern=SLUG_PATTERN,
        description="Only articles with this tag.",
    )


class ArticlePage(_Shape):
    items: list[ArticleSummary]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last.")


class TagCount(_Shape):
    tag: str
    name: str
    count: int


class TagList(_Shape):
    items: list[TagCount]


class FeedEntry(ArticleSummary):
    content_html: str


# What the publisher writes under the content prefix.
class PublishedIndex(_Shape):
    """`index.json`: every non-draft article's summary, newest first, and the alias map."""

    articles: list[ArticleSummary]
    aliases: dict[str, str]


class PublishedFeed(_Shape):
    """`feed.json`: the newest entries with their bodies, plus every future-dated one."""

    entries: list[FeedEntry]
