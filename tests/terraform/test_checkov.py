"""checkov, from its own virtual environment (it ships a fork of python-hcl2 that breaks ours),
run offline: no download of external checks, no update check, no guideline mapping.

hardened.tfvars must pass everything. quickstart.tfvars must fail exactly the public-network
checks, which .checkov.yaml lists with their reasons; everything else is either passing or
skipped with a reason inline or in .checkov.yaml."""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest
from conftest import EXAMPLES_DIR, REPO_ROOT, TERRAFORM_DIR, checkov_bin

CHECKOV_CONFIG = TERRAFORM_DIR / ".checkov.yaml"

# Public access on, no allowlist: the storage account, the Key Vault and the workspace answer
# the internet (after Entra ID sign-in). That is what the quickstart profile is for.
QUICKSTART_EXPECTED_FAILURES = {
    "CKV_AZURE_59",  # storage: public network access enabled
    "CKV_AZURE_35",  # storage: firewall default action Allow
    "CKV_AZURE_189",  # Key Vault: public network access enabled
    "CKV_AZURE_109",  # Key Vault: firewall default action Allow
    "CKV_AZURE_144",  # ML workspace: public network access enabled
    "CKV2_AZURE_49",  # ML workspace: overly permissive network access
}

# Checks that must run and pass in every profile: what makes this configuration secure by default.
MUST_PASS_EVERYWHERE = {
    "CKV_AZURE_3",  # storage: HTTPS only
    "CKV_AZURE_44",  # storage: TLS 1.2
    "CKV_AZURE_190",  # storage: no public blob access
    "CKV2_AZURE_47",  # storage: no anonymous blob access
    "CKV2_AZURE_40",  # storage: shared key off
    "CKV2_AZURE_38",  # storage: soft delete
    "CKV_AZURE_206",  # storage: geo-replication
    "CKV_AZURE_34",  # containers private
    "CKV_AZURE_110",  # Key Vault purge protection
    "CKV_AZURE_42",  # Key Vault recoverable
    "CKV_AZURE_142",  # cluster local auth off
    "CKV_AZURE_150",  # cluster min nodes 0
    "CKV2_AZURE_50",  # HBI workspace storage not public
}


def checkov_command(var_file: str | None) -> list[str]:
    command = [
        checkov_bin(),
        "--directory",
        str(TERRAFORM_DIR),
        "--config-file",
        str(CHECKOV_CONFIG),
        "--framework",
        "terraform",
        "--skip-download",
        "--output",
        "json",
        "--soft-fail",
    ]
    if var_file:
        command += ["--var-file", str(EXAMPLES_DIR / var_file)]
    return command


def parse_report(name: str, returncode: int, stdout: str, stderr: str) -> dict:
    assert returncode == 0, f"checkov ({name}) crashed, exit {returncode}:\n{stderr[-3000:]}"
    report = json.loads(stdout)
    if isinstance(report, list):  # a list when several frameworks ran
        (report,) = [r for r in report if r.get("check_type") == "terraform"]
    assert report["summary"]["parsing_errors"] == 0, report["summary"]
    return report


PROFILES = {"defaults": None, "hardened": "hardened.tfvars", "quickstart": "quickstart.tfvars"}


@pytest.fixture(scope="module")
def reports() -> dict[str, dict]:
    """One checkov run per profile, the three in parallel (each takes a few seconds)."""
    env = {
        **os.environ,
        # Offline: no Prisma Cloud guideline mapping, no PyPI update check.
        "BC_SKIP_MAPPING": "TRUE",
        "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true",
    }
    commands = {name: checkov_command(var_file) for name, var_file in PROFILES.items()}
    running = {
        name: subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        for name, command in commands.items()
    }
    results = {}
    try:
        for name, process in running.items():
            stdout, stderr = process.communicate(timeout=300)
            results[name] = parse_report(name, process.returncode, stdout, stderr)
    finally:
        for process in running.values():
            if process.poll() is None:
                process.kill()
                process.wait()
    return results


@pytest.fixture
def hardened(reports) -> dict:
    return reports["hardened"]


@pytest.fixture
def quickstart(reports) -> dict:
    return reports["quickstart"]


def ids(report: dict, kind: str) -> set[str]:
    return {check["check_id"] for check in report["results"].get(kind, [])}


def describe(report: dict) -> str:
    return "\n".join(
        f"{c['check_id']} {c['resource']}: {c['check_name']}" for c in report["results"].get("failed_checks", [])
    )


def test_hardened_profile_fails_no_check(hardened):
    assert hardened["summary"]["failed"] == 0, describe(hardened)
    assert hardened["summary"]["passed"] >= 20, hardened["summary"]


def test_default_variables_fail_no_check(reports):
    """Secure by default: without any tfvars (public access off) nothing fails either."""
    assert reports["defaults"]["summary"]["failed"] == 0, describe(reports["defaults"])


def test_quickstart_fails_exactly_the_public_network_checks(quickstart):
    assert ids(quickstart, "failed_checks") == QUICKSTART_EXPECTED_FAILURES, describe(quickstart)


def test_public_network_checks_pass_in_the_hardened_profile(hardened):
    assert QUICKSTART_EXPECTED_FAILURES <= ids(hardened, "passed_checks")


@pytest.mark.parametrize("profile", ["hardened", "quickstart"])
def test_security_baseline_passes_in_every_profile(request, profile):
    report = request.getfixturevalue(profile)
    missing = MUST_PASS_EVERYWHERE - ids(report, "passed_checks")
    assert not missing, f"{profile}: not passing {sorted(missing)}\n{describe(report)}"


def test_every_expected_quickstart_failure_is_documented_in_checkov_yaml():
    text = CHECKOV_CONFIG.read_text(encoding="utf-8")
    for check_id in QUICKSTART_EXPECTED_FAILURES:
        assert re.search(rf"^#\s+{check_id}\s+\S", text, re.MULTILINE), f"{check_id} has no reason in .checkov.yaml"


def test_every_skip_carries_a_reason(hardened):
    skipped = hardened["results"].get("skipped_checks", [])
    assert skipped, "expected the inline skips to be reported"
    for check in skipped:
        comment = check.get("check_result", {}).get("suppress_comment", "")
        assert len(comment) > 30, f"{check['check_id']} on {check['resource']} is skipped without a reason"
    text = CHECKOV_CONFIG.read_text(encoding="utf-8")
    lines = text.splitlines()
    for number, line in enumerate(lines):
        entry = re.match(r"^\s+-\s+(CKV\S+)", line)
        if entry:
            assert lines[number - 1].lstrip().startswith("#"), f"{entry.group(1)} skipped without a comment above it"
