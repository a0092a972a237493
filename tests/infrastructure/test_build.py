"""The deployment package holds this project's code and what the Powertools layer lacks, nothing else."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def _requirements() -> list[str]:
    lines = (ROOT / "functions" / "requirements.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


TRANSITIVE = {"dnspython", "idna"}  # email-validator's dependencies


def test_function_requirements_match_pyproject_ranges() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    declared_names = {_name(requirement) for requirement in declared}
    for requirement in _requirements():
        if _name(requirement) in TRANSITIVE:
            continue
        assert _name(requirement) in declared_names, f"{requirement} is not a dependency in pyproject.toml"
        assert requirement in declared, f"{requirement} differs from pyproject.toml"


def test_build_target_packages_only_project_code_and_missing_dependencies(tmp_path: Path) -> None:
    # When the target that `sam build` runs builds the articles function
    subprocess.run(  # noqa: S603
        [  # noqa: S607 - make from PATH, as sam build runs it
            "make",
            "--no-print-directory",
            "-C",
            str(ROOT / "functions"),
            "build-ArticlesFunction",
            f"ARTIFACTS_DIR={tmp_path}",
        ],
        check=True,
        capture_output=True,
    )
    # Then the package holds the clinic package, no tests or tools, and only the listed extras
    top_level = {path.name for path in tmp_path.iterdir()}
    assert "clinic" in top_level
    assert (
        not {"clinic_infra", "tests", "moto", "boto3", "botocore", "aws_lambda_powertools", "pydantic"}
        & top_level
    )
    assert not list(tmp_path.rglob("__pycache__"))
    installed = {_name(path.name.split("-")[0]) for path in tmp_path.glob("*.dist-info")}
    assert (
        installed <= {_name(requirement) for requirement in _requirements()} | _dependencies_of_requirements()
    )


def _dependencies_of_requirements() -> set[str]:
    # email-validator brings dnspython and idna; nothing else may come in.
    return {"dnspython", "idna"}


def test_the_functions_never_import_the_aws_type_stubs() -> None:
    # The stubs are a development dependency (mypy only): the deployment package lacks them, so
    # a module that imported one outside `if TYPE_CHECKING:` would fail on its first cold start.
    code = (
        "import importlib, pkgutil, sys\n"
        "import clinic\n"
        "for module in pkgutil.walk_packages(clinic.__path__, 'clinic.'):\n"
        "    importlib.import_module(module.name)\n"
        "print(' '.join(sorted(name for name in sys.modules if name.startswith('mypy_boto3'))))\n"
    )
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    )
    assert result.stdout.strip() == ""


def test_every_function_the_template_builds_with_make_has_a_target(template: dict[str, Any]) -> None:
    # sam build runs `make build-<LogicalId>`: a function without its target fails the build.
    built_with_make = [
        name
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
        and resource.get("Metadata", {}).get("BuildMethod") == "makefile"
    ]
    assert built_with_make
    for name in built_with_make:
        dry_run = subprocess.run(  # noqa: S603
            ["make", "-n", "-C", str(ROOT / "functions"), f"build-{name}", "ARTIFACTS_DIR=/tmp/x"],  # noqa: S607
            capture_output=True,
            check=False,
        )
        assert dry_run.returncode == 0, f"functions/Makefile has no build-{name}"
