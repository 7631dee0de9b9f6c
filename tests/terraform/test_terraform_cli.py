"""terraform itself, offline: formatting, the provider requirements, and the variable validation
blocks evaluated by Terraform (not a translation of them). Skipped when terraform is not on PATH,
even under AZML_CI=1: CI has no way to install it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import EXAMPLES_DIR, TERRAFORM_DIR, terraform_bin, terraform_env

GROUP = "3f2a9c1e-7b4d-4e8a-9c61-2d5f0a8b7e43"


def run_terraform(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [terraform_bin(), *args],
        cwd=cwd,
        env=terraform_env(),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
        check=False,
    )


def test_terraform_fmt_check():
    result = run_terraform("fmt", "-check", "-recursive", "-diff", "-no-color", str(TERRAFORM_DIR))
    assert result.returncode == 0, f"terraform fmt wants changes:\n{result.stdout}{result.stderr}"


def test_terraform_providers_lists_azurerm_and_random():
    result = run_terraform(f"-chdir={TERRAFORM_DIR}", "providers", "-no-color")
    assert result.returncode == 0, result.stderr
    assert "hashicorp/azurerm] >= 4.42.0, < 5.0.0" in result.stdout
    assert "hashicorp/random]" in result.stdout
    assert "azapi" not in result.stdout


@pytest.fixture(scope="module")
def variables_only(tmp_path_factory) -> Path:
    """variables.tf alone: no provider to download, so `terraform plan` runs offline and does
    nothing but evaluate the variables and their validation blocks."""
    terraform_bin()
    directory = tmp_path_factory.mktemp("tfvars")
    shutil.copy(TERRAFORM_DIR / "variables.tf", directory / "variables.tf")
    result = run_terraform("init", "-input=false", "-backend=false", "-no-color", cwd=directory)
    assert result.returncode == 0, result.stderr
    return directory


def plan(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_terraform("plan", "-input=false", "-no-color", "-lock=false", *args, cwd=directory)


@pytest.mark.parametrize("example", ["quickstart.tfvars", "hardened.tfvars"])
def test_examples_pass_every_validation(variables_only, example):
    result = plan(variables_only, f"-var-file={EXAMPLES_DIR / example}")
    assert result.returncode == 0, result.stdout + result.stderr


BASE = ["-var=location=westeurope", f"-var=data_scientists_group_object_id={GROUP}"]


@pytest.mark.parametrize(
    ("assignment", "variable"),
    [
        ("prefix=Azml", "prefix"),
        ("prefix=azml-team", "prefix"),
        ("environment=production", "environment"),
        ("location=West Europe", "location"),
        ("storage_account_name=st-azml", "storage_account_name"),
        ("storage_account_name=" + "s" * 25, "storage_account_name"),
        ("key_vault_name=kv--azml", "key_vault_name"),
        ("key_vault_name=kv-azml-", "key_vault_name"),
        ("workspace_name=-mlw", "workspace_name"),
        ("cluster_name=cpu_cluster", "cluster_name"),
        ("cluster_max_nodes=0", "cluster_max_nodes"),
        ("cluster_min_nodes=1.5", "cluster_min_nodes"),
        ("cluster_idle_seconds_before_scale_down=30", "cluster_idle_seconds_before_scale_down"),
        ("data_scientists_group_object_id=data-scientists", "data_scientists_group_object_id"),
        ('allowed_ip_ranges=["203.0.113.7/32"]', "allowed_ip_ranges"),
        ("storage_replication_type=PREMIUM_LRS", "storage_replication_type"),
        ("existing_resource_group_name=rg.", "existing_resource_group_name"),
    ],
)
def test_bad_values_are_rejected_by_terraform(variables_only, assignment, variable):
    result = plan(variables_only, *BASE, f"-var={assignment}")
    assert result.returncode != 0, f"terraform accepted {assignment}"
    assert "Invalid value for variable" in result.stderr
    assert f'variable "{variable}"' in result.stderr


def test_min_nodes_above_max_nodes_is_rejected(variables_only):
    result = plan(variables_only, *BASE, "-var=cluster_min_nodes=3", "-var=cluster_max_nodes=2")
    assert result.returncode != 0
    assert 'variable "cluster_min_nodes"' in result.stderr


def test_defaults_with_the_two_required_inputs_are_valid(variables_only):
    result = plan(variables_only, *BASE)
    assert result.returncode == 0, result.stdout + result.stderr
