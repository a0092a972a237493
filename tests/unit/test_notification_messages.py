"""What staff, the topic and the patient are told: each only what it may carry."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import pytest

from clinic.leads.record import TEST_LEAD_NAME, TEST_LEAD_SOURCE, StoredLead
from clinic.notifications.messages import (
    ClinicDetails,
    confirmation_email,
    staff_email,
    topic_message,
)
from clinic.notifications.service import ContactDetailsInTopicMessage, assert_no_contact_details

CLINIC = ClinicDetails(
    name="Example Clinic",
    contact_line="call us at (555) 010-0100.",
    time_zone=ZoneInfo("America/Los_Angeles"),
    sender="no-reply@clinic.example",
    staff=("one@clinic.example", "two@clinic.example"),
    console_url="https://abc123.execute-api.us-east-1.amazonaws.com/staff",
)
LINK = "https://abc123.execute-api.us-east-1.amazonaws.com/staff#lead=01JZ0000000000000000000000"
LEAD = StoredLead(
    id="01JZ0000000000000000000000",
    created_at=datetime(2026, 11, 27, 18, 5, tzinfo=UTC),
    reference="K7M4-QX2P",
    name="Patientname <b>Bold</b>",
    email="patient.mail@example.org",
    phone="+14155550123",
    preferred_contact="phone",
    preferred_time="evening",
    concerns=["ptsd", "chronic_pain"],
    message="Private words about my health",
)
PERSONAL = [LEAD.name, "Patientname", LEAD.email, LEAD.phone, "415", LEAD.message, "PTSD", "Chronic pain"]


def _parts(email: EmailMessage) -> tuple[str, str]:
    text = email.get_body(preferencelist=("plain",))
    html = email.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    return text.get_content(), html.get_content()


@pytest.mark.parametrize("detail", ["minimal", "contact", "full"])
def test_staff_subject_carries_no_personal_data(detail: str) -> None:
    subject = str(staff_email(LEAD, detail, CLINIC)["Subject"])  # type: ignore[arg-type]
    assert subject == "New consultation request K7M4-QX2P"


def test_staff_email_goes_from_the_sender_to_every_staff_address() -> None:
    email = staff_email(LEAD, "contact", CLINIC)
    assert email["From"] == "no-reply@clinic.example"
    assert email["To"] == "one@clinic.example, two@clinic.example"


def _test_lead(name: str = TEST_LEAD_NAME, utm_source: str | None = TEST_LEAD_SOURCE) -> StoredLead:
    return StoredLead.from_item(
        {
            "id": LEAD.id,
            "created_at": "2026-11-27T18:05:00.000Z",
            "name": name,
            "phone": "+14155550100",
            "preferred_contact": "phone",
            "source": {"utm_source": utm_source, "page": None},
        }
    )


def test_clinic_doctors_test_lead_is_marked_as_a_test_for_staff() -> None:
    email = staff_email(_test_lead(), "contact", CLINIC)
    text, html = _parts(email)
    assert email["Subject"] == f"[Test] New consultation request {LEAD.id}"
    for part in (text, html):
        assert "test lead from clinic doctor" in part
        assert "will be deleted" in part
        assert "Please call the patient back" not in part
    assert "Clinic Doctor test lead" in text  # still delivered with its details, like any lead


@pytest.mark.parametrize(
    ("name", "utm_source"),
    [
        ("Alex Rivera", TEST_LEAD_SOURCE),  # a link can carry utm_source=clinic-doctor
        (TEST_LEAD_NAME, None),
        (TEST_LEAD_NAME, "newsletter"),
    ],
)
def test_only_the_doctors_name_and_source_together_mark_a_test(name: str, utm_source: str | None) -> None:
    email = staff_email(_test_lead(name, utm_source), "contact", CLINIC)
    text, _ = _parts(email)
    assert email["Subject"] == f"New consultation request {LEAD.id}"
    assert "Please call the patient back" in text
    assert "test" not in text.lower().replace(TEST_LEAD_NAME.lower(), "")


def test_minimal_staff_email_has_the_reference_time_and_channel_and_links_to_the_lead() -> None:
    text, html = _parts(staff_email(LEAD, "minimal", CLINIC))
    assert text.splitlines()[2:6] == [
        "Reference: K7M4-QX2P",
        "Received: Friday, November 27, 2026, 10:05 AM PST",
        "Preferred contact: Phone call",
        "Best time: Evening",
    ]
    assert "Please call the patient back." in text
    assert text.splitlines()[-1] == LINK
    assert f'<a href="{LINK}">' in html


def _digits(text: str) -> str:
    return "".join(character for character in text if character.isdigit())


@pytest.mark.parametrize("channel", ["email", "phone", "text", None])
def test_minimal_staff_email_carries_nothing_the_patient_typed(channel: str | None) -> None:
    email = staff_email(LEAD.model_copy(update={"preferred_contact": channel}), "minimal", CLINIC)
    text, html = _parts(email)
    typed = [*PERSONAL, "Bold", "patient.mail", "example.org", "Private", "health", "ptsd", "chronic_pain"]
    for part in (text, html, str(email["Subject"])):
        for value in typed:
            assert value.lower() not in part.lower()
        assert "4155550123" not in _digits(part)  # the phone in no format at all
        assert "5550123" not in _digits(part)
    assert set(text.split()) & {"Name:", "Email:", "Phone:", "Concerns:", "Message:"} == set()


def test_contact_staff_email_adds_how_to_reach_the_patient_but_no_health_details() -> None:
    text, html = _parts(staff_email(LEAD, "contact", CLINIC))
    assert "Name: Patientname <b>Bold</b>" in text
    assert "Preferred contact: Phone call" in text
    assert "Best time: Evening" in text
    assert "&lt;b&gt;Bold&lt;/b&gt;" in html  # escaped in the HTML part
    assert "<b>Bold</b>" not in html
    for value in (LEAD.message, "PTSD", "Chronic pain"):
        assert value not in text
        assert value not in html


@pytest.mark.parametrize("detail", ["contact", "full"])
@pytest.mark.parametrize("channel", ["email", "phone", "text", None])
def test_staff_email_lists_every_channel_the_patient_gave_whichever_they_prefer(
    detail: str, channel: str | None
) -> None:
    text, html = _parts(staff_email(LEAD.model_copy(update={"preferred_contact": channel}), detail, CLINIC))
    assert "Email: patient.mail@example.org" in text
    assert "Phone: +1 415-555-0123" in text
    assert "patient.mail@example.org" in html
    assert "+1 415-555-0123" in html


def test_staff_email_lists_only_the_channels_that_were_given() -> None:
    text, _ = _parts(staff_email(LEAD.model_copy(update={"email": None}), "contact", CLINIC))
    assert "Phone: +1 415-555-0123" in text
    assert "Email:" not in text


@pytest.mark.parametrize(
    ("channel", "label", "instruction"),
    [
        ("email", "Email", "Please reply to the patient by email."),
        ("phone", "Phone call", "Please call the patient back."),
        ("text", "Text message", "Please reply to the patient by text message."),
        (None, "No preference", "The patient did not say how they prefer to be contacted"),
    ],
)
def test_staff_email_says_what_to_do_for_the_chosen_channel(
    channel: str | None, label: str, instruction: str
) -> None:
    lead = LEAD.model_copy(update={"preferred_contact": channel})
    text, html = _parts(staff_email(lead, "contact", CLINIC))
    assert instruction in text
    assert instruction in html
    assert f"Preferred contact: {label}" in text
    if channel != "phone":
        assert "call the patient back" not in text
    minimal, _ = _parts(staff_email(lead, "minimal", CLINIC))
    assert instruction in minimal  # the action, without contact details


def test_full_staff_email_adds_concerns_and_message() -> None:
    text, html = _parts(staff_email(LEAD, "full", CLINIC))
    assert "Concerns: PTSD, Chronic pain" in text
    assert "Message: Private words about my health" in text
    assert "Private words about my health" in html


def test_confirmation_never_echoes_what_the_patient_wrote() -> None:
    email = confirmation_email(LEAD, CLINIC)
    text, html = _parts(email)
    assert email["To"] == LEAD.email
    for value in [LEAD.name, "Patientname", LEAD.phone, LEAD.message, "PTSD", "ptsd", "Evening", "evening"]:
        assert value not in text
        assert value not in html
        assert value not in str(email["Subject"])
    assert "call us at (555) 010-0100." in text
    assert "988" in text


def test_confirmation_subject_names_neither_the_clinic_nor_a_condition_by_default() -> None:
    clinic = ClinicDetails(**{**CLINIC.__dict__, "name": "Example Ketamine Clinic"})
    subject = str(confirmation_email(LEAD, clinic)["Subject"])
    assert subject == "We received your consultation request"
    for word in ("Ketamine", "Clinic", "depression", "PTSD", "pain"):
        assert word.lower() not in subject.lower()
    chosen = ClinicDetails(**{**CLINIC.__dict__, "confirmation_subject": "Thank you for contacting us"})
    assert confirmation_email(LEAD, chosen)["Subject"] == "Thank you for contacting us"


@pytest.mark.parametrize("detail", ["minimal", "contact", "full"])
def test_staff_email_links_to_the_lead_in_the_console_at_every_detail_level(detail: str) -> None:
    text, html = _parts(staff_email(LEAD, detail, CLINIC))
    assert f"open it in the staff console (you will be asked to sign in):\n{LINK}\n" in text
    assert f'<a href="{LINK}">{LINK}</a>' in html
    assert "leads table" not in text


def test_the_link_goes_to_the_console_the_clinic_set() -> None:
    clinic = ClinicDetails(**{**CLINIC.__dict__, "console_url": "https://staff.clinic.example/staff"})
    text, html = _parts(staff_email(LEAD, "minimal", clinic))
    assert "https://staff.clinic.example/staff#lead=01JZ0000000000000000000000" in text
    assert 'href="https://staff.clinic.example/staff#lead=01JZ0000000000000000000000"' in html
    assert "execute-api" not in text


def test_a_lead_stored_before_references_is_referred_to_by_its_id() -> None:
    old = LEAD.model_copy(update={"reference": None})
    assert staff_email(old, "minimal", CLINIC)["Subject"] == f"New consultation request {LEAD.id}"


def test_confirmation_gives_the_patient_their_reference() -> None:
    text, html = _parts(confirmation_email(LEAD, CLINIC))
    assert "Your reference is K7M4-QX2P." in text
    assert "K7M4-QX2P" in html


def test_topic_message_holds_the_id_and_time_only() -> None:
    assert json.loads(topic_message(LEAD)) == {"lead_id": LEAD.id, "received_at": "2026-11-27T18:05:00.000Z"}
    assert_no_contact_details(topic_message(LEAD))


@pytest.mark.parametrize(
    "text",
    ['{"lead_id": "x", "email": "a.b@example.org"}', "call +1 (415) 555-0123", "ring 415-555-0123 today"],
)
def test_topic_guard_refuses_email_addresses_and_phone_numbers(text: str) -> None:
    with pytest.raises(ContactDetailsInTopicMessage):
        assert_no_contact_details(text)


@pytest.mark.parametrize("detail", ["minimal", "contact", "full"])
def test_a_repeat_request_says_so_and_links_to_the_earlier_one_without_personal_data(detail: str) -> None:
    earlier = "01JY0000000000000000000000"
    email = staff_email(LEAD.model_copy(update={"repeat_of": earlier}), detail, CLINIC)  # type: ignore[arg-type]
    assert email["Subject"] == "Repeat consultation request K7M4-QX2P"
    text, html = _parts(email)
    assert (
        "This is a repeat: the same email address or phone number sent a request in the last 7 days" in text
    )
    assert f"Earlier request: {CLINIC.console_url}#lead={earlier}" in text
    assert earlier in html


def test_a_first_request_is_not_called_a_repeat() -> None:
    text, _ = _parts(staff_email(LEAD, "minimal", CLINIC))
    assert "repeat" not in text.lower()
