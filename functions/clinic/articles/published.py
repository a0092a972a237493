"""What the publisher writes and the articles function reads, owned once.

Where the objects live (the prefix and each object's key), in which order (the sort key that
cursors name a position in) and how many entries the feed serves: `clinic publish`
(infrastructure/clinic_infra) and the articles function both import these. template.yaml's
CONTENT_PREFIX and the articles role's s3:GetObject resource name the same prefix; a test
holds them together.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from clinic.articles.models import ArticleSummary

PUBLISHED_PREFIX = "published/"
INDEX_KEY = "index.json"  # every non-draft summary in sort order, and the alias map
FEED_KEY = "feed.json"  # the newest FEED_SIZE published entries, and every future-dated one
FEED_SIZE = 20


def article_key(slug: str) -> str:
    return f"articles/{slug}.json"


def sort_key(published_at: datetime, slug: str) -> tuple[float, str]:
    """Newest first, then by slug: the order of the index and the feed, and of cursors."""
    return (-published_at.timestamp(), slug)


def position(summary: ArticleSummary) -> tuple[float, str]:
    return sort_key(summary.published_at, summary.slug)
