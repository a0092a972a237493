"""`clinic doctor --local --send-test-lead` against the local stack, as an operator runs it."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import urllib.request

import pytest

from clinic_infra import stack_view
from clinic_infra.doctor import CHECKS, FAIL, NOT_CHECKABLE, PASS, check_cors, run_doctor
from clinic_infra.local.stack import LocalStack

# What moto cannot answer, so the local stack cannot show it; never ✓.
NOT_CHECKABLE_LOCALLY = {"ses", "sender", "ops", "layer", "protected"}
TEST_LEAD_LINE = "a test lead reaches staff and is deleted"


@pytest.fixture(scope="module")
def doctor_run(local_stack: LocalStack) -> subprocess.CompletedProcess[str]:
    command = [
        *(sys.executable, "-m", "clinic_infra.cli", "doctor", "--local", "--send-test-lead"),
        *("--api-url", local_stack.api_url, "--aws-url", local_stack.aws_url, "--test-lead-timeout", "60"),
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)  # noqa: S603


def _lines(run: subprocess.CompletedProcess[str]) -> dict[str, str]:
    return {title: text for text in run.stdout.splitlines() for title in _titles() if f" {title}: " in text}


def _titles() -> list[str]:
    return [check.title for check in CHECKS] + [TEST_LEAD_LINE]


def test_the_local_stack_passes_every_check_it_can_answer(
    doctor_run: subprocess.CompletedProcess[str],
) -> None:
    lines = _lines(doctor_run)
    assert set(lines) == set(_titles()), doctor_run.stdout
    for check in CHECKS:
        expected = NOT_CHECKABLE if check.name in NOT_CHECKABLE_LOCALLY else PASS
        assert lines[check.title].startswith(f"{expected} "), doctor_run.stdout
    for name in NOT_CHECKABLE_LOCALLY:
        assert "not checkable locally (" in next(lines[check.title] for check in CHECKS if check.name == name)
    assert lines[TEST_LEAD_LINE].startswith(PASS), doctor_run.stdout
    assert not [text for text in doctor_run.stdout.splitlines() if text.startswith(FAIL)]
    assert doctor_run.stdout.splitlines()[-1] == (
        f"{len(CHECKS) - len(NOT_CHECKABLE_LOCALLY) + 1} ✓, 0 ✗, {len(NOT_CHECKABLE_LOCALLY)} not checkable "
        "locally. Leads will reach staff."
    )
    assert doctor_run.returncode == 0, doctor_run.stderr


def _test_lead(run: subprocess.CompletedProcess[str]) -> tuple[str, str]:
    """The test lead's id and reference, as the doctor reports them."""
    line = _lines(run)[TEST_LEAD_LINE]
    found = re.search(r"lead ([0-9A-Z]{26}) \(reference ([0-9A-Z]{4}-[0-9A-Z]{4})\): staff email sent", line)
    assert found, run.stdout
    return found.group(1), found.group(2)


def test_staff_received_the_test_lead_marked_as_a_test(
    local_stack: LocalStack, doctor_run: subprocess.CompletedProcess[str]
) -> None:
    _, reference = _test_lead(doctor_run)
    with urllib.request.urlopen(f"{local_stack.api_url}/_local/outbox.json", timeout=10) as response:  # noqa: S310
        emails = [email for email in json.load(response) if reference in email["subject"]]
    assert [email["subject"] for email in emails] == [f"[Test] New consultation request {reference}"]
    assert "This is a test lead from clinic doctor" in emails[0]["text"]
    assert (
        emails[0]["to"] == local_stack.template.functions()["NotifierFunction"].environment["STAFF_ADDRESSES"]
    )


def test_the_test_lead_is_gone_afterwards(
    local_stack: LocalStack, doctor_run: subprocess.CompletedProcess[str]
) -> None:
    assert local_stack.template is not None
    item = local_stack.client("dynamodb").get_item(
        TableName=local_stack.template.refs["LeadsTable"],
        Key={"id": {"S": _test_lead(doctor_run)[0]}},
        ConsistentRead=True,
    )
    assert "Item" not in item


def test_an_origin_the_api_does_not_allow_fails_with_its_fix(local_stack: LocalStack) -> None:
    """The stack's AllowedOrigins names an origin API Gateway's CORS does not allow (a drift)."""
    view = stack_view.local_stack(local_stack.api_url, local_stack.aws_url)
    view.parameters["AllowedOrigins"] += ",https://www.not-configured.example"
    cors = next(check for check in CHECKS if check.run is check_cors)
    out = io.StringIO()
    assert run_doctor(view, out, checks=[cors]) == 1
    text, fix = out.getvalue().splitlines()[1:3]
    assert text == (
        f"{FAIL} {cors.title}: the preflight of POST /consultations is refused for https://www.not-configured.example"
    )
    assert fix.startswith("    fix: deploy the stack again so API Gateway's CORS matches AllowedOrigins")


def test_doctor_without_a_local_stack_exits_1() -> None:
    from tests.e2e.conftest import free_port

    closed = f"http://127.0.0.1:{free_port()}"
    run = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "clinic_infra.cli", "doctor", "--local", "--api-url", closed],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 1
    assert f"✗ no local stack answers on {closed}" in run.stderr
    assert "make dev" in run.stderr
