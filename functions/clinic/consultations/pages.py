"""The HTML page a plain form post gets when it cannot be accepted.

It comes from the API's address, so it carries what a patient needs to recognise it and go on:
the clinic's name, the site's look (inline CSS, allowed by its hash in the page's
Content-Security-Policy, and nothing else), words that fit the status (when to try again, the
number to call instead), a link back to the form, and the crisis lines.
"""

from __future__ import annotations

import base64
import hashlib
import math
from dataclasses import dataclass
from html import escape

from aws_lambda_powertools.event_handler import Response

from clinic.common.errors import ApiError

FIELD_LABELS = {
    "name": "Name",
    "email": "Email",
    "phone": "Phone",
    "preferred_contact": "How to contact you",
    "preferred_time": "Best time to reach you",
    "concerns": "What you would like help with",
    "message": "Message",
    "consent": "Consent",
    "idempotency-key": "Form",
}

# The example site's colours and type (site/styles.css), so the page looks like the clinic's.
_STYLE = (
    "body{margin:0;background:#f5f8f8;color:#1d2b33;font:1.0625rem/1.6 system-ui,-apple-system,"
    '"Segoe UI",Roboto,Arial,sans-serif}'
    "header,footer{background:#0b5e63;color:#fff;padding:1rem}"
    "header p{margin:0 auto;max-width:44rem;font-weight:700;font-size:1.2rem}"
    "main{max-width:44rem;margin:0 auto;padding:1rem}"
    "h1{line-height:1.25;font-size:1.9rem}"
    "a{color:#0b5e63}a:focus{outline:3px solid #0b4f9c;outline-offset:2px}"
    ".problems{border-left:5px solid #b3261e;background:#fdf0ef;padding:.75rem 1rem}"
    ".problems ul{margin:.25rem 0;padding-left:1.25rem}"
    ".urgent{background:#fff6e0;color:#7a4b00;border-left:5px solid #7a4b00;padding:.75rem 1rem}"
    ".button{display:inline-block;background:#0b5e63;color:#fff;padding:.6rem 1.1rem;"
    "border-radius:6px;text-decoration:none;font-weight:600}"
    "footer p{margin:0 auto;max-width:44rem}"
)
_STYLE_HASH = base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode()
# Nothing but that one style: no scripts, images, frames, forms or other origins.
CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{title} | {clinic}</title>
<style>{style}</style>
</head>
<body>
<header><p>{clinic}</p></header>
<main>
<h1>{title}</h1>
{body}
<p><a class="button" href="{form_url}">Back to the consultation form</a></p>
<div class="urgent"><p>If you are in immediate danger, call <strong>911</strong>. If you are in crisis \
or thinking about suicide, call or text <strong>988</strong> (Suicide &amp; Crisis Lifeline) at any \
time.</p></div>
</main>
<footer><p>{clinic}</p></footer>
</body>
</html>
"""


@dataclass(frozen=True)
class PageDetails:
    """What every page names: the clinic, how to reach it, and where its form is."""

    clinic_name: str
    contact_line: str  # "call us at (555) 010-0100, Monday to Friday, 9am to 5pm."
    form_url: str


def _wait(seconds: int) -> str:
    if seconds < 90:
        return "in a minute or two"
    minutes = math.ceil(seconds / 60)
    return f"in about {minutes} minutes"


def _problem_list(error: ApiError) -> str:
    items = "".join(
        f"<li><strong>{escape(FIELD_LABELS.get(problem.field, problem.field))}</strong>: "
        f"{escape(problem.message)}</li>"
        for problem in error.fields or []
    )
    return f'<div class="problems"><ul>{items}</ul></div>' if items else ""


def _content(error: ApiError, page: PageDetails) -> tuple[str, list[str]]:
    """The title and paragraphs (HTML) that fit the error's status."""
    back = "Use your browser's Back button to return to the form: what you typed is still there."
    call = f"If you would rather not wait, {escape(page.contact_line)}"
    if error.status == 422:
        return "Please check your request", [
            "Some answers need a change before we can send your request:",
            _problem_list(error),
            escape(back),
        ]
    if error.status == 429:
        wait = _wait(error.retry_after or 3600)
        return "Please try again later", [
            "We have received several requests from this connection in a short time, so we "
            f"cannot take another one just now. Please try again {wait}.",
            call,
        ]
    if error.status >= 500:
        wait = _wait(error.retry_after or 60)
        return "Please try again shortly", [
            "We could not receive your request because of a problem on our side; nothing was "
            f"saved. Please try again {wait}.",
            escape(back),
            call,
        ]
    if error.status == 409:
        return "This form was already sent", [
            "A request from this form was already sent with different answers. To send a new "
            "one, open the form again.",
            call,
        ]
    return "Please check your request", [escape(error.message), _problem_list(error), escape(back)]


def problems_page(error: ApiError, page: PageDetails) -> Response[str]:
    """The error as a page with the same status; it names fields, never what was typed in them."""
    title, paragraphs = _content(error, page)
    body = "\n".join(text if text.startswith("<div") else f"<p>{text}</p>" for text in paragraphs if text)
    html = _PAGE.format(
        title=escape(title),
        clinic=escape(page.clinic_name),
        style=_STYLE,
        body=body,
        form_url=escape(page.form_url, quote=True),
    )
    headers = {
        "Cache-Control": "no-store",
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Content-Type-Options": "nosniff",
    }
    if error.retry_after is not None:
        headers["Retry-After"] = str(error.retry_after)
    return Response(
        status_code=error.status, content_type="text/html; charset=utf-8", body=html, headers=headers
    )
