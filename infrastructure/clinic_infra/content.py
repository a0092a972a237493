"""Editors' Markdown articles: load, validate, render to sanitized HTML, build the published JSON.

Everything here happens before anything is uploaded, so one bad article stops a publish
with the file, the field and the problem, and the bucket stays as it was.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import nh3
import yaml
from markdown_it import MarkdownIt
from mdit_py_plugins.front_matter import front_matter_plugin
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, HttpUrl, ValidationError, model_validator

from clinic.articles.models import (
    SLUG_MAX_LENGTH,
    SLUG_PATTERN,
    Article,
    ArticleSummary,
    Author,
    FeedEntry,
    Image,
    MedicalReview,
    PublishedFeed,
    PublishedIndex,
    Reference,
    Topic,
)
from clinic.articles.published import FEED_KEY, FEED_SIZE, INDEX_KEY, article_key, position

WORDS_PER_MINUTE = 200
RELATED_CANDIDATES = 6  # the API shows 3; spares cover related articles not yet published
ARTICLES_DIR = "articles"
DISCLAIMER_FILE = "disclaimer.md"
TAGS_FILE = "tags.yaml"
TAG_NAME_MAX_LENGTH = 60

_markdown = (
    MarkdownIt("commonmark", {"html": True, "typographer": True})
    .use(front_matter_plugin)
    .enable(["table", "replacements", "smartquotes"])
)
_ALLOWED_TAGS = {
    "p", "br", "hr", "h2", "h3", "h4", "h5", "h6", "strong", "em", "b", "i", "blockquote", "code", "pre",
    "ul", "ol", "li", "a", "img", "table", "thead", "tbody", "tr", "th", "td", "sup", "sub", "abbr",
}  # fmt: skip
_ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "abbr": {"title"},
    "th": {"align"},
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ImageIn(_Strict):
    url: str = Field(pattern=r"^(https://|/)\S+$")
    alt: str = Field(min_length=1, max_length=300)


class ReferenceIn(_Strict):
    title: str = Field(min_length=1, max_length=400)
    url: HttpUrl


class FrontMatter(_Strict):
    """The YAML block at the top of every article."""

    title: str = Field(min_length=1, max_length=200)
    slug: str = Field(pattern=SLUG_PATTERN, max_length=SLUG_MAX_LENGTH)
    summary: str = Field(min_length=1, max_length=300)
    tags: list[str] = Field(min_length=1, max_length=10)
    author: Author
    published_at: AwareDatetime
    updated_at: AwareDatetime
    draft: bool = False
    aliases: list[str] = Field(default_factory=list)
    image: ImageIn | None = None
    medical_review: MedicalReview | None = None
    references: list[ReferenceIn] = Field(min_length=1)
    canonical_url: HttpUrl | None = None

    @model_validator(mode="after")
    def _consistent(self) -> FrontMatter:
        for name, values in (("tags", self.tags), ("aliases", self.aliases)):
            if len(set(values)) != len(values):
                raise ValueError(f"{name} must not repeat a value")
            if any(not re.fullmatch(SLUG_PATTERN, value) for value in values):
                raise ValueError(f"{name} must be lowercase words joined by hyphens")
        if self.slug in self.aliases:
            raise ValueError("aliases must not contain the article's own slug")
        if self.updated_at < self.published_at:
            raise ValueError("updated_at must not be before published_at")
        return self


@dataclass(frozen=True)
class SourceArticle:
    """One Markdown file, validated and rendered."""

    path: Path
    front: FrontMatter
    body_html: str
    reading_time_minutes: int

    def summary(self, tag_names: dict[str, str]) -> ArticleSummary:
        front = self.front
        image = Image(url=front.image.url, alt=front.image.alt) if front.image else None
        return ArticleSummary(
            slug=front.slug,
            title=front.title,
            summary=front.summary,
            tags=front.tags,
            topics=[Topic(tag=tag, name=tag_names[tag]) for tag in front.tags],
            author=front.author,
            published_at=front.published_at,
            updated_at=front.updated_at,
            reading_time_minutes=self.reading_time_minutes,
            image=image,
        )


class ContentError(Exception):
    """One or more articles are invalid; `problems` says where and why."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


def render_markdown(markdown: str) -> str:
    """Markdown (front matter ignored) to HTML with only safe tags, attributes and URL schemes."""
    return nh3.clean(
        _markdown.render(markdown),
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )


def reading_time_minutes(html: str) -> int:
    words = len(re.findall(r"\w+", nh3.clean(html, tags=set())))
    return max(1, math.ceil(words / WORDS_PER_MINUTE))


def _front_matter_text(markdown: str) -> str | None:
    tokens = _markdown.parse(markdown)
    if tokens and tokens[0].type == "front_matter":
        return tokens[0].content
    return None


def _describe(error: ValidationError) -> Iterable[str]:
    for detail in error.errors():
        field = ".".join(str(part) for part in detail["loc"]) or "front matter"
        yield f"field '{field}': {detail['msg']}"


