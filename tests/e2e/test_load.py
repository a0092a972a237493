"""`make load`, smaller: a burst through a stack of its own with several containers per function."""

from __future__ import annotations

from pathlib import Path

from clinic_infra.local.load import LoadPlan, load_stack, run_load

# Bounds that keep a slow, shared machine from failing the test; they measure nothing.
PLAN = LoadPlan(requests=120, clients=6, deadline_seconds=180, settle_seconds=180)


def test_a_burst_with_double_clicks_and_reused_keys_stores_and_emails_each_lead_once(tmp_path: Path) -> None:
    with load_stack(concurrency=3, log_file=tmp_path / "stack.log") as stack:
        report = run_load(stack, PLAN)

    assert report.problems == [], report.figures()
    assert report.addresses > 1
    assert report.peak_concurrency > 1  # containers ran side by side
    assert (report.new_requests, report.stored, report.lost, report.doubled) == (90, 90, 0, 0)
    assert (report.repeats, report.repeats_first_id, report.double_clicks) == (24, 24, 12)
    assert (report.conflicts, report.conflicts_409) == (6, 6)
    assert report.leads_emailed_once == 90
