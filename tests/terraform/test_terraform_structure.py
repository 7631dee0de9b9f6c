"""Structure of terraform/ read with python-hcl2: the resources the issue asks for, with the
settings that make them secure, every variable typed and described, the naming rules, and the
outputs the extension reads."""

from __future__ import annotations

import re

import pytest
from conftest import EXAMPLES_DIR, TerraformConfig, load_hcl, validation_regex

from azml_jupyter.workspace_config import OPTIONAL_FIELDS, REQUIRED_FIELDS, TERRAFORM_OUTPUT_NAME


def single(block_list, what):
    assert isinstance(block_list, list) and len(block_list) == 1, f"expected one {what} block, got {block_list!r}"
    return block_list[0]


# -- providers ---------------------------------------------------------------------------------


def test_azurerm_is_pinned_to_4x_from_4_42(tf: TerraformConfig):
    required = {}
    for block in tf.terraform:
        for providers in block.get("required_providers", []):
            required.update(providers)
    assert required["azurerm"] == {"source": "hashicorp/azurerm", "version": ">= 4.42, < 5.0"}


def test_azapi_is_required_only_if_a_resource_uses_it(tf: TerraformConfig):
    required = {
        name for block in tf.terraform for providers in block.get("required_providers", []) for name in providers
    }
    uses_azapi = any(rtype.startswith("azapi_") for rtype in tf.resources)
    assert ("azapi" in required) == uses_azapi


def test_provider_uses_entra_id_for_storage_data_plane(tf: TerraformConfig):
    # Shared keys are off on the account: any data-plane call by the provider must use Entra ID.
    assert tf.providers["azurerm"]["storage_use_azuread"] is True


# -- variables ---------------------------------------------------------------------------------


def test_every_variable_has_a_type_and_a_description(tf: TerraformConfig):
    assert tf.variables, "no variables parsed"
    for name, body in tf.variables.items():
        assert body.get("type"), f"variable {name} has no type"
        assert isinstance(body.get("description"), str) and len(body["description"]) > 20, (
            f"variable {name} has no real description"
        )


@pytest.mark.parametrize(
    "name",
    [
        "prefix",
        "environment",
        "existing_resource_group_name",
        "location",
        "cluster_vm_size",
        "cluster_min_nodes",
        "cluster_max_nodes",
        "cluster_idle_seconds_before_scale_down",
        "data_scientists_group_object_id",
        "public_network_access_enabled",
        "allowed_ip_ranges",
        "tags",
    ],
)
def test_issue_inputs_exist(tf: TerraformConfig, name):
    assert name in tf.variables


def test_public_network_access_defaults_to_off(tf: TerraformConfig):
    assert tf.variables["public_network_access_enabled"]["type"] == "bool"
    assert tf.variables["public_network_access_enabled"]["default"] is False


def test_cluster_min_nodes_defaults_to_zero(tf: TerraformConfig):
    assert tf.variables["cluster_min_nodes"]["default"] == 0


