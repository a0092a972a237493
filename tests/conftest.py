"""Fixtures: moto as the embedded AWS, with resources made from template.yaml itself."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws

from clinic_infra.provision import provision
from clinic_infra.template import StackTemplate


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and region, so that nothing can reach a real AWS account."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def aws(aws_credentials: None) -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def stack(aws: None) -> StackTemplate:
    """Every stateful resource of template.yaml, created in moto from its own definition."""
    return provision(StackTemplate())
