"""The local stack that `make dev` runs, started on free ports for the end-to-end tests."""

from __future__ import annotations

import io
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from clinic_infra.local.stack import DevConfig, LocalStack


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    log_file = tmp_path_factory.mktemp("local-stack") / "stack.log"
    config = DevConfig(
        aws_port=free_port(),
        api_port=free_port(),
        site_port=free_port(),
        log_file=log_file,
        # Every browser request comes from 127.0.0.1: one client, so allow more than a patient.
        parameters={"RateLimitPerHour": "1000"},
    )
    stack = LocalStack(config, out=io.StringIO())
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def stack_log(local_stack: LocalStack) -> Path:
    assert local_stack.config.log_file is not None
    return local_stack.config.log_file