# Good and bad samples per naming rule. Each regex is taken from the validation block in
# variables.tf (so the test follows the file) and must accept/reject these.
NAME_RULES = {
    "storage_account_name": (
        ["abc", "stazmlprodk3x9q2", "a" * 24, "0123456789"],
        ["ab", "a" * 25, "Stazml", "st-azml", "st_azml", "stäzml", "", "stazml\n"],
    ),
    "key_vault_name": (
        ["kv1", "kv-azml-prod-k3x9q2", "KeyVault-01", "a" + "b" * 22 + "c"],
        ["kv", "1kv", "-kv", "kv-", "kv_azml", "a" * 25, "kv--azml", "kv.azml"],
    ),
    "workspace_name": (
        ["mlw", "mlw-azml-prod-k3x9q2", "1workspace", "work_space", "a" * 33],
        ["ml", "-mlw", "_mlw", "a" * 34, "mlw.azml", "mlw azml"],
    ),
    "prefix": (["az", "azml", "a1234567"], ["a", "1azml", "Azml", "azml-x", "a12345678", ""]),
    "environment": (["d", "dev", "prod", "stage"], ["", "Dev", "1dev", "stage1", "pre-p"]),
    "location": (["westeurope", "eastus2", "southcentralus"], ["West Europe", "west-europe", "WESTEUROPE", "eu", ""]),
    "cluster_name": (
        ["cpu-cluster", "gpu", "c12", "A" + "b" * 14 + "1"],
        ["c1", "1cpu", "cpu-", "cpu_cluster", "a" * 17],
    ),
    "data_scientists_group_object_id": (
        ["3f2a9c1e-7b4d-4e8a-9c61-2d5f0a8b7e43", "3F2A9C1E-7B4D-4E8A-9C61-2D5F0A8B7E43"],
        ["data-scientists", "3f2a9c1e7b4d4e8a9c612d5f0a8b7e43", "3f2a9c1e-7b4d-4e8a-9c61-2d5f0a8b7e4g", ""],
    ),
    "existing_resource_group_name": (["rg-azml", "rg_(team).1", "a" * 90], ["rg.", "a" * 91, "rg/azml", "rg azml"]),
    "allowed_ip_ranges": (
        ["203.0.113.7", "203.0.113.0/24", "198.51.100.0/30", "8.8.8.8/8"],
        ["203.0.113.7/32", "203.0.113.6/31", "256.1.1.1", "203.0.113", "2001:db8::/32", "203.0.113.0/24 "],
    ),
}


def variable_pattern(tf: TerraformConfig, name: str) -> str:
    condition = single(tf.variables[name]["validation"], f"{name} validation")["condition"]
    target = "r" if name == "allowed_ip_ranges" else f"var.{name}"
    return validation_regex(condition, target)


def as_python(pattern: str) -> re.Pattern[str]:
    """Terraform's RE2 ``$`` is end of text; Python's also matches before a final newline."""
    assert pattern.startswith("^") and pattern.endswith("$"), f"{pattern} is not anchored at both ends"
    return re.compile(pattern[:-1] + r"\Z")


@pytest.mark.parametrize("name", sorted(NAME_RULES))
def test_naming_validation_accepts_good_and_rejects_bad_names(tf: TerraformConfig, name):
    pattern = as_python(variable_pattern(tf, name))
    good, bad = NAME_RULES[name]
    for value in good:
        assert pattern.search(value), f"{name}: {value!r} should be accepted by {pattern.pattern}"
    for value in bad:
        # Key Vault's "no consecutive hyphens" is a second clause next to the regex.
        rejected = not pattern.search(value) or (name == "key_vault_name" and "--" in value)
        assert rejected, f"{name}: {value!r} should be rejected by {pattern.pattern}"


def test_key_vault_validation_forbids_consecutive_hyphens(tf: TerraformConfig):
    condition = tf.variables["key_vault_name"]["validation"][0]["condition"]
    assert "strcontains(" in condition and '"--"' in condition and "!strcontains" in condition


def test_derived_names_fit_azure_rules_at_their_longest(tf: TerraformConfig):
    """Names built from the longest prefix/environment and the 6-character suffix still pass the
    storage, Key Vault and workspace rules (the resources also assert this as preconditions)."""
    suffix_length = tf.resource("random_string", "suffix")["length"]
    values = {"var.prefix": "p" * 8, "var.environment": "e" * 5, "local.suffix": "s" * suffix_length}
    shortest = {"var.prefix": "pp", "var.environment": "e", "local.suffix": "s" * suffix_length}
    derived = {
        "storage_name": "storage_account_name",
        "key_vault_name": "key_vault_name",
        "workspace_name": "workspace_name",
    }
    for local_name, variable in derived.items():
        expression = tf.locals[local_name]
        template = re.search(r'coalesce\(var\.\w+, "(.*)"\)', expression).group(1)
        pattern = as_python(variable_pattern(tf, variable))
        for sample in (values, shortest):
            name = re.sub(r"\$\{([\w.]+)\}", lambda m, sample=sample: sample[m.group(1)], template)
            assert pattern.search(name), f"{local_name} {name!r} breaks {pattern.pattern}"
            assert "--" not in name


