"""The console's quarantine view in Chromium against the local stack: a held request shows why,
a staff member releases it, and the local outbox gets its staff email exactly once."""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import UTC, datetime
from typing import Any

from boto3.dynamodb.types import TypeSerializer
from playwright.sync_api import Page, expect

from clinic.consultations.service import new_lead_id
from clinic.leads.record import LeadStatus, StoredLead, new_reference
from clinic_infra.local.stack import LocalStack
from tests.e2e.test_console import STAFF, _sign_in, page  # noqa: F401 (the console page fixture)


def _hold_lead(stack: LocalStack, name: str, reason: str) -> StoredLead:
    """A lead as intake stores one that failed a spam test (the stream delivers its insert)."""
    assert stack.template is not None
    now = datetime.now(UTC)
    lead = StoredLead(
        id=new_lead_id(now.timestamp()),
        created_at=now,
        reference=new_reference(),
        status=LeadStatus.QUARANTINED,
        quarantine_reason=reason,
        name=name,
        email="held.console@example.org",
        preferred_contact="email",
        expires_at=int(now.timestamp()) + 30 * 86400,
    )
    item = {key: TypeSerializer().serialize(value) for key, value in lead.to_item().items()}
    stack.client("dynamodb").put_item(TableName=stack.template.refs["LeadsTable"], Item=item)
    return lead


def _staff_emails(stack: LocalStack, reference: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{stack.api_url}/_local/outbox.json", timeout=10) as response:  # noqa: S310
        return [email for email in json.loads(response.read()) if reference in email["subject"]]


def test_staff_release_a_held_request_from_the_quarantine_view_and_are_emailed_once(
    page: Page,  # noqa: F811
    local_stack: LocalStack,
) -> None:
    lead = _hold_lead(local_stack, "Quarantine Console Patient", "honeypot")
    assert lead.reference is not None
    time.sleep(3)  # the stream delivers the insert within a second or two; it must send nothing
    assert _staff_emails(local_stack, lead.reference) == []

    page.goto(f"{local_stack.api_url}/staff")
    _sign_in(page, local_stack, STAFF)
    expect(page.locator("#leads")).to_be_visible()
    # Not in the inbox's default view; in the quarantine view, with its reason.
    expect(page.locator(".lead-card", has_text="Quarantine Console Patient")).to_have_count(0)
    page.select_option("#status-filter", "quarantined")
    page.click("#filter-form button[type=submit]")
    card = page.locator(".lead-card", has_text="Quarantine Console Patient")
    expect(card).to_contain_text("A field hidden from people was filled in")
    card.locator("a").click()
    expect(page.locator("#quarantine-panel")).to_be_visible()
    expect(page.locator("#quarantine-reason")).to_contain_text("hidden from people")

    page.click("#release-lead")
    expect(page.locator("#lead-result")).to_contain_text("Released")
    expect(page.locator("#lead-facts")).to_contain_text("New")
    expect(page.locator("#quarantine-panel")).to_be_hidden()

    # The sweeper's next run (run now rather than in 15 minutes) sends the staff email, once.
    sweeper = local_stack.schedules["SweeperFunction"]
    assert sweeper.run_once()["released"] == 1
    assert sweeper.run_once()["released"] == 0
    (email,) = _staff_emails(local_stack, lead.reference)
    assert "Quarantine Console Patient" not in json.dumps(email)
    # The inbox has it now, as new.
    page.click("#back-to-list")
    page.select_option("#status-filter", "")
    page.click("#filter-form button[type=submit]")
    expect(page.locator(".lead-card", has_text="Quarantine Console Patient")).to_contain_text("New")
