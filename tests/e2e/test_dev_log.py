"""What `make dev` prints while someone uses the local stack: request lines a person can read,
metrics as one short line each, and a hint when the local rate limit answers 429."""

from __future__ import annotations

import io
import json
import re
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from clinic_infra.cli import build_parser
from clinic_infra.local.stack import DevConfig, LocalStack, dev_config
from tests.e2e.conftest import free_port
from tests.helpers import altcha_from_api


@dataclass
class LoggedStack:
    stack: LocalStack
    console: io.StringIO
    log_file: Path

    def post_consultation(self, key: str) -> int:
        fields = {"name": "Log Patient", "email": "log@example.org", "consent": True}
        body = json.dumps({**fields, "altcha": altcha_from_api(self.stack.api_url)}).encode()  # a new lead
        request = urllib.request.Request(  # noqa: S310 - local URL
            f"{self.stack.api_url}/consultations",
            data=body,
            method="POST",
            headers={"content-type": "application/json", "idempotency-key": key},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                return int(response.status)
        except urllib.error.HTTPError as error:
            return error.code


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoggedStack]:
    log_file = tmp_path_factory.mktemp("dev-log") / "stack.log"
    console = io.StringIO()
    config = DevConfig(
        aws_port=free_port(),
        api_port=free_port(),
        site_port=free_port(),
        log_file=log_file,
        # One stored request an hour, so that the second is refused as a patient's would be.
        parameters={"RateLimitPerHour": "1"},
        stack_name="clinic-devlog",
        concurrency=2,
        watch_content=False,
    )
    stack = LocalStack(config, out=console)
    stack.start()
    try:
        yield LoggedStack(stack, console, log_file)
    finally:
        stack.stop()


def test_metrics_show_as_one_short_line_and_raw_only_in_the_log_file(logged: LoggedStack) -> None:
    assert logged.post_consultation("dev-log-1") == 201
    console = logged.console.getvalue()
    assert "[ConsultationsFunction] metrics: LeadCreated=1" in console
    assert '"_aws"' not in console
    assert re.search(r'^\[ConsultationsFunction\] \{"_aws".*"LeadCreated"', logged.log_file.read_text(), re.M)


def test_clinic_dev_verbose_prints_the_raw_metric_line(logged: LoggedStack) -> None:
    raw = next(line for line in logged.log_file.read_text().splitlines() if '"_aws"' in line)
    source, _, line = raw.partition(" ")
    verbose = io.StringIO()
    config = dev_config(build_parser().parse_args(["dev", "--verbose"]))
    LocalStack(config, out=verbose).log(source.strip("[]"), line)
    assert verbose.getvalue() == raw + "\n"


def test_a_local_429_says_how_to_raise_the_rate_limit(logged: LoggedStack) -> None:
    statuses = [logged.post_consultation(f"dev-log-limit-{attempt}") for attempt in range(2)]
    assert statuses[-1] == 429
    hint = "[dev] 429: the consultation rate limit (1 an hour per client address) was reached"
    assert hint in logged.console.getvalue()
    assert "--parameter RateLimitPerHour=50" in logged.console.getvalue()