def load_article(path: Path) -> SourceArticle:
    """Parse and validate one file; raises ContentError naming the file, field and problem."""
    markdown = path.read_text(encoding="utf-8")
    front_text = _front_matter_text(markdown)
    if front_text is None:
        raise ContentError([f"{path}: no front matter (a YAML block between '---' lines at the top)"])
    try:
        data: Any = yaml.safe_load(front_text)
    except yaml.YAMLError as error:
        raise ContentError([f"{path}: front matter is not valid YAML: {error}"]) from None
    if not isinstance(data, dict):
        raise ContentError([f"{path}: front matter must be a mapping of fields"])
    try:
        front = FrontMatter.model_validate(data)
    except ValidationError as error:
        raise ContentError([f"{path}: {problem}" for problem in _describe(error)]) from None
    if path.stem != front.slug:
        raise ContentError([f"{path}: field 'slug': must match the file name ({path.stem}.md)"])
    body_html = render_markdown(markdown)
    return SourceArticle(path, front, body_html, reading_time_minutes(body_html))


@dataclass(frozen=True)
class Site:
    """Every non-draft article, the disclaimer every article carries and the tags' names."""

    articles: list[SourceArticle]
    disclaimer: str
    tag_names: dict[str, str]


def load_tag_names(path: Path) -> tuple[dict[str, str], list[str]]:
    """content/tags.yaml: tag slug -> the name readers see; and the problems found in it."""
    if not path.is_file():
        return {}, []  # each article's tags are then reported as having no name
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        return {}, [f"{path}: not valid YAML: {error}"]
    if data is None:
        return {}, []
    if not isinstance(data, dict):
        return {}, [f"{path}: must map each tag to its display name (tag: Name)"]
    names: dict[str, str] = {}
    problems: list[str] = []
    for tag, name in data.items():
        if not isinstance(tag, str) or not re.fullmatch(SLUG_PATTERN, tag):
            problems.append(f"{path}: tag '{tag}': must be lowercase words joined by hyphens")
        elif not isinstance(name, str) or not name.strip() or len(name.strip()) > TAG_NAME_MAX_LENGTH:
            limit = TAG_NAME_MAX_LENGTH
            problems.append(f"{path}: tag '{tag}': the display name must be 1 to {limit} characters")
        else:
            names[tag] = name.strip()
    return names, problems


def load_site(content_dir: Path) -> Site:
    """Load and validate every article; all problems are reported together."""
    problems: list[str] = []
    articles: list[SourceArticle] = []
    disclaimer_path = content_dir / DISCLAIMER_FILE
    disclaimer = disclaimer_path.read_text(encoding="utf-8").strip() if disclaimer_path.is_file() else ""
    if not disclaimer:
        problems.append(f"{disclaimer_path}: the disclaimer every article carries is missing or empty")
    tags_path = content_dir / TAGS_FILE
    tag_names, tag_problems = load_tag_names(tags_path)
    problems.extend(tag_problems)
    for path in sorted((content_dir / ARTICLES_DIR).glob("*.md")):
        try:
            articles.append(load_article(path))
        except ContentError as error:
            problems.extend(error.problems)
    problems.extend(_cross_article_problems(articles))
    problems.extend(
        f"{article.path}: field 'tags': '{tag}' has no display name in {tags_path}"
        for article in articles
        for tag in article.front.tags
        if tag not in tag_names and not tag_problems
    )
    if problems:
        raise ContentError(problems)
    return Site([article for article in articles if not article.front.draft], disclaimer, tag_names)


def _cross_article_problems(articles: list[SourceArticle]) -> list[str]:
    owners: dict[str, Path] = {}
    problems = []
    for article in articles:
        for name in (article.front.slug, *article.front.aliases):
            if name in owners:
                problems.append(
                    f"{article.path}: field 'aliases': '{name}' is already used by {owners[name]}"
                )
            owners.setdefault(name, article.path)
    return problems


def _related(
    article: SourceArticle, others: list[SourceArticle], tag_names: dict[str, str]
) -> list[ArticleSummary]:
    tags = set(article.front.tags)
    scored = [
        (len(tags & set(other.front.tags)), other.summary(tag_names))
        for other in others
        if other.front.slug != article.front.slug and tags & set(other.front.tags)
    ]
    scored.sort(key=lambda pair: (-pair[0], position(pair[1])))
    return [summary for _, summary in scored[:RELATED_CANDIDATES]]


def build_objects(site: Site, now: datetime) -> dict[str, bytes]:
    """Every object to publish, keyed relative to the prefix; the index and feed come last."""
    objects: dict[str, bytes] = {}
    summaries = sorted((article.summary(site.tag_names) for article in site.articles), key=position)
    for source in site.articles:
        front = source.front
        article = Article(
            **source.summary(site.tag_names).model_dump(),
            body_html=source.body_html,
            medical_review=front.medical_review,
            references=[Reference(title=ref.title, url=str(ref.url)) for ref in front.references],
            disclaimer=site.disclaimer,
            related=_related(source, site.articles, site.tag_names),
            canonical_url=str(front.canonical_url) if front.canonical_url else None,
        )
        objects[article_key(front.slug)] = article.model_dump_json().encode()
    bodies = {source.front.slug: source.body_html for source in site.articles}
    future = [summary for summary in summaries if not summary.is_published(now)]
    recent = [summary for summary in summaries if summary.is_published(now)][:FEED_SIZE]
    entries = [
        FeedEntry(**summary.model_dump(), content_html=bodies[summary.slug]) for summary in future + recent
    ]
    objects[FEED_KEY] = PublishedFeed(entries=sorted(entries, key=position)).model_dump_json().encode()
    aliases = {alias: source.front.slug for source in site.articles for alias in source.front.aliases}
    objects[INDEX_KEY] = PublishedIndex(articles=summaries, aliases=aliases).model_dump_json().encode()
    return objects
