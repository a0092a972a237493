"""The local stack that `make dev` runs, started on free ports for the end-to-end tests.

Its functions record their AWS calls (CLINIC_AWS_CALL_LOG); after each test that used the
stack, the calls recorded since are checked against each function's role (tests/iam), and
once more after the stack stops, for calls the stream or the schedule made after the last test.
"""

from __future__ import annotations

import io
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from clinic_infra.local.calls import read_calls
from clinic_infra.local.stack import DevConfig, LocalStack
from clinic_infra.template import StackTemplate
from tests.iam.recording import unauthorized


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class StackCalls:
    """The local functions' recorded AWS calls, checked against their roles as they come in."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.template: StackTemplate | None = None
        self.checked = 0
        self._offset = 0

    def refused(self) -> list[str]:
        """What of the calls recorded since the last look the functions' roles do not allow."""
        if self.template is None:
            return []
        calls, self._offset = read_calls(str(self.path), self._offset)
        self.checked += len(calls)
        return unauthorized(calls, self.template)


def _fail_if(problems: list[str]) -> None:
    if problems:
        pytest.fail("AWS would refuse calls the local stack made:\n" + "\n".join(problems), pytrace=False)


@pytest.fixture(scope="session")
def stack_calls(tmp_path_factory: pytest.TempPathFactory) -> StackCalls:
    return StackCalls(tmp_path_factory.mktemp("aws-calls") / "calls.jsonl")


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory, stack_calls: StackCalls) -> Iterator[LocalStack]:
    log_file = tmp_path_factory.mktemp("local-stack") / "stack.log"
    config = DevConfig(
        aws_port=free_port(),
        api_port=free_port(),
        site_port=free_port(),
        log_file=log_file,
        # Every browser request comes from 127.0.0.1: one client, so allow more than a patient.
        parameters={"RateLimitPerHour": "1000"},
        aws_call_log=stack_calls.path,
    )
    stack = LocalStack(config, out=io.StringIO())
    stack.start()
    stack_calls.template = stack.template
    try:
        yield stack
    finally:
        stack.stop()
    _fail_if(stack_calls.refused())


@pytest.fixture(autouse=True)
def _local_stack_calls_allowed(request: pytest.FixtureRequest) -> Iterator[None]:
    calls = request.getfixturevalue("stack_calls") if "local_stack" in request.fixturenames else None
    yield
    if calls is not None:
        _fail_if(calls.refused())


@pytest.fixture(scope="session")
def stack_log(local_stack: LocalStack) -> Path:
    assert local_stack.config.log_file is not None
    return local_stack.config.log_file


CHROMIUM = "/usr/bin/chromium"
# Without the background-networking switches Chromium keeps dialling Google, which this
# machine's closed network refuses.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One Chromium for every browser test: Playwright cannot start a second in the same thread."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
