"""The staff console in Chromium against the local stack: sign-in with a TOTP code, the inbox,
a lead worked from new to scheduled, an export, an erasure, and each step in the audit trail."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from clinic_infra.local.stack import LocalStack
from tests.e2e.page_problems import PageProblems
from tests.helpers import altcha_from_api
from tests.staff import fresh_code

ADMIN = "admin@clinic.test"
STAFF = "staff@clinic.test"


def _page(browser: Browser, **context: Any) -> Iterator[Page]:
    browser_context = browser.new_context(accept_downloads=True, **context)
    page = browser_context.new_page()
    problems = PageProblems()
    page.on("console", problems.console)
    page.on("pageerror", lambda error: problems.errors.append(str(error)))
    page.set_default_timeout(15_000)
    yield page
    browser_context.close()
    assert problems.errors == []


@pytest.fixture
def page(browser: Browser, local_stack: LocalStack) -> Iterator[Page]:
    yield from _page(browser)


@pytest.fixture
def phone(browser: Browser, local_stack: LocalStack) -> Iterator[Page]:
    yield from _page(browser, viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)


def _secret(stack: LocalStack, username: str) -> str:
    return next(a for a in stack.staff_accounts if a.username == username).totp_secret


def _password(stack: LocalStack, username: str) -> str:
    return next(a for a in stack.staff_accounts if a.username == username).password


def _submit_lead(stack: LocalStack, name: str) -> dict[str, str]:
    body = json.dumps(
        {
            "name": name,
            "email": "console.patient@example.org",
            "concerns": ["ptsd"],
            "consent": True,
            "altcha": altcha_from_api(stack.api_url),  # solved, as the site's widget does: a new lead
        }
    ).encode()
    request = urllib.request.Request(  # noqa: S310 - the local API
        f"{stack.api_url}/consultations", data=body, headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        answer: dict[str, str] = json.loads(response.read())
    return answer


def _sign_in(page: Page, stack: LocalStack, username: str, code: str | None = None) -> None:
    expect(page.locator("#password-form")).to_be_visible()
    page.fill("#username", username)
    page.fill("#password", _password(stack, username))
    page.click("#password-form button[type=submit]")
    expect(page.locator("#totp-form")).to_be_visible()
    page.fill("#totp-code", code or fresh_code(_secret(stack, username)))
    page.click("#totp-form button[type=submit]")


def _audit_actions(page: Page) -> list[str]:
    return [text.split(": ", 1)[1] for text in page.locator("#lead-audit li").all_inner_texts()]


def test_an_admin_works_a_lead_from_the_email_link_to_erasure(
    page: Page, local_stack: LocalStack, tmp_path: Path
) -> None:
    lead = _submit_lead(local_stack, "Console Patient")
    # The staff email links to the lead: the console opens it once signed in.
    page.goto(f"{local_stack.api_url}/staff#lead={lead['id']}")

    # A wrong authenticator code is refused; the right one signs in.
    _sign_in(page, local_stack, ADMIN, code="000000")
    expect(page.locator("#sign-in-error")).to_contain_text("That code did not match")
    page.fill("#totp-code", fresh_code(_secret(local_stack, ADMIN)))
    page.click("#totp-form button[type=submit]")
    expect(page.locator("#lead-title")).to_have_text(f"Console Patient · {lead['reference']}")
    expect(page.locator("#user-name")).to_have_text(ADMIN)
    # Tokens are kept in the page's memory only.
    stored = page.evaluate("[localStorage.length, sessionStorage.length, document.cookie]")
    assert stored == [0, 0, ""]

    # new → contacted → scheduled, as the clinic's workflow allows.
    for status, label in (("contacted", "Contacted"), ("scheduled", "Scheduled")):
        page.select_option("#work-status", status)
        page.click("#work-form button[type=submit]")
        expect(page.locator("#lead-result")).to_have_text("Saved.")
        expect(page.locator("#lead-facts")).to_contain_text(label)
    page.fill("#work-note", "Booked for Tuesday.")
    page.click("#work-form button[type=submit]")
    expect(page.locator("#lead-notes")).to_contain_text("Booked for Tuesday.")

    # The inbox shows it, scheduled.
    page.click("#back-to-list")
    card = page.locator(".lead-card", has_text="Console Patient")
    expect(card).to_contain_text("Scheduled")
    expect(card).to_contain_text(lead["reference"])

    # Export today's requests: a CSV Excel opens (BOM), holding this lead.
    today = datetime.now(UTC).date().isoformat()
    page.fill("#export-since", today)
    page.fill("#export-until", today)
    with page.expect_download() as download:
        page.click("#export-form button[type=submit]")
    saved = tmp_path / "leads.csv"
    download.value.save_as(saved)
    csv = saved.read_bytes()
    assert csv.startswith(b"\xef\xbb\xbf")
    assert lead["reference"].encode() in csv

    # Erase, after a confirmation.
    card.locator("a").click()
    expect(page.locator("#lead-title")).to_contain_text("Console Patient")
    page.click("#erase-lead")
    expect(page.locator("#confirm")).to_be_visible()
    page.click("#confirm-button")
    expect(page.locator("#lead-result")).to_contain_text("Erased")
    expect(page.locator("#lead-body")).to_be_hidden()

    # Every step is in the lead's audit trail, by this admin, and the patient's name is in none.
    # (The view after the erasure is there too, as `not_found`: every attempt is recorded.)
    expect(page.locator("#lead-audit")).to_contain_text("lead.erased")
    actions = _audit_actions(page)
    for action in ("lead.viewed", "lead.updated", "leads.exported", "lead.erased"):
        assert any(entry.startswith(f"{action} by {ADMIN} (success)") for entry in actions), (action, actions)
    assert "Console Patient" not in page.locator("#lead-audit").inner_text()

    # Signing out forgets the session: the inbox needs signing in again.
    page.click("#sign-out")
    expect(page.locator("#password-form")).to_be_visible()
    page.goto(f"{local_stack.api_url}/staff#list")
    expect(page.locator("#password-form")).to_be_visible()
    expect(page.locator("#leads")).to_be_hidden()


def test_staff_on_a_phone_see_the_inbox_without_admin_tools(phone: Page, local_stack: LocalStack) -> None:
    _submit_lead(local_stack, "Phone Inbox Patient")
    phone.goto(f"{local_stack.api_url}/staff")

    _sign_in(phone, local_stack, STAFF)

    expect(phone.locator(".lead-card", has_text="Phone Inbox Patient")).to_be_visible()
    # Nothing wider than the screen, and no export or erasure for someone not in `admin`.
    assert phone.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")
    expect(phone.locator("#export-form")).to_be_hidden()
    expect(phone.locator("#erase-person-form")).to_be_hidden()


def test_a_new_staff_member_chooses_a_password_and_sets_up_an_authenticator_app(
    page: Page, local_stack: LocalStack
) -> None:
    # Given an account as `clinic staff add` leaves it: a temporary password, no authenticator yet
    assert local_stack.template is not None
    pool = local_stack.template.refs["StaffUserPool"]
    cognito = local_stack.client("cognito-idp")
    username = "new.starter@clinic.test"
    cognito.admin_create_user(
        UserPoolId=pool,
        Username=username,
        TemporaryPassword="Temporary-Pass-123",
        UserAttributes=[{"Name": "email", "Value": username}],
        MessageAction="SUPPRESS",
    )
    cognito.admin_add_user_to_group(UserPoolId=pool, Username=username, GroupName="staff")
    page.goto(f"{local_stack.api_url}/staff")

    page.fill("#username", username)
    page.fill("#password", "Temporary-Pass-123")
    page.click("#password-form button[type=submit]")
    # A password the pool's policy refuses is explained; a strong one moves on.
    expect(page.locator("#new-password-form")).to_be_visible()
    page.fill("#new-password", "short")
    page.click("#new-password-form button[type=submit]")
    expect(page.locator("#sign-in-error")).to_be_visible()
    page.fill("#new-password", "Correct-Horse-Battery-9")
    page.click("#new-password-form button[type=submit]")

    # The setup key to type into an authenticator app, then the app's first code.
    expect(page.locator("#totp-setup-form")).to_be_visible()
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    label = f"Clinic%20staff%3A{username.replace('@', '%40')}"
    expected = f"otpauth://totp/{label}?secret={secret}&issuer=Clinic%20staff"
    assert page.locator("#totp-link").get_attribute("href") == expected
    page.fill("#setup-code", fresh_code(secret))
    page.click("#totp-setup-form button[type=submit]")

    expect(page.locator("#leads")).to_be_visible()
    expect(page.locator("#user-name")).to_have_text(username)
