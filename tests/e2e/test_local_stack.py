"""`make dev`'s stack: content published into the embedded AWS and served over HTTP."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from clinic_infra.local.stack import LocalStack

CONTENT = Path(__file__).resolve().parents[2] / "content" / "articles"


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 - local URL
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_local_api_serves_every_published_article(local_stack: LocalStack) -> None:
    status, _, body = _get(f"{local_stack.api_url}/articles?limit=50")
    slugs = {item["slug"] for item in json.loads(body)["items"]}
    assert status == 200
    assert slugs == {path.stem for path in CONTENT.glob("*.md")}


def test_local_api_serves_an_article_with_its_body(local_stack: LocalStack) -> None:
    status, headers, body = _get(f"{local_stack.api_url}/articles/ketamine-for-chronic-pain")
    article = json.loads(body)
    assert status == 200
    assert article["title"] == "Ketamine infusions for chronic pain"
    assert "<h2>" in article["body_html"]
    assert headers["ETag"]


def test_local_api_answers_head_on_article_routes_as_get_without_a_body(local_stack: LocalStack) -> None:
    url = f"{local_stack.api_url}/articles/ketamine-for-chronic-pain"
    _, got, _ = _get(url)
    request = urllib.request.Request(url, method="HEAD")  # noqa: S310 - local URL
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        assert response.status == 200
        assert response.headers["ETag"] == got["ETag"]
        assert response.headers["Cache-Control"] == got["Cache-Control"]
        assert response.read() == b""
    revalidate = urllib.request.Request(url, method="HEAD", headers={"If-None-Match": f"W/{got['ETag']}"})  # noqa: S310
    with pytest.raises(urllib.error.HTTPError) as not_modified:  # urllib raises for a 304
        urllib.request.urlopen(revalidate, timeout=30)  # noqa: S310
    assert not_modified.value.code == 304


def test_local_api_answers_unknown_routes_as_api_gateway_does(local_stack: LocalStack) -> None:
    status, _, body = _get(f"{local_stack.api_url}/no-such-route")
    assert status == 404
    assert json.loads(body) == {"message": "Not Found"}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _post(
    url: str, body: bytes, content_type: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(  # noqa: S310 - local URL
        url, data=body, method="POST", headers={"content-type": content_type, **(headers or {})}
    )
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def _lead_count(stack: LocalStack) -> int:
    assert stack.template is not None
    return int(
        stack.client("dynamodb").scan(TableName=stack.template.refs["LeadsTable"], Select="COUNT")["Count"]
    )


def test_local_api_stores_a_json_consultation_request(local_stack: LocalStack) -> None:
    before = _lead_count(local_stack)
    body = json.dumps({"name": "Local Patient", "email": "local@example.org", "consent": True}).encode()
    status, _, answer = _post(
        f"{local_stack.api_url}/consultations", body, "application/json", {"idempotency-key": "e2e-json-1"}
    )
    assert status == 201
    assert json.loads(answer)["status"] == "received"
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}", json.loads(answer)["reference"])
    assert _lead_count(local_stack) == before + 1


def test_local_api_redirects_a_plain_form_post_to_the_thank_you_page(local_stack: LocalStack) -> None:
    before = _lead_count(local_stack)
    body = b"name=Form+Patient&phone=415-555-2671&consent=true&concerns=anxiety"
    status, headers, _ = _post(
        f"{local_stack.api_url}/consultations",
        body,
        "application/x-www-form-urlencoded",
        {"x-forwarded-for": "192.0.2.10"},
    )
    assert status == 303
    assert re.fullmatch(
        rf"{re.escape(local_stack.site_url)}/thank-you\.html#reference=[0-9A-Z]{{4}}-[0-9A-Z]{{4}}",
        headers["Location"],
    )
    assert _lead_count(local_stack) == before + 1


def test_every_link_the_local_api_gives_out_opens_on_the_local_site_or_api(local_stack: LocalStack) -> None:
    status, _, body = _get(f"{local_stack.api_url}/feed.json")
    feed = json.loads(body)
    assert status == 200
    assert feed["feed_url"] == f"{local_stack.api_url}/feed.json"
    assert feed["home_page_url"] == local_stack.site_url
    for item in feed["items"]:
        assert item["url"].startswith(f"{local_stack.site_url}/article.html?slug=")
        assert _get(item["url"])[0] == 200, item["url"]
        image_status, image_headers, _ = _get(item["image"])
        assert image_status == 200, item["image"]
        assert {name.lower(): value for name, value in image_headers.items()}["content-type"] == "image/jpeg"


def _preflight(stack: LocalStack, origin: str) -> str | None:
    request = urllib.request.Request(  # noqa: S310 - local URL
        f"{stack.api_url}/consultations",
        method="OPTIONS",
        headers={"origin": origin, "access-control-request-method": "POST"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return response.headers.get("access-control-allow-origin")


def test_local_api_allows_both_spellings_of_the_local_site_and_nothing_wider(local_stack: LocalStack) -> None:
    port = local_stack.config.site_port
    for origin in (f"http://127.0.0.1:{port}", f"http://localhost:{port}"):
        assert _preflight(local_stack, origin) == origin
    for origin in (f"http://localhost:{port + 1}", f"https://localhost:{port}", "http://localhost"):
        assert _preflight(local_stack, origin) is None


def _clinic(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "clinic_infra.cli", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)  # noqa: S603


def test_staff_read_a_lead_by_the_reference_the_patient_reads_out(local_stack: LocalStack) -> None:
    body = json.dumps(
        {
            "name": "Reference Patient",
            "phone": "415-555-0199",
            "email": "reference.patient@example.org",
            "concerns": ["anxiety"],
            "message": "Please call after five.",
            "consent": True,
        }
    ).encode()
    status, _, answer = _post(f"{local_stack.api_url}/consultations", body, "application/json")
    assert status == 201
    reference = json.loads(answer)["reference"]
    # As a patient might read it out and staff type it: lower case, no hyphen
    target = ("--local", "--api-url", local_stack.api_url, "--aws-url", local_stack.aws_url)
    run = _clinic("lead", "show", reference.replace("-", "").lower(), *target)
    assert run.returncode == 0, run.stderr
    assert f"Reference: {reference}" in run.stdout
    assert f"Lead id: {json.loads(answer)['id']}" in run.stdout
    for line in (
        "Name: Reference Patient",
        "Preferred contact: No preference",
        "Email: reference.patient@example.org",
        "Phone: +14155550199",
        "Concerns: Anxiety",
        "Message: Please call after five.",
    ):
        assert line in run.stdout
    unknown = _clinic("lead", "show", "ZZZZ-ZZZZ", *target)
    assert unknown.returncode == 1
    assert "No lead has the reference ZZZZ-ZZZZ" in unknown.stderr
    malformed = _clinic("lead", "show", "not-a-reference", *target)
    assert malformed.returncode == 2
    assert "8 letters and digits" in malformed.stderr
