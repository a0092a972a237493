"""The body before validation: content types, size, encodings, JSON and form parsing."""

from __future__ import annotations

import base64
import json

import pytest

from clinic.common.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from clinic.consultations.intake import MAX_BODY_BYTES, is_plain_form, read_submission

BODY = json.dumps({"name": "Ada", "email": "ada@example.com", "consent": True})


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "Application/JSON",
        "application/json; charset=utf-8",
        "APPLICATION/JSON;CHARSET=UTF-8",
    ],
)
def test_json_in_any_case_with_or_without_charset(content_type: str) -> None:
    submission = read_submission(content_type, BODY, False)
    assert submission.fields["name"] == "Ada"
    assert not submission.from_form


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "",
        "text/plain",
        "multipart/form-data",
        "multipart/form-data; boundary=----x",
        "application/xml",
        "application/json-patch+json",
    ],
)
def test_other_content_types_are_415(content_type: str | None) -> None:
    with pytest.raises(UnsupportedMediaType):
        read_submission(content_type, BODY, False)


def test_a_charset_other_than_utf8_is_415() -> None:
    with pytest.raises(UnsupportedMediaType, match="UTF-8"):
        read_submission("application/json; charset=iso-8859-1", BODY, False)


def test_body_over_16_kib_is_413_in_either_encoding() -> None:
    big = json.dumps({"message": "x" * MAX_BODY_BYTES})
    with pytest.raises(PayloadTooLarge):
        read_submission("application/json", big, False)
    with pytest.raises(PayloadTooLarge):
        read_submission("application/json", base64.b64encode(big.encode()).decode(), True)


def test_body_of_exactly_16_kib_is_read() -> None:
    padding = MAX_BODY_BYTES - len(json.dumps({"message": ""}))
    body = json.dumps({"message": "x" * padding})
    assert len(body.encode()) == MAX_BODY_BYTES
    assert read_submission("application/json", body, False).fields["message"] == "x" * padding


@pytest.mark.parametrize(
    ("body", "is_base64"),
    [
        ("{not json", False),
        ("", False),
        ("[" * 5000 + "]" * 5000, False),
        (base64.b64encode(b"\xff\xfe{}").decode(), True),
        ("%%%not base64", True),
        ("\ud800", False),
    ],
)
def test_unreadable_bodies_are_400(body: str, is_base64: bool) -> None:
    with pytest.raises(BadRequest):
        read_submission("application/json", body, is_base64)


@pytest.mark.parametrize("body", ["[]", "1", '"text"', "null"])
def test_json_that_is_not_an_object_is_422(body: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        read_submission("application/json", body, False)
    assert [problem.field for problem in raised.value.fields or []] == ["body"]


def test_form_fields_with_repeated_concerns_and_source_tags() -> None:
    form = (
        "name=Ada+L&email=&phone=4155552671&concerns=anxiety&concerns=ptsd&consent=on&source.utm_source=news"
    )
    submission = read_submission(
        "application/x-www-form-urlencoded", base64.b64encode(form.encode()).decode(), True
    )
    assert submission.from_form
    assert submission.fields == {
        "name": "Ada L",
        "phone": "4155552671",
        "concerns": ["anxiety", "ptsd"],
        "consent": True,
        "source": {"utm_source": "news"},
    }


def test_form_consent_other_than_a_checked_box_stays_text() -> None:
    submission = read_submission("application/x-www-form-urlencoded", "name=Ada&consent=1", False)
    assert submission.fields["consent"] == "1"


def test_form_field_sent_twice_is_422() -> None:
    with pytest.raises(ValidationFailed) as raised:
        read_submission("application/x-www-form-urlencoded", "name=a&name=b", False)
    assert [problem.field for problem in raised.value.fields or []] == ["name"]


def test_form_with_too_many_fields_is_400() -> None:
    with pytest.raises(BadRequest):
        read_submission("application/x-www-form-urlencoded", "&".join(f"f{n}=1" for n in range(200)), False)


@pytest.mark.parametrize(
    ("fields", "spam"),
    [
        ({"website": "http://spam"}, True),
        ({"website": ""}, False),
        ({"website": "  "}, False),
        ({}, False),
        ({"website": ["x"]}, False),  # not text: a malformed request (422), not spam
        ({"website": 1}, False),
    ],
)
def test_honeypot_is_filled_when_website_has_text(fields: dict[str, object], spam: bool) -> None:
    assert read_submission("application/json", json.dumps(fields), False).honeypot_filled is spam


def test_form_source_sent_both_whole_and_in_parts_is_422_not_a_crash() -> None:
    with pytest.raises(ValidationFailed) as raised:
        read_submission("application/x-www-form-urlencoded", "name=a&source=x&source.page=y", False)
    assert [problem.field for problem in raised.value.fields or []] == ["source"]


@pytest.mark.parametrize(
    ("content_type", "form"),
    [
        ("application/x-www-form-urlencoded", True),
        ("Application/X-WWW-Form-Urlencoded; charset=UTF-8", True),
        ("application/json", False),
        ("multipart/form-data; boundary=x", False),
        (None, False),
    ],
)
def test_whether_a_request_is_a_plain_form_is_decided_by_its_media_type(
    content_type: str | None, form: bool
) -> None:
    assert is_plain_form(content_type) is form


@pytest.mark.parametrize(
    ("content_type", "body"),
    [("application/x-www-form-urlencoded; charset=utf-8", "name=Ada"), ("application/json", BODY)],
)
def test_a_submission_is_from_a_form_exactly_when_its_request_is(content_type: str, body: str) -> None:
    assert read_submission(content_type, body, False).from_form is is_plain_form(content_type)
