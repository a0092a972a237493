"""The documents point at tests that exist, so they cannot drift from what is proven."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = re.compile(r"`(tests/[\w/]+\.py)::(test_\w+)`")


@pytest.mark.parametrize("document", ["docs/reliability.md", "docs/performance.md"])
def test_every_test_a_document_cites_exists(document: str) -> None:
    references = REFERENCE.findall((ROOT / document).read_text())
    assert references or document != "docs/reliability.md"
    for path, name in references:
        assert re.search(rf"^def {name}\(", (ROOT / path).read_text(), re.MULTILINE), f"{path}::{name}"


def test_the_fault_catalogue_covers_every_fault_issue_6_names() -> None:
    catalogue = (ROOT / "docs/reliability.md").read_text()
    faults = [
        "DynamoDB throttles",
        "DynamoDB unavailable",
        "S3 object missing",
        "S3 failing",
        "SES rejects",
        "SNS denies",
        "KMS denies",
        "poisoned record",
        "lost write response",
        "racing",
    ]
    for fault in faults:
        assert fault in catalogue