def test_node_count_and_idle_validations_bound_the_values(tf: TerraformConfig):
    min_condition = tf.variables["cluster_min_nodes"]["validation"][0]["condition"]
    assert "var.cluster_min_nodes >= 0" in min_condition
    assert "var.cluster_min_nodes <= var.cluster_max_nodes" in min_condition
    max_condition = tf.variables["cluster_max_nodes"]["validation"][0]["condition"]
    assert "var.cluster_max_nodes >= 1" in max_condition
    idle_condition = tf.variables["cluster_idle_seconds_before_scale_down"]["validation"][0]["condition"]
    assert ">= 60" in idle_condition


# -- resources ---------------------------------------------------------------------------------


def test_log_analytics_and_workspace_based_application_insights(tf: TerraformConfig):
    tf.resource("azurerm_log_analytics_workspace", "this")
    insights = tf.resource("azurerm_application_insights", "this")
    assert insights["workspace_id"] == "${azurerm_log_analytics_workspace.this.id}"


def test_key_vault_is_rbac_purge_protected_soft_deleting_and_firewalled(tf: TerraformConfig):
    vault = tf.resource("azurerm_key_vault", "this")
    assert vault["rbac_authorization_enabled"] is True
    assert "enable_rbac_authorization" not in vault  # the pre-4.42 name
    assert vault["purge_protection_enabled"] is True
    assert vault["soft_delete_retention_days"] == "${var.soft_delete_retention_days}"
    assert vault["public_network_access_enabled"] == "${var.public_network_access_enabled}"
    acls = single(vault["network_acls"], "network_acls")
    assert acls["default_action"] == FIREWALL_DEFAULT_ACTION
    assert acls["bypass"] == "AzureServices"
    assert acls["ip_rules"] == "${var.allowed_ip_ranges}"


FIREWALL_DEFAULT_ACTION = (
    '${var.public_network_access_enabled && length(var.allowed_ip_ranges) == 0 ? "Allow" : "Deny"}'
)


def test_firewalls_close_unless_public_and_no_allowlist(tf: TerraformConfig):
    vault_acls = single(tf.resource("azurerm_key_vault", "this")["network_acls"], "network_acls")
    storage_rules = single(tf.resource("azurerm_storage_account", "this")["network_rules"], "network_rules")
    assert vault_acls["default_action"] == FIREWALL_DEFAULT_ACTION
    assert storage_rules["default_action"] == FIREWALL_DEFAULT_ACTION
    # The managed network follows the same condition: private endpoints whenever a firewall is closed.
    assert tf.locals["firewalls_open"] == ("${var.public_network_access_enabled && length(var.allowed_ip_ranges) == 0}")
    workspace = tf.resource("azurerm_machine_learning_workspace", "this")
    assert single(workspace["managed_network"], "managed_network")["isolation_mode"] == (
        "${local.managed_network_isolation_mode}"
    )
    assert tf.locals["managed_network_isolation_mode"] == (
        '${local.firewalls_open ? "Disabled" : "AllowInternetOutbound"}'
    )


