"""Fixtures: moto as the embedded AWS, with resources made from template.yaml itself."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from clinic_infra.provision import provision
from clinic_infra.template import StackTemplate
from tests.iam.recording import checked_handler_calls

# Fake credentials and region, so that nothing can reach a real AWS account.
FAKE_AWS_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
}


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and region, so that nothing can reach a real AWS account."""
    for name, value in FAKE_AWS_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def aws(aws_credentials: None) -> Iterator[None]:
    with mock_aws():
        # A session of the test's own: the clients handlers make from it see the test's hooks.
        boto3.setup_default_session()
        yield


@pytest.fixture
def stack(aws: None) -> Iterator[StackTemplate]:
    """Every stateful resource of template.yaml, created in moto from its own definition.

    Each AWS call a handler makes during the test must be one its role allows (tests/iam).
    """
    stack = provision(StackTemplate())
    with checked_handler_calls(stack):
        yield stack
