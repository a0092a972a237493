"""The staff email of `make dev`'s stack, as staff get it: no personal data, and a link that
opens that lead in the local console once they have signed in."""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from clinic_infra.local.stack import LocalStack
from tests.helpers import altcha_from_api
from tests.staff import fresh_code

PATIENT = {
    "name": "Linktest Whitlock",
    "email": "linktest.whitlock@example.org",
    "phone": "(415) 555-0177",
    "preferred_contact": "text",
    "preferred_time": "afternoon",
    "concerns": ["ocd"],
    "message": "linktest words about my health",
    "consent": True,
}
TYPED = [
    "Linktest",
    "Whitlock",
    "linktest.whitlock",
    "example.org",
    "415",
    "555-0177",
    "OCD",
    "ocd",
    "health",
]


def _submit(stack: LocalStack) -> dict[str, Any]:
    request = urllib.request.Request(  # noqa: S310 - local URL
        f"{stack.api_url}/consultations",
        data=json.dumps({**PATIENT, "altcha": altcha_from_api(stack.api_url)}).encode(),  # solved: notified
        headers={"content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        assert response.status == 201
        return json.loads(response.read())  # type: ignore[no-any-return]


def _staff_email(stack: LocalStack, reference: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{stack.api_url}/_local/outbox.json", timeout=10) as response:  # noqa: S310
            found = [email for email in json.loads(response.read()) if reference in email["subject"]]
        if found:
            (email,) = found
            return email  # type: ignore[no-any-return]
        time.sleep(0.25)
    raise AssertionError(f"no staff email about {reference} within {timeout} s")


@pytest.fixture(scope="module")
def lead_and_email(local_stack: LocalStack) -> tuple[dict[str, Any], dict[str, Any]]:
    lead = _submit(local_stack)
    return lead, _staff_email(local_stack, lead["reference"])


def test_the_staff_email_links_to_the_lead_in_the_local_console(
    local_stack: LocalStack, lead_and_email: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    lead, email = lead_and_email
    lines = email["text"].splitlines()
    assert lines[-1] == f"{local_stack.api_url}/staff#lead={lead['id']}"
    assert f"Reference: {lead['reference']}" in lines
    assert "Preferred contact: Text message" in lines
    assert "Best time: Afternoon" in lines
    assert "Please reply to the patient by text message." in email["text"]


def test_the_staff_email_carries_nothing_the_patient_typed(
    lead_and_email: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    _, email = lead_and_email
    for part in (email["subject"], email["text"]):
        for value in TYPED:
            assert value.lower() not in part.lower(), value


def test_the_link_opens_that_lead_after_sign_in(
    browser: Browser, local_stack: LocalStack, lead_and_email: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    lead, email = lead_and_email
    account = next(a for a in local_stack.staff_accounts if a.username == "staff@clinic.test")
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        page.goto(email["text"].splitlines()[-1])  # as a click on the link in the email
        page.fill("#username", account.username)
        page.fill("#password", account.password)
        page.click("#password-form button[type=submit]")
        page.fill("#totp-code", fresh_code(account.totp_secret))
        page.click("#totp-form button[type=submit]")
        # The console, signed in, shows the lead the link named: its patient and reference
        expect(page.locator("#lead-title")).to_have_text(f"{PATIENT['name']} · {lead['reference']}")
        expect(page.locator("#lead-facts")).to_contain_text("linktest.whitlock@example.org")
    finally:
        context.close()