def test_storage_account_is_locked_down(tf: TerraformConfig):
    account = tf.resource("azurerm_storage_account", "this")
    expected = {
        "min_tls_version": "TLS1_2",
        "https_traffic_only_enabled": True,
        "shared_access_key_enabled": False,
        "allow_nested_items_to_be_public": False,
        "local_user_enabled": False,
        "account_tier": "Standard",
        "account_kind": "StorageV2",
        "is_hns_enabled": False,
        "public_network_access_enabled": "${var.public_network_access_enabled}",
    }
    for key, value in expected.items():
        assert account.get(key) == value, f"storage {key} = {account.get(key)!r}, want {value!r}"
    blob = single(account["blob_properties"], "blob_properties")
    assert blob["versioning_enabled"] is True
    assert single(blob["delete_retention_policy"], "delete_retention_policy")["days"]
    assert single(blob["container_delete_retention_policy"], "container_delete_retention_policy")["days"]
    rules = single(account["network_rules"], "network_rules")
    assert rules["default_action"] == FIREWALL_DEFAULT_ACTION
    assert rules["bypass"] == ["AzureServices"]


@pytest.mark.parametrize("name", ["datasets", "results"])
def test_private_containers(tf: TerraformConfig, name):
    container = tf.resource("azurerm_storage_container", name)
    assert container["container_access_type"] == "private"
    assert container["storage_account_id"] == "${azurerm_storage_account.this.id}"
    assert tf.locals[f"{name}_container"] == name
    assert container["name"] == f"${{local.{name}_container}}"


def test_ml_workspace_settings(tf: TerraformConfig):
    workspace = tf.resource("azurerm_machine_learning_workspace", "this")
    assert single(workspace["identity"], "identity")["type"] == "SystemAssigned"
    assert workspace["storage_account_access_type"] == "Identity"
    assert workspace["high_business_impact"] is False  # explicit, not left to the default
    assert workspace["public_network_access_enabled"] == "${var.public_network_access_enabled}"
    assert workspace["storage_account_id"] == "${azurerm_storage_account.this.id}"
    assert workspace["key_vault_id"] == "${azurerm_key_vault.this.id}"
    assert workspace["application_insights_id"] == "${azurerm_application_insights.this.id}"
    lifecycle = single(workspace["lifecycle"], "lifecycle")
    assert "container_registry_id" in lifecycle["ignore_changes"]


def test_diagnostic_settings_send_workspace_logs_to_log_analytics(tf: TerraformConfig):
    settings = tf.resources["azurerm_monitor_diagnostic_setting"]
    targets = {body["target_resource_id"] for body in settings.values()}
    assert "${azurerm_machine_learning_workspace.this.id}" in targets
    for name, body in settings.items():
        assert body["log_analytics_workspace_id"] == "${azurerm_log_analytics_workspace.this.id}", name
        assert body.get("enabled_log"), f"diagnostic setting {name} enables no logs"


def test_compute_cluster_scales_to_zero_without_local_auth(tf: TerraformConfig):
    cluster = tf.resource("azurerm_machine_learning_compute_cluster", "jobs")
    assert cluster["local_auth_enabled"] is False
    assert cluster["ssh_public_access_enabled"] is False
    assert single(cluster["identity"], "identity")["type"] == "SystemAssigned"
    scale = single(cluster["scale_settings"], "scale_settings")
    assert scale["min_node_count"] == "${var.cluster_min_nodes}"
    assert scale["max_node_count"] == "${var.cluster_max_nodes}"
    assert scale["scale_down_nodes_after_idle_duration"] == "PT${var.cluster_idle_seconds_before_scale_down}S"
    assert cluster["machine_learning_workspace_id"] == "${azurerm_machine_learning_workspace.this.id}"


ROLE_ASSIGNMENTS = [
    (
        "AzureML Data Scientist",
        "${azurerm_machine_learning_workspace.this.id}",
        "${var.data_scientists_group_object_id}",
    ),
    ("Storage Blob Data Contributor", "${azurerm_storage_account.this.id}", "${var.data_scientists_group_object_id}"),
    (
        "Storage File Data Privileged Contributor",
        "${azurerm_storage_account.this.id}",
        "${var.data_scientists_group_object_id}",
    ),
    (
        "Storage Blob Data Contributor",
        "${azurerm_storage_account.this.id}",
        "${azurerm_machine_learning_compute_cluster.jobs.identity[0].principal_id}",
    ),
]


