"""The articles handler the template names, answering API Gateway HTTP API events from moto's S3."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import boto3
import pytest

from clinic_infra.publish import publish
from clinic_infra.template import StackTemplate
from tests import faults
from tests.helpers import article_markdown, http_event, write_content
from tests.integration.conftest import invoke, load_handler

# Twelve live articles, one draft, one scheduled for far in the future.
LIVE = [f"article-{number:02d}" for number in range(1, 13)]
TAGS = {
    slug: (["depression", "ketamine"] if number % 3 == 0 else ["ketamine"])
    for number, slug in enumerate(LIVE, 1)
}


def _content(root: Path) -> Path:
    articles = {
        slug: article_markdown(slug, tags=TAGS[slug], published_at=f"2026-03-{number:02d}T09:00:00Z")
        for number, slug in enumerate(LIVE, 1)
    }
    articles["article-01"] = article_markdown(
        "article-01",
        tags=TAGS["article-01"],
        published_at="2026-03-01T09:00:00Z",
        aliases=["old-name"],
        body="## Heading\n\nText with <script>alert(1)</script> and <img src=x onerror=alert(1)>.\n",
    )
    articles["article-03"] = article_markdown(
        "article-03",
        tags=TAGS["article-03"],
        published_at="2026-03-03T09:00:00Z",
        extra="image:\n  url: /images/article-03.jpg\n  alt: A calm room\n",
    )
    articles["draft-piece"] = article_markdown("draft-piece", draft=True)
    articles["next-year"] = article_markdown(
        "next-year", published_at="2099-01-01T09:00:00Z", aliases=["soon"]
    )
    return write_content(root, articles)


Get = Callable[..., dict[str, Any]]


@pytest.fixture
def api(stack: StackTemplate, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Get:
    """GET through the articles handler, after publishing the test content into moto."""
    return _api(stack, tmp_path, monkeypatch)


def _api(stack: StackTemplate, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **parameters: str) -> Get:
    """The articles handler of a stack deployed with `parameters`, serving the test content."""
    publish(_content(tmp_path), stack.refs["ContentBucket"], say=lambda _: None)
    # The function's environment as the template makes it from those parameters (its own bucket).
    deployed = StackTemplate(parameters).functions()["ArticlesFunction"].environment
    settings = {name: value for name, value in deployed.items() if name != "CONTENT_BUCKET"}
    handler = load_handler(stack, "ArticlesFunction", monkeypatch, **settings)
    routes: dict[str, set[str]] = {}
    for route in stack.http_routes():
        if route.function == "ArticlesFunction":
            routes.setdefault(route.path, set()).add(route.method)

    def get(
        path: str,
        *,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        method: str = "GET",
    ) -> dict[str, Any]:
        route = "/articles/{slug}" if path.startswith("/articles/") else path
        assert route in routes
        assert method in routes[route], f"the template deploys no {method} {route}"
        parameters = {"slug": path.removeprefix("/articles/")} if route == "/articles/{slug}" else None
        event = http_event(
            method, path, route=route, query=query, headers=headers, path_parameters=parameters
        )
        return invoke(handler, event)

    return get


def _body(response: dict[str, Any]) -> Any:
    return json.loads(response["body"])


def _error(response: dict[str, Any]) -> dict[str, Any]:
    assert response["headers"]["Content-Type"] == "application/json"
    return _body(response)["error"]  # type: ignore[no-any-return]


def test_list_is_newest_first_ten_by_default(api: Get) -> None:
    response = api("/articles")
    page = _body(response)
    assert response["statusCode"] == 200
    assert [item["slug"] for item in page["items"]] == list(reversed(LIVE))[:10]
    assert page["next_cursor"]


def test_pagination_visits_every_published_article_exactly_once(api: Get) -> None:
    for limit in (1, 5, 7, 50):
        seen: list[str] = []
        cursor = None
        while True:
            query = {"limit": str(limit), **({"cursor": cursor} if cursor else {})}
            page = _body(api("/articles", query=query))
            seen += [item["slug"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == list(reversed(LIVE)), f"limit={limit}"


def test_tag_filter_lists_only_articles_with_that_tag(api: Get) -> None:
    page = _body(api("/articles", query={"tag": "depression", "limit": "50"}))
    assert [item["slug"] for item in page["items"]] == [
        "article-12",
        "article-09",
        "article-06",
        "article-03",
    ]
    assert _body(api("/articles", query={"tag": "unknown-tag"})) == {"items": [], "next_cursor": None}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "51"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"tag": "Not A Tag"}, "tag"),
        ({"cursor": "%%%not-a-cursor"}, "cursor"),
        ({"cursor": "bm90IGEgY3Vyc29y"}, "cursor"),
    ],
)
def test_bad_list_parameters_answer_422_naming_the_parameter(
    api: Get, query: dict[str, str], field: str
) -> None:
    response = api("/articles", query=query)
    error = _error(response)
    assert response["statusCode"] == 422
    assert error["code"] == "validation_error"
    assert [problem["field"] for problem in error["fields"]] == [field]
    assert query[field] not in response["body"]


def test_article_has_sanitized_body_disclaimer_references_and_related(api: Get) -> None:
    response = api("/articles/article-01")
    article = _body(response)
    assert response["statusCode"] == 200
    assert "<h2>Heading</h2>" in article["body_html"]
    assert "<script" not in article["body_html"]
    assert "onerror" not in article["body_html"]
    assert article["disclaimer"] == "Not medical advice."
    assert article["references"] == [{"title": "A study", "url": "https://doi.org/10.1000/example"}]
    assert len(article["related"]) == 3
    assert all(item["slug"] in LIVE for item in article["related"])
    assert article["canonical_url"] == "https://www.example-clinic.com/article.html?slug=article-01"


def test_alias_redirects_permanently_to_the_current_slug(api: Get) -> None:
    response = api("/articles/old-name")
    assert response["statusCode"] == 301
    # Absolute, under the API's own URL (no custom domain by default; the event's API id)
    assert (
        response["headers"]["Location"]
        == "https://abc123.execute-api.us-east-1.amazonaws.com/articles/article-01"
    )


@pytest.mark.parametrize(
    "slug",
    ["no-such-article", "draft-piece", "next-year", "soon", "Article-01", "a--b", "x" * 101, "..", "a.json"],
)
def test_unknown_unpublished_or_malformed_slug_is_404(api: Get, slug: str) -> None:
    response = api(f"/articles/{slug}")
    assert response["statusCode"] == 404
    assert _error(response)["code"] == "not_found"
    assert slug not in response["body"]


def test_drafts_and_future_articles_are_never_listed(api: Get) -> None:
    slugs = {item["slug"] for item in _body(api("/articles", query={"limit": "50"}))["items"]}
    assert slugs == set(LIVE)
    tags = {item["tag"]: item["count"] for item in _body(api("/tags"))["items"]}
    assert tags == {"ketamine": 12, "depression": 4}


def test_tags_and_articles_name_each_tag_as_readers_see_it(api: Get) -> None:
    assert _body(api("/tags"))["items"] == [
        {"tag": "ketamine", "name": "Ketamine", "count": 12},
        {"tag": "depression", "name": "Depression", "count": 4},
    ]
    listed = _body(api("/articles", query={"tag": "depression", "limit": "1"}))["items"][0]
    assert listed["tags"] == ["depression", "ketamine"]
    assert listed["topics"] == [
        {"tag": "depression", "name": "Depression"},
        {"tag": "ketamine", "name": "Ketamine"},
    ]
    article = _body(api("/articles/article-03"))
    assert [topic["name"] for topic in article["topics"]] == ["Depression", "Ketamine"]
    assert all(related["topics"] for related in article["related"])
    feed = _body(api("/feed.json"))
    assert feed["items"][0]["tags"] == ["Depression", "Ketamine"]


def test_strong_etag_and_if_none_match_give_304(api: Get) -> None:
    first = api("/articles/article-02")
    etag = first["headers"]["ETag"]
    assert etag.startswith('"')  # strong: no W/ prefix
    again = api("/articles/article-02", headers={"If-None-Match": etag})
    assert again["statusCode"] == 304
    assert again["body"] == ""
    assert again["headers"]["ETag"] == etag
    assert api("/articles/article-02", headers={"If-None-Match": '"stale"'})["statusCode"] == 200
    listed = api("/articles")
    assert (
        api("/articles", headers={"If-None-Match": f'"x", {listed["headers"]["ETag"]}'})["statusCode"] == 304
    )


@pytest.mark.parametrize(
    "if_none_match",
    [
        "W/{etag}",  # RFC 9110 8.8.3.2: If-None-Match uses the weak comparison
        '"a", W/{etag}',
        '"a",{etag}',
        "*",
    ],
)
def test_weak_listed_and_wildcard_if_none_match_give_304(api: Get, if_none_match: str) -> None:
    for path in ("/articles", "/articles/article-02"):
        etag = api(path)["headers"]["ETag"]
        again = api(path, headers={"If-None-Match": if_none_match.format(etag=etag)})
        assert again["statusCode"] == 304, (path, if_none_match)
        assert again["body"] == ""
        assert again["headers"]["ETag"] == etag


def test_if_none_match_naming_other_etags_gets_the_article(api: Get) -> None:
    assert api("/articles/article-02", headers={"If-None-Match": 'W/"stale", "other"'})["statusCode"] == 200


@pytest.mark.parametrize("path", ["/articles", "/articles/article-03", "/tags", "/feed.json", "/sitemap.xml"])
def test_head_answers_as_get_without_a_body(api: Get, path: str) -> None:
    got = api(path)
    head = api(path, method="HEAD")
    assert head["statusCode"] == 200
    assert head["body"] == ""
    assert got["body"] != ""
    for header in ("ETag", "Cache-Control", "Content-Type"):
        assert head["headers"][header] == got["headers"][header], header
    revalidated = api(path, method="HEAD", headers={"If-None-Match": got["headers"]["ETag"]})
    assert revalidated["statusCode"] == 304


def test_head_of_a_missing_or_moved_article_answers_its_status_without_a_body(api: Get) -> None:
    missing = api("/articles/no-such-article", method="HEAD")
    assert (missing["statusCode"], missing["body"]) == (404, "")
    assert missing["headers"]["Cache-Control"] == "no-store"
    moved = api("/articles/old-name", method="HEAD")
    assert (moved["statusCode"], moved["body"]) == (301, "")
    assert moved["headers"]["Location"].endswith("/articles/article-01")


def test_article_answers_carry_the_configured_cache_control(api: Get) -> None:
    for path in ("/articles", "/articles/article-03"):
        assert api(path)["headers"]["Cache-Control"] == "public, max-age=60, s-maxage=300"
    assert api("/articles/missing")["headers"]["Cache-Control"] == "no-store"


def test_json_feed_lists_recent_published_articles_with_site_links(api: Get) -> None:
    response = api("/feed.json")
    feed = _body(response)
    assert response["headers"]["Content-Type"] == "application/feed+json"
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert [item["id"] for item in feed["items"]][:2] == [
        "https://www.example-clinic.com/article.html?slug=article-12",
        "https://www.example-clinic.com/article.html?slug=article-11",
    ]
    assert feed["feed_url"] == "https://abc123.execute-api.us-east-1.amazonaws.com/feed.json"
    assert feed["home_page_url"] == "https://www.example-clinic.com"
    assert len(feed["items"]) == 12
    assert all("content_html" in item for item in feed["items"])


def test_every_link_comes_from_the_deploys_settings_with_their_base_paths(
    stack: StackTemplate, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a site in a folder and the API behind a custom domain's base path
    api = _api(
        stack,
        tmp_path,
        monkeypatch,
        SiteBaseUrl="https://clinic.example.org/learn",
        ArticlePathPattern="/read/{slug}/",
        ApiBaseUrl="https://clinic.example.org/api/",
    )
    # When a request arrives on the execute-api host (what API Gateway reports as its domain)
    feed = _body(api("/feed.json", headers={"Host": "abc123.execute-api.us-east-1.amazonaws.com"}))
    # Then every URL is absolute and under the configured bases, never the request's host
    assert feed["feed_url"] == "https://clinic.example.org/api/feed.json"
    assert feed["home_page_url"] == "https://clinic.example.org/learn"
    assert feed["items"][0]["url"] == "https://clinic.example.org/learn/read/article-12/"
    (pictured,) = [item for item in feed["items"] if "image" in item]
    assert pictured["image"] == "https://clinic.example.org/learn/images/article-03.jpg"
    moved = api("/articles/old-name")
    assert moved["headers"]["Location"] == "https://clinic.example.org/api/articles/article-01"


def test_article_images_are_absolute_urls_on_the_site(api: Get) -> None:
    expected = "https://www.example-clinic.com/images/article-03.jpg"
    listed = _body(api("/articles", query={"limit": "50"}))["items"]
    assert [item["image"]["url"] for item in listed if item.get("image")] == [expected]
    article = _body(api("/articles/article-03"))
    assert article["image"] == {"url": expected, "alt": "A calm room"}
    related = [item for item in _body(api("/articles/article-06"))["related"] if item["slug"] == "article-03"]
    assert all(item["image"]["url"] == expected for item in related)
    feed = _body(api("/feed.json"))
    assert [item["image"] for item in feed["items"] if "image" in item] == [expected]


def test_sitemap_lists_published_article_pages(api: Get) -> None:
    response = api("/sitemap.xml")
    root = ElementTree.fromstring(response["body"])  # noqa: S314 - the handler's own output
    namespace = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    locations = [node.text for node in root.findall("s:url/s:loc", namespace)]
    assert response["headers"]["Content-Type"] == "application/xml"
    assert len(locations) == 12
    assert "https://www.example-clinic.com/article.html?slug=article-12" in locations
    assert "https://www.example-clinic.com/article.html?slug=next-year" not in locations


def test_missing_index_answers_503_with_retry_after(
    stack: StackTemplate, monkeypatch: pytest.MonkeyPatch
) -> None:
    handler = load_handler(stack, "ArticlesFunction", monkeypatch)  # nothing published
    response = invoke(handler, http_event("GET", "/articles"))
    assert response["statusCode"] == 503
    assert _error(response)["code"] == "service_unavailable"
    assert int(response["headers"]["Retry-After"]) > 0


@pytest.mark.parametrize(
    "fault",
    [
        faults.unreachable,
        lambda: faults.aws_error("AccessDenied", 403),
        lambda: faults.aws_error("SlowDown", 503),
    ],
)
def test_s3_failure_answers_503(
    stack: StackTemplate,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    boto_hooks: Callable[..., None],
    fault: Callable[[], faults.Fault],
) -> None:
    publish(_content(tmp_path), stack.refs["ContentBucket"], say=lambda _: None)
    faults.inject(boto_hooks, "s3.GetObject", fault())
    handler = load_handler(stack, "ArticlesFunction", monkeypatch)
    for path, route in (("/articles", "/articles"), ("/articles/article-01", "/articles/{slug}")):
        event = http_event(
            "GET", path, route=route, path_parameters={"slug": "article-01"} if "{" in route else None
        )
        response = invoke(handler, event)
        assert response["statusCode"] == 503
        assert _error(response)["code"] == "service_unavailable"


def test_warm_container_reads_s3_once_per_cache_period(
    stack: StackTemplate, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, boto_hooks: Callable[..., None]
) -> None:
    publish(_content(tmp_path), stack.refs["ContentBucket"], say=lambda _: None)
    reads: list[str] = []
    boto_hooks("before-parameter-build.s3.GetObject", lambda params, **_: reads.append(params["Key"]))
    handler = load_handler(stack, "ArticlesFunction", monkeypatch, CACHE_TTL_SECONDS="0.5")
    # When the list, tags and sitemap are asked for many times within the cache period
    for _ in range(5):
        for path in ("/articles", "/tags", "/sitemap.xml"):
            assert invoke(handler, http_event("GET", path))["statusCode"] == 200
    # Then S3 was read once, for the index
    assert reads == ["published/index.json"]
    # And once the period has passed, the next request reads it again
    time.sleep(0.6)
    invoke(handler, http_event("GET", "/articles"))
    assert reads == ["published/index.json", "published/index.json"]


def test_new_publish_is_served_after_the_cache_period(
    stack: StackTemplate, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    content = _content(tmp_path)
    publish(content, stack.refs["ContentBucket"], say=lambda _: None)
    handler = load_handler(stack, "ArticlesFunction", monkeypatch, CACHE_TTL_SECONDS="0")
    assert invoke(handler, http_event("GET", "/articles"))["statusCode"] == 200
    (content / "articles" / "article-12.md").unlink()
    publish(content, stack.refs["ContentBucket"], say=lambda _: None)
    event = http_event(
        "GET", "/articles/article-12", route="/articles/{slug}", path_parameters={"slug": "article-12"}
    )
    assert invoke(handler, event)["statusCode"] == 404
    assert (
        boto3.client("s3").list_objects_v2(
            Bucket=stack.refs["ContentBucket"], Prefix="published/articles/article-12"
        )["KeyCount"]
        == 0
    )


def test_an_article_removed_after_the_index_was_cached_is_404_even_when_s3_says_access_denied(
    stack: StackTemplate, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, boto_hooks: Callable[..., None]
) -> None:
    # Given a warm container that read the index before article-12 was unpublished
    content = _content(tmp_path)
    publish(content, stack.refs["ContentBucket"], say=lambda _: None)
    handler = load_handler(stack, "ArticlesFunction", monkeypatch)
    assert invoke(handler, http_event("GET", "/articles"))["statusCode"] == 200
    (content / "articles" / "article-12.md").unlink()
    publish(content, stack.refs["ContentBucket"], say=lambda _: None)
    # And S3 answering the missing key as it does without s3:ListBucket: 403, not 404
    fault = faults.aws_error("AccessDenied", 403)

    def spot(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["deny"] = params["Key"].endswith("article-12.json")

    boto_hooks("before-parameter-build.s3.GetObject", spot)
    boto_hooks(
        "before-call.s3.GetObject",
        lambda context, **kw: fault.hook(**kw) if context.get("deny") else None,
        first=True,
    )
    # When a reader asks for it, Then it is gone (404), not an outage (503)
    event = http_event(
        "GET", "/articles/article-12", route="/articles/{slug}", path_parameters={"slug": "article-12"}
    )
    assert invoke(handler, event)["statusCode"] == 404
