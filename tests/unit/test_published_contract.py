"""The publisher and the articles function share one contract: keys, order, feed size."""

from __future__ import annotations

import importlib
from bisect import bisect_right
from datetime import UTC, datetime
from pathlib import Path

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from pydantic import BaseModel

from clinic.articles.models import ListQuery, PublishedFeed, PublishedIndex
from clinic.articles.published import FEED_KEY, FEED_SIZE, INDEX_KEY, article_key, position
from clinic.articles.service import decode_cursor, encode_cursor
from clinic.common.http import QUERY_MODELS, get_with_query
from clinic_infra.content import build_objects, load_site
from tests.helpers import article_markdown, write_content

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def _site(tmp_path: Path, published: list[str]) -> dict[str, bytes]:
    articles = {
        f"a-{n:02d}": article_markdown(f"a-{n:02d}", published_at=when) for n, when in enumerate(published)
    }
    return build_objects(load_site(write_content(tmp_path, articles)), NOW)


def test_the_publisher_writes_the_keys_the_reader_reads(tmp_path: Path) -> None:
    objects = _site(tmp_path, ["2026-01-01T09:00:00Z", "2026-02-01T09:00:00Z"])
    assert set(objects) == {article_key("a-00"), article_key("a-01"), INDEX_KEY, FEED_KEY}


def test_a_cursor_names_a_position_in_the_order_the_publisher_wrote(tmp_path: Path) -> None:
    # Three articles at one moment (ordered by slug) and one older
    same = "2026-03-01T09:00:00Z"
    objects = _site(tmp_path, [same, "2026-01-01T09:00:00Z", same, same])
    index = PublishedIndex.model_validate_json(objects[INDEX_KEY]).articles
    assert [summary.slug for summary in index] == ["a-00", "a-02", "a-03", "a-01"]
    for place, summary in enumerate(index):
        assert decode_cursor(encode_cursor(summary)) == position(summary)
        # the reader resumes right after the article the cursor names
        assert bisect_right(index, decode_cursor(encode_cursor(summary)), key=position) == place + 1


def test_the_feed_holds_the_newest_feed_size_published_entries_and_every_future_one(tmp_path: Path) -> None:
    past = [f"2026-01-{day:02d}T09:00:00Z" for day in range(1, FEED_SIZE + 4)]
    objects = _site(tmp_path, [*past, "2026-12-01T09:00:00Z"])
    entries = PublishedFeed.model_validate_json(objects[FEED_KEY]).entries
    published = [entry for entry in entries if entry.is_published(NOW)]
    assert len(published) == FEED_SIZE
    assert len(entries) == FEED_SIZE + 1
    assert entries == sorted(entries, key=position)


class _Query(BaseModel):
    page: int = 1


def test_a_route_declared_with_its_query_model_registers_it_for_the_openapi_document() -> None:
    app = APIGatewayHttpResolver()

    @get_with_query(app, "/things", _Query)
    def things() -> Response[str]:
        return Response(status_code=200, body="")

    assert QUERY_MODELS[("GET", "/things")] is _Query
    del QUERY_MODELS[("GET", "/things")]


def test_the_article_list_registers_its_query_model() -> None:
    importlib.import_module("clinic.articles.handler")  # importing it declares its routes
    assert QUERY_MODELS[("GET", "/articles")] is ListQuery
