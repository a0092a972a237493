"""What staff, the fan-out topic and the patient receive about a lead.

The subject never carries personal data. The staff email's body carries only what the
clinic's detail level allows, and a link that opens the lead in the staff console (by
default it carries nothing the patient typed: staff read that signed in, where each view is
audited); the topic message only the lead's id and time; the patient's confirmation nothing
that the patient wrote.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from email.message import EmailMessage
from html import escape
from zoneinfo import ZoneInfo

import phonenumbers

from clinic.common.dates import Locale, date_and_time
from clinic.leads.record import REPEAT_WINDOW_DAYS, StoredLead, format_time
from clinic.notifications.models import DetailLevel

CHANNEL_LABELS = {"email": "Email", "phone": "Phone call", "text": "Text message", None: "No preference"}
# What staff are asked to do, by the channel the patient chose (None: they did not choose).
NEXT_STEPS = {
    "email": "Please reply to the patient by email.",
    "phone": "Please call the patient back.",
    "text": "Please reply to the patient by text message.",
    None: "The patient did not say how they prefer to be contacted: use any way they gave.",
}
TIME_LABELS = {"morning": "Morning", "afternoon": "Afternoon", "evening": "Evening", "any": "Any time"}
CONCERN_LABELS = {
    "depression": "Depression",
    "anxiety": "Anxiety",
    "ptsd": "PTSD",
    "chronic_pain": "Chronic pain",
    "ocd": "OCD",
    "other": "Other",
}


# An inbox preview shows the subject to anyone who glances at the patient's screen: by default
# it names neither the clinic (whose name may say what it treats) nor a condition.
DEFAULT_CONFIRMATION_SUBJECT = "We received your consultation request"


@dataclass(frozen=True)
class ClinicDetails:
    name: str
    contact_line: str
    time_zone: ZoneInfo
    sender: str
    staff: tuple[str, ...]
    console_url: str  # the staff console's page, e.g. https://abc.execute-api.us-east-1.amazonaws.com/staff
    locale: Locale = "en-US"
    confirmation_subject: str = DEFAULT_CONFIRMATION_SUBJECT


def received_at(lead: StoredLead, clinic: ClinicDetails) -> str:
    """When the lead arrived, in the clinic's zone and locale: 'Friday, November 27, 2026, 8:11 AM EST'."""
    return date_and_time(lead.created_at, clinic.time_zone, clinic.locale)


def staff_rows(lead: StoredLead, detail: DetailLevel, clinic: ClinicDetails) -> list[tuple[str, str]]:
    """The label/value lines of the staff email, as far as `detail` allows.

    Every level has the reference, the time and how and when the patient prefers to be
    reached: choices from fixed lists, nothing the patient typed."""
    rows = [("Reference", reference(lead)), ("Received", received_at(lead, clinic))]
    if detail in ("contact", "full"):
        rows.append(("Name", lead.name))
    rows.append(("Preferred contact", CHANNEL_LABELS[lead.preferred_contact]))
    if detail in ("contact", "full"):
        # Every channel the patient gave, whichever they prefer: staff may need the other one.
        if lead.email:
            rows.append(("Email", lead.email))
        if lead.phone:
            rows.append(("Phone", _readable_phone(lead.phone)))
    rows.append(("Best time", TIME_LABELS[lead.preferred_time]))
    if detail == "full":
        concerns = ", ".join(CONCERN_LABELS.get(concern, concern) for concern in lead.concerns)
        rows += [("Concerns", concerns or "None chosen"), ("Message", lead.message or "(none)")]
    return rows


def _readable_phone(e164: str) -> str:
    number = phonenumbers.parse(e164)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def reference(lead: StoredLead) -> str:
    """What staff and the patient quote: the short reference (a lead stored before references
    existed has only its id)."""
    return lead.reference or lead.id


def lead_link(lead: StoredLead, clinic: ClinicDetails) -> str:
    """The console's address of this lead: the console opens `#lead=<id>` after sign-in. A
    fragment never reaches a server or its logs, and the id says nothing about the patient."""
    return f"{clinic.console_url}#lead={lead.id}"