def test_role_assignments(tf: TerraformConfig):
    assignments = {
        (body["role_definition_name"], body["scope"], body["principal_id"])
        for body in tf.resources["azurerm_role_assignment"].values()
    }
    assert assignments == set(ROLE_ASSIGNMENTS)


def test_every_taggable_resource_is_tagged(tf: TerraformConfig):
    untaggable = {
        "azurerm_storage_container",
        "azurerm_role_assignment",
        "azurerm_monitor_diagnostic_setting",
        "random_string",
    }
    for rtype, name, body in tf.all_resources():
        if rtype not in untaggable:
            assert body.get("tags") == "${local.tags}", f"{rtype}.{name} is not tagged"


# -- outputs -----------------------------------------------------------------------------------


ISSUE_OUTPUTS = [
    "subscription_id",
    "resource_group_name",
    "workspace_name",
    "location",
    "storage_account_name",
    "datasets_container_name",
    "results_container_name",
    "compute_cluster_name",
    "studio_url",
    TERRAFORM_OUTPUT_NAME,
]


@pytest.mark.parametrize("name", ISSUE_OUTPUTS)
def test_output_exists_with_description(tf: TerraformConfig, name):
    assert name in tf.outputs
    assert tf.outputs[name].get("description")


def test_azureml_config_output_has_every_field_configure_from_terraform_reads(tf: TerraformConfig):
    value = tf.outputs[TERRAFORM_OUTPUT_NAME]["value"]
    assert set(value) == set(REQUIRED_FIELDS) | {"azml_jupyter"}
    assert set(value["azml_jupyter"]) == set(OPTIONAL_FIELDS)


def test_azureml_config_output_agrees_with_the_single_outputs(tf: TerraformConfig):
    value = tf.outputs[TERRAFORM_OUTPUT_NAME]["value"]
    extras = value["azml_jupyter"]
    pairs = {
        "subscription_id": value["subscription_id"],
        "resource_group_name": value["resource_group"],
        "workspace_name": value["workspace_name"],
        "location": extras["location"],
        "storage_account_name": extras["storage_account"],
        "datasets_container_name": extras["datasets_container"],
        "results_container_name": extras["results_container"],
        "compute_cluster_name": extras["default_compute"],
        "studio_url": extras["studio_url"],
        "tenant_id": extras["tenant_id"],
    }
    for output, expression in pairs.items():
        assert tf.outputs[output]["value"] == expression, output


def test_studio_url_points_at_the_workspace(tf: TerraformConfig):
    url = tf.outputs["studio_url"]["value"]
    assert url.startswith("https://ml.azure.com/?wsid=${azurerm_machine_learning_workspace.this.id}")
    assert "tid=${data.azurerm_client_config.current.tenant_id}" in url


# -- examples ----------------------------------------------------------------------------------


def test_examples_set_only_declared_variables(tf: TerraformConfig):
    for path in sorted(EXAMPLES_DIR.glob("*.tfvars")):
        values = load_hcl(path)
        unknown = set(values) - set(tf.variables)
        assert not unknown, f"{path.name} sets undeclared variables {unknown}"
        required = {name for name, body in tf.variables.items() if "default" not in body}
        assert required <= set(values), f"{path.name} misses required {required - set(values)}"


def test_quickstart_is_public_and_hardened_is_private_with_an_allowlist():
    quickstart = load_hcl(EXAMPLES_DIR / "quickstart.tfvars")
    hardened = load_hcl(EXAMPLES_DIR / "hardened.tfvars")
    assert quickstart["public_network_access_enabled"] is True
    assert hardened["public_network_access_enabled"] is False
    assert hardened["allowed_ip_ranges"], "hardened profile sets an IP allowlist"
    assert quickstart["cluster_min_nodes"] == hardened["cluster_min_nodes"] == 0
