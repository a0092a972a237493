"""The Makefile's targets as a newcomer runs them: `make dev DEV_ARGS=…`, `make build`, `make deploy`."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _make(*arguments: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    # -o: take the virtual environment as made, so that no target reinstalls it here.
    command = ["make", "--no-print-directory", "-s", "-C", str(ROOT), "-o", ".venv/.installed", *arguments]
    process = subprocess.Popen(  # noqa: S603
        command,
        env=env or dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # so that a target that does not return is stopped whole
    )
    try:
        output, _ = process.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
        raise AssertionError(f"make {' '.join(arguments)} did not return:\n{output[-3000:]}") from None
    return subprocess.CompletedProcess(command, process.returncode, output, "")


def test_make_dev_passes_dev_args_to_clinic_dev() -> None:
    result = _make("dev", "DEV_ARGS=--help")
    assert result.returncode == 0, result.stdout
    assert "usage: clinic dev" in result.stdout
    assert "--verbose" in result.stdout


def test_make_build_and_deploy_run_sam_without_its_telemetry(tmp_path: Path) -> None:
    # A stand-in for the SAM CLI that records the telemetry setting it was run with.
    record = tmp_path / "sam-calls"
    sam = tmp_path / "sam"
    sam.write_text(f'#!/bin/sh\necho "telemetry=${{SAM_CLI_TELEMETRY-on}} $*" >> {record}\n')
    sam.chmod(0o755)
    env = {key: value for key, value in os.environ.items() if key != "SAM_CLI_TELEMETRY"}
    result = _make("deploy", f"SAM={sam}", env=env)
    assert result.returncode == 0, result.stdout
    assert record.read_text().splitlines() == ["telemetry=0 build", "telemetry=0 deploy --guided"]