def staff_email(lead: StoredLead, detail: DetailLevel, clinic: ClinicDetails) -> EmailMessage:
    rows = staff_rows(lead, detail, clinic)
    subject = f"New consultation request {reference(lead)}"
    intro = f"A new consultation request has arrived. {NEXT_STEPS[lead.preferred_contact]}"
    if lead.is_test:
        subject = f"[Test] {subject}"
        intro = (
            "This is a test lead from clinic doctor, which checks that consultation requests reach "
            "staff. It will be deleted in a few minutes; nobody needs to call back."
        )
    if lead.repeat_of:
        # Whoever calls back should see the earlier request first, so that nobody calls twice.
        subject = f"Repeat consultation request {reference(lead)}"
        intro += (
            f" This is a repeat: the same email address or phone number sent a request in the last "
            f"{REPEAT_WINDOW_DAYS} days. Check the earlier one before you reply."
        )
        rows.append(("Earlier request", f"{clinic.console_url}#lead={lead.repeat_of}"))
    email = _message(subject, clinic.sender, clinic.staff)
    link = lead_link(lead, clinic)
    footer = "To read the whole request, open it in the staff console (you will be asked to sign in):"
    text_rows = "\n".join(f"{label}: {value}" for label, value in rows)
    email.set_content(f"{intro}\n\n{text_rows}\n\n{footer}\n{link}\n")
    html_rows = "".join(
        f"<tr><th align='left'>{escape(label)}</th><td>{escape(value)}</td></tr>" for label, value in rows
    )
    email.add_alternative(
        f"<html><body><p>{escape(intro)}</p><table>{html_rows}</table><p>{escape(footer)} "
        f'<a href="{escape(link)}">{escape(link)}</a></p></body></html>',
        subtype="html",
    )
    return email


def confirmation_email(lead: StoredLead, clinic: ClinicDetails) -> EmailMessage:
    """A generic thank-you: nothing in it comes from what the patient wrote, not even their name."""
    if not lead.email:
        raise ValueError("a confirmation needs the patient's email address")
    email = _message(clinic.confirmation_subject, clinic.sender, (lead.email,))
    paragraphs = [
        "Thank you for asking for a free consultation.",
        f"Your reference is {reference(lead)}. Please quote it if you contact us about this request.",
        "A member of our team will contact you in the way you asked, to talk about your questions "
        "and whether treatment may be right for you.",
        f"If you need to reach us sooner: {clinic.contact_line}",
        "If you are in crisis or thinking about harming yourself, call or text 988 (Suicide & Crisis "
        "Lifeline, US) or your local emergency number now.",
        "You received this email because this address was entered in the consultation form on our "
        "website. If that was not you, you can ignore it.",
        f"- {clinic.name}",
    ]
    email.set_content("\n\n".join(paragraphs) + "\n")
    email.add_alternative(
        "<html><body>" + "".join(f"<p>{escape(text)}</p>" for text in paragraphs) + "</body></html>",
        subtype="html",
    )
    return email


def quarantine_digest_email(
    count: int, sender: str, staff: tuple[str, ...], console_url: str
) -> EmailMessage:
    """The daily digest: how many requests wait in quarantine, and where to review them. A count
    only: nothing about any request, so nothing a patient (or a bot) sent reaches an inbox."""
    requests = "1 consultation request is" if count == 1 else f"{count} consultation requests are"
    email = _message(f"{requests.capitalize()} waiting in quarantine", sender, staff)
    link = f"{console_url}#quarantine"
    paragraphs = [
        f"{requests.capitalize()} waiting in quarantine: held back as possible spam, so staff "
        "were not emailed about them.",
        "Please review them in the staff console. Release any that a real person sent (staff are "
        "then emailed about it once) and mark the rest as spam; unreviewed ones are deleted when "
        "their short retention ends.",
    ]
    email.set_content("\n\n".join(paragraphs) + f"\n\n{link}\n")
    email.add_alternative(
        "<html><body>"
        + "".join(f"<p>{escape(text)}</p>" for text in paragraphs)
        + f'<p><a href="{escape(link)}">{escape(link)}</a></p></body></html>',
        subtype="html",
    )
    return email


def topic_message(lead: StoredLead) -> str:
    """For SMS and chat fan-out: the lead's id and time, nothing about the patient."""
    return json.dumps({"lead_id": lead.id, "received_at": format_time(lead.created_at)})


def _message(subject: str, sender: str, recipients: tuple[str, ...]) -> EmailMessage:
    email = EmailMessage()
    email["Subject"] = subject
    email["From"] = sender
    email["To"] = ", ".join(recipients)
    return email
