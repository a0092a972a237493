"""Every rule of docs/api.md's field table, with messages that never repeat the input."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from clinic.common.validation import field_problems
from clinic.consultations.models import FIELD_MESSAGES, ConsultationRequest

VALID: dict[str, Any] = {"name": "Ada Lovelace", "email": "ada@example.com", "consent": True}


def _request(region: str = "US", **changes: Any) -> ConsultationRequest:
    fields = {**VALID, **changes}
    fields = {key: value for key, value in fields.items() if value is not ...}
    return ConsultationRequest.model_validate(fields, context={"default_phone_region": region})


def _problems(**changes: Any) -> dict[str, str]:
    with pytest.raises(ValidationError) as raised:
        _request(**changes)
    return {
        problem.field: problem.message for problem in field_problems(raised.value.errors(), FIELD_MESSAGES)
    }


def test_valid_request_has_defaults() -> None:
    request = _request()
    assert request.preferred_time == "any"
    assert request.concerns == []
    assert request.preferred_contact is None


def test_name_is_trimmed() -> None:
    assert _request(name="  Ada  ").name == "Ada"


@pytest.mark.parametrize(
    "name", ["", "   ", "x" * 101, "Ada\x00", "Ada\x1b[31m", "\u202eadA", "Ada\u2066x", 42, None]
)
def test_bad_names_are_refused(name: Any) -> None:
    assert "name" in _problems(name=name)


@pytest.mark.parametrize(
    "name",
    [
        "\u200b",  # zero-width space
        "\u200c\u200d",  # zero-width non-joiner and joiner
        "\u2060\ufeff",  # word joiner, byte order mark
        "Ada\u200bLovelace",  # a format character inside a real name
        "\u3164\u3164",  # Hangul fillers: letters that print as nothing
        "\u0301",  # a combining accent on nothing
        "\u00a0\u3000",  # spaces other than ASCII, all stripped or blank
    ],
)
def test_names_staff_would_see_as_blank_or_altered_are_refused(name: str) -> None:
    assert set(_problems(name=name)) == {"name"}


def test_a_name_with_accents_and_combining_marks_is_visible_text() -> None:
    assert _request(name="Zoe\u0308 Nguye\u0302\u0303n").name == "Zoe\u0308 Nguye\u0302\u0303n"


def test_name_of_100_characters_with_accents_is_accepted() -> None:
    assert _request(name="É" * 100).name == "É" * 100


def test_email_is_normalized() -> None:
    assert _request(email="Ada@EXAMPLE.com").email == "Ada@example.com"


@pytest.mark.parametrize("email", ["ada", "ada@", "@mail.org", "ada@mail", "a b@mail.org"])
def test_bad_emails_are_refused_with_the_rule_not_the_value(email: str) -> None:
    assert _problems(email=email) == {"email": FIELD_MESSAGES["email"]}


def test_email_must_be_text() -> None:
    assert _problems(email=7) == {"email": FIELD_MESSAGES["email"]}


def test_email_over_254_characters_is_refused() -> None:
    assert "email" in _problems(email="a" * 64 + "@" + "b" * 186 + ".com")


@pytest.mark.parametrize(
    ("phone", "region", "e164"),
    [
        ("(415) 555-2671", "US", "+14155552671"),
        ("415.555.2671", "US", "+14155552671"),
        ("+44 20 7946 0018", "US", "+442079460018"),
        ("020 7946 0018", "GB", "+442079460018"),
    ],
)
def test_phone_is_normalized_to_e164_with_the_default_region(phone: str, region: str, e164: str) -> None:
    assert _request(region, phone=phone).phone == e164


@pytest.mark.parametrize("phone", ["12", "not a phone", "+1 555 000 0000000000", "555-0100"])
def test_bad_phones_are_refused(phone: str) -> None:
    problems = _problems(phone=phone)
    assert problems == {"phone": FIELD_MESSAGES["phone"]}


def test_an_email_or_a_phone_is_needed() -> None:
    request = _request(email=...)
    assert [problem.field for problem in request.contact_problems()] == ["email"]
    assert _request(email=..., phone="4155552671").contact_problems() == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"preferred_contact": "phone"}, "phone"),
        ({"preferred_contact": "text"}, "phone"),
        ({"preferred_contact": "email", "email": ..., "phone": "4155552671"}, "email"),
    ],
)
def test_preferred_contact_must_be_a_channel_that_was_given(changes: dict[str, Any], field: str) -> None:
    assert [problem.field for problem in _request(**changes).contact_problems()] == [field]


def test_no_preferred_contact_stays_no_preference_whatever_was_given() -> None:
    assert _request(email=..., phone="4155552671").preferred_contact is None
    assert _request(phone="4155552671").preferred_contact is None


@pytest.mark.parametrize("value", ["fax", "EMAIL", "", 1])
def test_unknown_contact_channel_is_refused(value: Any) -> None:
    assert _problems(preferred_contact=value) == {"preferred_contact": FIELD_MESSAGES["preferred_contact"]}


@pytest.mark.parametrize("value", ["morning", "afternoon", "evening", "any"])
def test_preferred_times(value: str) -> None:
    assert _request(preferred_time=value).preferred_time == value


def test_unknown_preferred_time_is_refused() -> None:
    assert _problems(preferred_time="midnight") == {"preferred_time": FIELD_MESSAGES["preferred_time"]}


def test_concerns_are_distinct_known_values() -> None:
    assert _request(concerns=["depression", "chronic_pain"]).concerns == ["depression", "chronic_pain"]
    assert "concerns" in _problems(concerns=["depression", "depression"])
    assert "concerns" in _problems(concerns=["insomnia"])
    assert "concerns" in _problems(concerns="depression")


def test_message_keeps_line_breaks_and_is_capped() -> None:
    assert _request(message="Line one\nLine two\r\n\tend").message == "Line one\nLine two\r\n\tend"
    assert "message" in _problems(message="x" * 2001)
    assert "message" in _problems(message="hidden\u202etext")
    assert "message" in _problems(message="bell\x07")


@pytest.mark.parametrize("consent", [False, 1, "true", "yes", None])
def test_consent_must_be_the_boolean_true(consent: Any) -> None:
    problems = _problems(consent=consent)
    assert list(problems) == ["consent"]


def test_missing_consent_is_refused() -> None:
    assert _problems(consent=...) == {"consent": FIELD_MESSAGES["consent"]}


def test_source_accepts_page_referrer_and_utm_tags() -> None:
    source = {
        "page": "/articles/x/",
        "referrer": "https://search.example/",
        "utm_source": "news",
        "utm_medium": "email",
        "utm_campaign": "fall",
        "utm_term": "ketamine",
        "utm_content": "a",
    }
    assert _request(source=source).source.model_dump(exclude_none=True) == source  # type: ignore[union-attr]


def test_source_refuses_unknown_keys_and_long_values() -> None:
    assert "source.gclid" in _problems(source={"gclid": "x"})
    assert "source.utm_source" in _problems(source={"utm_source": "x" * 201})


def test_unknown_fields_are_refused_by_name() -> None:
    assert _problems(diagnosis="x") == {"diagnosis": "This field is not accepted."}


def test_unknown_field_with_an_odd_name_is_not_echoed() -> None:
    problems = _problems(**{"<script>": "x"})
    assert problems == {"body": "This field is not accepted."}


def test_many_problems_are_all_reported() -> None:
    problems = _problems(name="", email="nope", preferred_time="never", consent=False)
    assert set(problems) == {"name", "email", "preferred_time", "consent"}


def test_an_international_domain_is_stored_as_punycode_for_sending() -> None:
    assert _request(email="ada@bücher.example").email == "ada@xn--bcher-kva.example"


def test_a_non_ascii_mailbox_name_is_refused_because_email_cannot_be_sent_to_it() -> None:
    assert _problems(email="josé@example.com") == {"email": FIELD_MESSAGES["email"]}
