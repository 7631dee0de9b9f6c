"""Shared helpers for the Terraform tests: the parsed configuration and the external tools.

Tools that may be missing (python-hcl2, checkov) skip with a message on a developer machine and
fail under AZML_CI=1, where CI is expected to install them. terraform itself always skips when
absent: CI cannot install it.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
TERRAFORM_DIR = REPO_ROOT / "terraform"
EXAMPLES_DIR = TERRAFORM_DIR / "examples"
FIXTURES_DIR = Path(__file__).resolve().parent / "fixtures"


def in_ci() -> bool:
    return os.environ.get("AZML_CI") == "1"


def missing_tool(message: str) -> None:
    """Skip locally; fail in CI (AZML_CI=1), where the tool must be installed."""
    if in_ci():
        pytest.fail(f"{message} (AZML_CI=1: CI must provide it)", pytrace=False)
    pytest.skip(message)


def terraform_bin() -> str:
    found = shutil.which("terraform")
    if found is None:
        # Never fails, not even in CI: there is no package for terraform that CI can install.
        pytest.skip("terraform is not on PATH; terraform fmt/providers/validation tests skipped")
    return found


def terraform_env() -> dict[str, str]:
    # TF_CLI_CONFIG_FILE empty silences the missing ~/.terraformrc warning; no checkpoint calls.
    return {**os.environ, "TF_CLI_CONFIG_FILE": "", "CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1"}


def checkov_bin() -> str:
    configured = os.environ.get("CHECKOV_BIN")
    candidates = [configured] if configured else [str(REPO_ROOT / ".venv-checkov" / "bin" / "checkov")]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    missing_tool(
        "checkov not found: set CHECKOV_BIN, or create it with "
        "`python3 -m venv .venv-checkov && .venv-checkov/bin/pip install checkov==3.3.30`"
    )
    raise AssertionError("unreachable")


def load_hcl(path: Path) -> dict[str, Any]:
    try:
        import hcl2
    except ImportError:
        missing_tool("python-hcl2 is not installed (pip install 'python-hcl2>=8,<9')")
    options = hcl2.SerializationOptions(strip_string_quotes=True, explicit_blocks=False, with_comments=False)
    with path.open(encoding="utf-8") as fh:
        return hcl2.load(fh, serialization_options=options)


class TerraformConfig:
    """Every top-level block of terraform/*.tf, merged across files and keyed by name."""

    def __init__(self, directory: Path) -> None:
        self.files = sorted(directory.glob("*.tf"))
        self.resources: dict[str, dict[str, Any]] = {}
        self.data: dict[str, dict[str, Any]] = {}
        self.variables: dict[str, Any] = {}
        self.outputs: dict[str, Any] = {}
        self.locals: dict[str, Any] = {}
        self.terraform: list[dict[str, Any]] = []
        self.providers: dict[str, Any] = {}
        for path in self.files:
            parsed = load_hcl(path)
            for block in parsed.get("resource", []):
                for rtype, by_name in block.items():
                    self.resources.setdefault(rtype, {}).update(by_name)
            for block in parsed.get("data", []):
                for dtype, by_name in block.items():
                    self.data.setdefault(dtype, {}).update(by_name)
            for block in parsed.get("variable", []):
                self.variables.update(block)
            for block in parsed.get("output", []):
                self.outputs.update(block)
            for block in parsed.get("locals", []):
                self.locals.update(block)
            for block in parsed.get("provider", []):
                self.providers.update(block)
            self.terraform.extend(parsed.get("terraform", []))

    def resource(self, rtype: str, name: str) -> dict[str, Any]:
        assert rtype in self.resources, f"no {rtype} resource in terraform/"
        assert name in self.resources[rtype], f"no {rtype}.{name} (have {sorted(self.resources[rtype])})"
        return self.resources[rtype][name]

    def all_resources(self) -> list[tuple[str, str, dict[str, Any]]]:
        return [(t, n, body) for t, by_name in self.resources.items() for n, body in by_name.items()]


@pytest.fixture(scope="session")
def tf() -> TerraformConfig:
    return TerraformConfig(TERRAFORM_DIR)


_HCL_REGEX_CALL = r'regex\("((?:[^"\\]|\\.)*)",\s*{target}\)'


def validation_regex(condition: str, target: str) -> str:
    """The pattern of the one ``regex("...", <target>)`` call in an HCL condition, HCL-unescaped."""
    found = re.findall(_HCL_REGEX_CALL.format(target=re.escape(target)), condition)
    assert len(found) == 1, f"expected one regex(..., {target}) in {condition!r}, found {found}"
    return re.sub(r"\\(.)", r"\1", found[0])
