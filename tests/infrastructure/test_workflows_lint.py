"""The GitHub workflows against GitHub's workflow schema (check-jsonschema) and zizmor's audit.

Marked `lint`, like the template lints: `make lint` runs them, once per `make test`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
BIN = Path(sys.executable).parent
pytestmark = pytest.mark.lint


def _schema(*paths: Path) -> subprocess.CompletedProcess[str]:
    command = [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *map(str, paths)]
    return subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)  # noqa: S603


def _zizmor(*paths: Path) -> tuple[int, set[str]]:
    """zizmor's exit status and the audits that found something, offline (no GitHub API)."""
    command = [str(BIN / "zizmor"), "--offline", "--quiet", "--format", "json", *map(str, paths)]
    result = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)  # noqa: S603
    return result.returncode, {finding["ident"] for finding in json.loads(result.stdout or "[]")}


def test_there_are_the_two_workflows() -> None:
    assert [path.name for path in WORKFLOWS] == ["ci.yml", "deploy.yml"]


def test_the_workflows_follow_githubs_workflow_schema() -> None:
    result = _schema(*WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_finds_nothing_in_the_workflows() -> None:
    assert _zizmor(*WORKFLOWS) == (0, set())


def test_the_schema_refuses_a_job_without_a_runner(tmp_path: Path) -> None:
    workflow = tmp_path / "broken.yml"
    workflow.write_text("name: broken\non: push\njobs:\n  test:\n    steps:\n      - run: make test\n")
    assert _schema(workflow).returncode != 0


def test_zizmor_reports_an_injectable_unpinned_workflow(tmp_path: Path) -> None:
    workflow = tmp_path / "unsafe.yml"
    workflow.write_text(
        "name: unsafe\non: pull_request\njobs:\n  greet:\n    runs-on: ubuntu-24.04\n    steps:\n"
        "      - uses: actions/checkout@v4\n"
        '      - run: echo "${{ github.event.pull_request.title }}"\n'
    )
    status, findings = _zizmor(workflow)
    assert status != 0
    assert {"template-injection", "unpinned-uses", "artipacked"} <= findings
