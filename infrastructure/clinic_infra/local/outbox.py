"""The local outbox: every email the stack sent through moto's SES, as a page and as JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from email import message_from_string, policy
from html import escape

from moto.ses.models import ses_backends


@dataclass(frozen=True)
class OutboxEmail:
    subject: str
    sender: str
    to: str
    text: str


def sent_emails(account_id: str, region: str) -> list[OutboxEmail]:
    """Newest first."""
    emails = []
    for sent in ses_backends[account_id][region].sent_messages:
        raw = getattr(sent, "raw_data", None)
        if raw is None:  # a simple (non-MIME) message
            emails.append(
                OutboxEmail(
                    str(sent.subject),
                    str(sent.source),
                    ", ".join(sent.destinations.get("ToAddresses", [])),
                    str(sent.body),
                )
            )
            continue
        message = message_from_string(raw, policy=policy.default)
        body = message.get_body(preferencelist=("plain", "html"))
        text = body.get_content() if body is not None else ""
        emails.append(
            OutboxEmail(str(message["Subject"]), str(message["From"]), str(message["To"]), str(text))
        )
    return list(reversed(emails))


def outbox_json(account_id: str, region: str) -> tuple[int, str, bytes]:
    body = json.dumps([asdict(email) for email in sent_emails(account_id, region)], indent=2).encode()
    return 200, "application/json", body


def outbox_page(account_id: str, region: str) -> tuple[int, str, bytes]:
    emails = sent_emails(account_id, region)
    items = "".join(
        f"<article><h2>{escape(email.subject)}</h2><p><b>From</b> {escape(email.sender)} "
        f"<b>to</b> {escape(email.to)}</p><pre>{escape(email.text)}</pre></article>"
        for email in emails
    )
    page = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Local outbox</title>"
        "<meta http-equiv='refresh' content='5'>"
        # No icon: without this line the browser asks the API for /favicon.ico, a 404 in the log.
        "<link rel='icon' href='data:,'>"
        "<style>body{font:1rem/1.5 system-ui,sans-serif;max-width:50rem;margin:2rem auto;padding:0 1rem}"
        "article{border-top:1px solid #ccc;padding:.5rem 0}pre{white-space:pre-wrap}</style></head>"
        f"<body><h1>Local outbox ({len(emails)})</h1>"
        "<p>Emails the local stack sent through the embedded SES, newest first. "
        "This page refreshes itself.</p>"
        f"{items or '<p>No emails yet: submit the consultation form on the example site.</p>'}</body></html>"
    )
    return 200, "text/html; charset=utf-8", page.encode()
