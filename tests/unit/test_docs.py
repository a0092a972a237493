"""The documents point at tests that exist, so they cannot drift from what is proven."""

from __future__ import annotations

import json
import re
import shutil
import subprocess  # nosec B404 - asks git which files the repository holds
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


def test_the_fault_catalogue_covers_every_fault_the_service_must_survive() -> None:
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


def test_the_api_contract_describes_every_route_the_handlers_serve() -> None:
    contract = (ROOT / "docs/api.md").read_text()
    document = json.loads((ROOT / "openapi.json").read_text())
    for path, operations in document["paths"].items():
        for method in operations:
            assert f"`{method.upper()} {path}`" in contract, f"docs/api.md does not describe {method} {path}"


def test_nothing_in_the_repository_points_outside_it() -> None:
    git = shutil.which("git")
    assert git is not None
    tracked = subprocess.run(  # noqa: S603 - git, on this repository
        [git, "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.split("\0")
    outside = re.compile(r"\.\./shared|DESIGN\.md")
    for name in filter(None, tracked):
        path = ROOT / name
        if path.suffix in {".png", ".jpg", ".ico"} or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        assert not outside.search(text), f"{name} points at a file a clone does not have"
