from __future__ import annotations

from typing import Any

import pytest

from clinic_infra.template import load_template, translate


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    """template.yaml as written (SAM)."""
    return load_template()


@pytest.fixture(scope="session")
def translated(template: dict[str, Any]) -> dict[str, Any]:
    """template.yaml after the SAM transform: what CloudFormation deploys."""
    return translate(template)


def resources_of_type(document: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in document["Resources"].items() if res["Type"] == resource_type}
