"""Editors' articles: validation names the file, field and problem; rendering is safe."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from clinic.articles.models import Article, PublishedIndex
from clinic_infra.content import (
    ContentError,
    build_objects,
    load_article,
    load_site,
    reading_time_minutes,
    render_markdown,
)
from tests.helpers import article_markdown, write_content

REPOSITORY_CONTENT = Path(__file__).resolve().parents[2] / "content"


def test_render_markdown_drops_script_tags_and_their_content() -> None:
    html = render_markdown("Hello\n\n<script>alert('x')</script>\n\nBye")
    assert "<script" not in html
    assert "alert" not in html
    assert "<p>Hello</p>" in html


def test_render_markdown_drops_event_handler_attributes() -> None:
    html = render_markdown('<img src="/a.png" onerror="alert(1)" alt="a">\n\n<p onclick="x()">Hi</p>')
    assert "onerror" not in html
    assert "onclick" not in html
    assert '<img src="/a.png" alt="a">' in html


def test_render_markdown_refuses_javascript_links() -> None:
    html = render_markdown('[click](javascript:alert(1)) and <a href="javascript:alert(2)">raw</a>')
    # Markdown leaves the unsafe link as plain text; the raw tag loses its href.
    assert "href" not in html
    assert '<a rel="noopener noreferrer">raw</a>' in html


def test_render_markdown_keeps_headings_lists_links_and_tables() -> None:
    html = render_markdown(
        "## Risks\n\n- one\n- two\n\n[study](https://doi.org/1)\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
    )
    assert "<h2>Risks</h2>" in html
    assert "<li>one</li>" in html
    assert '<a href="https://doi.org/1" rel="noopener noreferrer">study</a>' in html
    assert "<td>1</td>" in html


def test_reading_time_is_words_over_two_hundred_rounded_up() -> None:
    assert reading_time_minutes("<p>" + "word " * 200 + "</p>") == 1
    assert reading_time_minutes("<p>" + "word " * 201 + "</p>") == 2
    assert reading_time_minutes("<p>one</p>") == 1


def test_invalid_article_error_names_file_field_and_problem(tmp_path: Path) -> None:
    path = tmp_path / "broken.md"
    path.write_text(article_markdown("broken").replace('tags: ["ketamine"]', "tags: []"))
    with pytest.raises(ContentError) as raised:
        load_article(path)
    (problem,) = raised.value.problems
    assert str(path) in problem
    assert "field 'tags'" in problem
    assert "at least 1" in problem


def test_published_at_without_time_zone_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "naive.md"
    path.write_text(article_markdown("naive", published_at="2026-01-01T09:00:00"))
    with pytest.raises(ContentError, match="published_at"):
        load_article(path)


def test_unknown_front_matter_field_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "extra.md"
    path.write_text(article_markdown("extra", extra="colour: blue\n"))
    with pytest.raises(ContentError, match="field 'colour'"):
        load_article(path)


def test_slug_must_match_file_name(tmp_path: Path) -> None:
    path = tmp_path / "other-name.md"
    path.write_text(article_markdown("the-slug"))
    with pytest.raises(ContentError, match="field 'slug'"):
        load_article(path)


def test_article_without_front_matter_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "plain.md"
    path.write_text("# Just text\n")
    with pytest.raises(ContentError, match="no front matter"):
        load_article(path)


def test_alias_used_twice_is_reported_with_both_files(tmp_path: Path) -> None:
    content = write_content(
        tmp_path,
        {"one": article_markdown("one", aliases=["old"]), "two": article_markdown("two", aliases=["old"])},
    )
    with pytest.raises(ContentError) as raised:
        load_site(content)
    assert any("two.md" in problem and "one.md" in problem for problem in raised.value.problems)


def test_all_problems_are_reported_together(tmp_path: Path) -> None:
    content = write_content(
        tmp_path,
        {
            "a": article_markdown("a").replace("slug: a", "slug: A!"),
            "b": article_markdown("b", tags=["Bad Tag"]),
        },
    )
    with pytest.raises(ContentError) as raised:
        load_site(content)
    assert len(raised.value.problems) == 2


def test_missing_disclaimer_is_an_error(tmp_path: Path) -> None:
    content = write_content(tmp_path, {"a": article_markdown("a")}, disclaimer="  ")
    with pytest.raises(ContentError, match="disclaimer"):
        load_site(content)


def test_drafts_are_left_out_of_everything_published(tmp_path: Path) -> None:
    content = write_content(
        tmp_path, {"live": article_markdown("live"), "wip": article_markdown("wip", draft=True)}
    )
    objects = build_objects(load_site(content), datetime(2026, 6, 1, tzinfo=UTC))
    assert "articles/wip.json" not in objects
    assert [s.slug for s in PublishedIndex.model_validate_json(objects["index.json"]).articles] == ["live"]


def test_related_articles_share_tags_most_shared_first(tmp_path: Path) -> None:
    content = write_content(
        tmp_path,
        {
            "base": article_markdown("base", tags=["depression", "ketamine"]),
            "both": article_markdown("both", tags=["depression", "ketamine"]),
            "one": article_markdown("one", tags=["ketamine"]),
            "none": article_markdown("none", tags=["pain"]),
        },
    )
    objects = build_objects(load_site(content), datetime(2026, 6, 1, tzinfo=UTC))
    related = Article.model_validate_json(objects["articles/base.json"]).related
    assert [summary.slug for summary in related] == ["both", "one"]


def test_every_article_carries_the_disclaimer(tmp_path: Path) -> None:
    content = write_content(tmp_path, {"a": article_markdown("a")}, disclaimer="Talk to your clinician.")
    objects = build_objects(load_site(content), datetime(2026, 6, 1, tzinfo=UTC))
    assert Article.model_validate_json(objects["articles/a.json"]).disclaimer == "Talk to your clinician."


def test_repository_articles_are_valid_cited_and_careful() -> None:
    site = load_site(REPOSITORY_CONTENT)
    assert len(site.articles) >= 5
    for article in site.articles:
        assert article.front.references, article.path
        text = article.path.read_text().lower()
        for claim in ("not addictive", "non-addictive", "cure", "guaranteed", "100% safe"):
            assert claim not in text, f"{article.path} says {claim!r}"


def test_a_tag_without_a_display_name_is_a_publish_error_naming_file_and_field(tmp_path: Path) -> None:
    content = write_content(
        tmp_path,
        {
            "named": article_markdown("named"),
            "unnamed": article_markdown("unnamed", tags=["ketamine", "ocd"]),
        },
    )
    with pytest.raises(ContentError) as raised:
        load_site(content)
    (problem,) = raised.value.problems
    assert str(content / "articles" / "unnamed.md") in problem
    assert "field 'tags'" in problem
    assert "'ocd' has no display name" in problem
    assert str(content / "tags.yaml") in problem


def test_without_a_tags_file_every_tag_is_reported(tmp_path: Path) -> None:
    content = write_content(tmp_path, {"a": article_markdown("a", tags=["ketamine", "depression"])})
    (content / "tags.yaml").unlink()
    with pytest.raises(ContentError) as raised:
        load_site(content)
    assert len(raised.value.problems) == 2
    assert all("a.md: field 'tags'" in problem for problem in raised.value.problems)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ketamine: Ketamine\n", "tag 'Ketamine': must be lowercase words joined by hyphens"),
        ('ketamine: ""\n', "tag 'ketamine': the display name must be 1 to 60 characters"),
        ("ketamine: [a, b]\n", "tag 'ketamine': the display name must be 1 to 60 characters"),
        ("- ketamine\n", "must map each tag to its display name"),
        ("ketamine: [unclosed\n", "not valid YAML"),
    ],
)
def test_a_bad_tags_file_is_a_publish_error_naming_it(tmp_path: Path, text: str, expected: str) -> None:
    content = write_content(tmp_path, {"a": article_markdown("a")})
    (content / "tags.yaml").write_text(text)
    with pytest.raises(ContentError) as raised:
        load_site(content)
    (problem,) = raised.value.problems
    assert problem.startswith(f"{content / 'tags.yaml'}: ")
    assert expected in problem


def test_published_summaries_carry_each_tags_display_name(tmp_path: Path) -> None:
    content = write_content(
        tmp_path,
        {"a": article_markdown("a", tags=["depression", "ketamine"]), "b": article_markdown("b")},
        tag_names={"depression": "Depression", "ketamine": "Ketamine treatment"},
    )
    objects = build_objects(load_site(content), datetime(2026, 6, 1, tzinfo=UTC))
    article = Article.model_validate_json(objects["articles/a.json"])
    assert [(topic.tag, topic.name) for topic in article.topics] == [
        ("depression", "Depression"),
        ("ketamine", "Ketamine treatment"),
    ]
    assert article.related[0].topics[0].name == "Ketamine treatment"
    index = PublishedIndex.model_validate_json(objects["index.json"])
    assert {summary.slug: [topic.name for topic in summary.topics] for summary in index.articles} == {
        "a": ["Depression", "Ketamine treatment"],
        "b": ["Ketamine treatment"],
    }
