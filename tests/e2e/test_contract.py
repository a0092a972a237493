"""Schemathesis fuzzes the committed OpenAPI document against the local stack `make dev` runs.

Settings, and every check turned off with its reason, are in schemathesis.toml. The staff
routes are fuzzed signed in, as the local administrator: their erasures are destructive, which
is fine on a stack of this test session's own.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

from clinic_infra.local.stack import LocalStack
from tests.staff import sign_in

ROOT = Path(__file__).resolve().parents[2]
# The local gateway's line for each answer: "[api] GET /staff/leads -> 200 (38 ms)".
_ANSWER = re.compile(r"^\[api\] (?P<method>[A-Z]+) (?P<path>/\S*) -> (?P<status>\d{3})", re.MULTILINE)


def _staff_answers(log: str) -> Counter[tuple[str, str, int]]:
    """How often each staff route answered each status, ids and files folded into the route."""
    answers: Counter[tuple[str, str, int]] = Counter()
    for found in _ANSWER.finditer(log):
        path = re.sub(r"^/staff/leads/[^/]+", "/staff/leads/{id}", found["path"].split("?")[0])
        answers[(found["method"], path, int(found["status"]))] += 1
    return answers


def test_fuzzing_finds_no_server_error_schema_violation_or_crash(
    local_stack: LocalStack, stack_log: Path
) -> None:
    schemathesis = Path(sys.executable).parent / "schemathesis"
    token = sign_in(local_stack, "admin@clinic.test")["access"]
    before = len(stack_log.read_text(encoding="utf-8"))
    result = subprocess.run(  # noqa: S603
        [str(schemathesis), "run", "openapi.json", "--url", local_stack.api_url, "--no-color"],
        cwd=ROOT,
        env={
            **os.environ,
            "SCHEMATHESIS_HOOKS": "tests.support.schemathesis_hooks",
            "PYTHONPATH": str(ROOT),
            "CLINIC_STAFF_TOKEN": token,  # schemathesis.toml's [auth.openapi.StaffToken]
        },
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    report = result.stdout[-6000:] + result.stderr[-2000:]
    assert result.returncode == 0, report
    assert "passed" in result.stdout
    assert "Seed: 20261127" in result.stdout  # the fixed seed in schemathesis.toml was used
    # Nothing the fuzzer sent crashed a function or reached the catch-all error handler.
    log = stack_log.read_text(encoding="utf-8")
    assert "Traceback" not in log
    assert "Unhandled error" not in log
    assert " failed: " not in log
    # Signed in, the fuzzer reached the staff function on every kind of route, and without the
    # token (ignored_auth's probes) API Gateway turned it away first.
    answers = _staff_answers(log[before:])
    for reached in (
        ("GET", "/staff/leads", 200),
        ("GET", "/staff/leads/{id}/audit", 200),
        ("GET", "/staff/exports/leads.csv", 200),
        ("POST", "/staff/erasures", 200),
        ("DELETE", "/staff/leads/{id}", 204),
        ("PATCH", "/staff/leads/{id}", 428),
    ):
        assert answers[reached], (reached, sorted(answers.items()))
    assert answers[("GET", "/staff/leads", 401)]
    assert "token refused (no token)" in log[before:]
