"""What an editor sees while `make dev` runs: a saved change to content/ is on the site at once,
and a bad one is reported without stopping the stack. The stack here publishes a copy of
content/, so that the tests can edit it."""

from __future__ import annotations

import io
import json
import shutil
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from clinic_infra.local.stack import DevConfig, LocalStack
from tests.e2e.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
# The moment to give up waiting for a republish: a bound on the wait, not a timing assertion.
PATIENCE_SECONDS = 30


@dataclass
class EditableStack:
    stack: LocalStack
    content: Path
    console: io.StringIO

    def article_file(self, slug: str) -> Path:
        return self.content / "articles" / f"{slug}.md"

    def edit(self, slug: str, old: str, new: str) -> None:
        path = self.article_file(slug)
        text = path.read_text(encoding="utf-8")
        assert old in text
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    def article(self, slug: str) -> dict[str, Any]:
        url = f"{self.stack.api_url}/articles/{slug}"
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - local URL
            return json.loads(response.read())  # type: ignore[no-any-return]


def _wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + PATIENCE_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {PATIENCE_SECONDS} s: {what}")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def editable(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EditableStack]:
    content = tmp_path_factory.mktemp("editable") / "content"
    shutil.copytree(ROOT / "content", content)
    console = io.StringIO()
    config = DevConfig(
        aws_port=free_port(),
        api_port=free_port(),
        site_port=free_port(),
        content_dir=content,
        stack_name="clinic-edits",
        concurrency=2,
    )
    stack = LocalStack(config, out=console)
    stack.start()
    try:
        yield EditableStack(stack, content, console)
    finally:
        stack.stop()


def test_an_edited_title_shows_on_the_site_while_the_stack_runs(
    browser: Browser, editable: EditableStack
) -> None:
    slug = "ketamine-for-chronic-pain"
    context = browser.new_context()
    page = context.new_page()
    # Given the article open in a browser (the function is warm, the browser has the answer)
    page.goto(f"{editable.stack.site_url}/article.html?slug={slug}")
    expect(page.locator("#article-title")).to_have_text("Ketamine infusions for chronic pain")
    # When an editor saves a new title
    editable.edit(slug, 'title: "Ketamine infusions for chronic pain"', 'title: "Chronic pain and ketamine"')

    # Then opening the article again shows it, without restarting anything
    def shows_new_title() -> bool:
        page.goto(f"{editable.stack.site_url}/article.html?slug={slug}")
        page.wait_for_selector("#article-title:not(:empty)")
        return page.locator("#article-title").inner_text() == "Chronic pain and ketamine"

    _wait_until(shows_new_title, "the new title on the article page")
    context.close()


def test_a_bad_edit_names_the_file_field_and_problem_and_the_stack_keeps_serving(
    editable: EditableStack,
) -> None:
    slug = "ketamine-for-anxiety-and-ptsd"
    title = editable.article(slug)["title"]
    # When an editor saves an article whose summary is empty
    summary_line = next(
        line for line in editable.article_file(slug).read_text().splitlines() if line.startswith("summary:")
    )
    editable.edit(slug, summary_line, 'summary: ""')
    # Then the dev log names the file, the field and the problem
    problem = f"{editable.article_file(slug)}: field 'summary': String should have at least 1 character"
    _wait_until(lambda: problem in editable.console.getvalue(), "the problem in the dev log")
    assert "Nothing was published: fix these first" in editable.console.getvalue()
    # And the stack still serves what was published before
    assert editable.article(slug)["title"] == title
    # And once the editor fixes it, it is published again
    editable.edit(slug, 'summary: ""', 'summary: "Fixed."')
    _wait_until(lambda: editable.article(slug)["summary"] == "Fixed.", "the fixed article published")


def test_any_file_under_content_is_watched_yaml_included(editable: EditableStack) -> None:
    (editable.content / "tags.yaml").write_text("ketamine: Ketamine\n", encoding="utf-8")
    _wait_until(
        lambda: "changed: tags.yaml; republishing" in editable.console.getvalue(),
        "a republish after content/tags.yaml changed",
    )


def test_an_editors_temporary_file_is_not_reported_as_a_change(editable: EditableStack) -> None:
    # An editor (or sed -i) writes a temporary file and renames it over the article
    path = editable.article_file("what-to-expect-at-an-infusion-visit")
    temporary = path.with_name("sedXYZ123")
    temporary.write_text(path.read_text(encoding="utf-8") + "\nOne more line.\n", encoding="utf-8")
    temporary.replace(path)
    _wait_until(
        lambda: "changed: articles/what-to-expect-at-an-infusion-visit.md" in editable.console.getvalue(),
        "a republish after the article changed",
    )
    assert "sedXYZ123" not in editable.console.getvalue()
