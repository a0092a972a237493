"""The daily quarantine digest, through the handler the template names: staff are told how many
requests wait (a count, nothing else), and nothing at all on a day none do."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from clinic_infra.template import StackTemplate
from tests.helpers import FakeLambdaContext
from tests.integration.conftest import Hooks, invoke, load_handler, notifier_event
from tests.integration.test_notifications import sent_emails, submit
from tests.integration.test_quarantine import put_quarantined_lead


def _run(stack: StackTemplate, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    digest = load_handler(stack, "QuarantineDigestFunction", monkeypatch)
    return digest.digest_handler({}, FakeLambdaContext(remaining_ms=60_000))  # type: ignore[no-any-return]


def _text(email: Any) -> str:
    return str(email.get_body(preferencelist=("plain",)).get_content())


def test_no_digest_on_a_day_nothing_waits(
    stack: StackTemplate, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A lead that reached staff the ordinary way is not in quarantine
    consultations = load_handler(stack, "ConsultationsFunction", monkeypatch)
    submit(consultations)
    assert _run(stack, monkeypatch) == {"waiting": 0}
    assert sent_emails() == []
    assert '"QuarantineWaiting":[0.0]' in capsys.readouterr().out


def test_the_digest_gives_staff_the_count_only_with_a_link_to_the_quarantine(
    stack: StackTemplate,
    monkeypatch: pytest.MonkeyPatch,
    boto_hooks: Hooks,
    capsys: pytest.CaptureFixture[str],
) -> None:
    put_quarantined_lead(stack, "honeypot", name="Digest Patient One", message="Private words")
    put_quarantined_lead(stack, "proof_of_work_missing", name="Digest Patient Two")
    put_quarantined_lead(
        stack, "proof_of_work_invalid", age=timedelta(days=31)
    )  # past quarantine's retention
    consultations = load_handler(stack, "ConsultationsFunction", monkeypatch)
    submit(consultations)  # an ordinary lead: not counted
    notifier = load_handler(stack, "NotifierFunction", monkeypatch)
    assert invoke(notifier, notifier_event(stack)) == {"batchItemFailures": []}
    before = len(sent_emails())
    used: list[str | None] = []
    boto_hooks(
        "provide-client-params.sesv2.SendEmail",
        lambda params, **_: used.append(params.get("ConfigurationSetName")),
    )

    assert _run(stack, monkeypatch) == {"waiting": 2}

    (digest,) = sent_emails()[before:]
    assert digest["Subject"] == "2 consultation requests are waiting in quarantine"
    assert digest["To"] == "staff@example-clinic.com"
    text = _text(digest)
    assert text.startswith("2 consultation requests are waiting in quarantine")
    assert text.rstrip().endswith("/staff#quarantine")
    whole = digest.as_string()
    for value in ("Digest Patient", "Held Patient", "held.patient", "Private words", "honeypot", "altcha"):
        assert value not in whole
    assert used == [stack.refs["EmailConfigurationSet"]]
    assert '"QuarantineWaiting":[2.0]' in capsys.readouterr().out


def test_one_waiting_request_reads_as_one(stack: StackTemplate, monkeypatch: pytest.MonkeyPatch) -> None:
    put_quarantined_lead(stack)
    assert _run(stack, monkeypatch) == {"waiting": 1}
    (digest,) = sent_emails()
    assert digest["Subject"] == "1 consultation request is waiting in quarantine"
