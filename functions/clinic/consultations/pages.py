"""The small HTML page a plain form post gets when it cannot be accepted."""

from __future__ import annotations

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

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>body{{font:1.1rem/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}}</style>
</head>
<body>
<main>
<h1>{title}</h1>
<p>{message}</p>
{problems}
<p>Use your browser's Back button to return to the form; what you typed is still there.</p>
</main>
</body>
</html>
"""


def problems_page(error: ApiError) -> Response[str]:
    """The error as a readable page with the same status; it names fields, never their values."""
    items = "".join(
        f"<li><strong>{escape(FIELD_LABELS.get(problem.field, problem.field))}</strong>: "
        f"{escape(problem.message)}</li>"
        for problem in error.fields or []
    )
    title = "Please check your request" if error.status < 500 else "Please try again shortly"
    page = _PAGE.format(
        title=title, message=escape(error.message), problems=f"<ul>{items}</ul>" if items else ""
    )
    headers = {"Cache-Control": "no-store"}
    if error.retry_after is not None:
        headers["Retry-After"] = str(error.retry_after)
    return Response(
        status_code=error.status, content_type="text/html; charset=utf-8", body=page, headers=headers
    )
