"""cfn-lint on the template as written and as CloudFormation receives it after the SAM transform."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CFN_LINT = Path(sys.executable).parent / "cfn-lint"
pytestmark = pytest.mark.lint  # `make lint` runs these


def _lint(*paths: Path) -> subprocess.CompletedProcess[str]:
    # Run from the repository root so that .cfnlintrc.yaml (with its reasons) applies.
    return subprocess.run(  # noqa: S603
        [str(CFN_LINT), *map(str, paths)], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_the_templates_are_cfn_lint_clean() -> None:
    # The stack, and the role GitHub Actions deploys it with, in one run.
    result = _lint(ROOT / "template.yaml", ROOT / "infrastructure" / "github-deploy-role.yaml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_translated_template_is_cfn_lint_clean(translated: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "translated.json"
    path.write_text(json.dumps(translated))
    result = _lint(path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_cfn_lint_reports_a_broken_template(tmp_path: Path) -> None:
    # Given the template with a property CloudFormation does not know
    broken = (
        (ROOT / "template.yaml")
        .read_text()
        .replace(
            "      Handler: clinic.articles.handler.lambda_handler\n",
            "      Handler: clinic.articles.handler.lambda_handler\n      Handller: typo\n",
        )
    )
    path = tmp_path / "template.yaml"
    path.write_text(broken)
    # Then the lint that guards the real template fails on it
    assert _lint(path).returncode != 0
