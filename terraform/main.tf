# Resource group, names and the values every other file shares.

data "azurerm_client_config" "current" {}

# Storage account and Key Vault names are global; a random suffix keeps them unique and lets
# a destroyed-and-recreated deployment avoid the soft-deleted vault's reserved name.
resource "random_string" "suffix" {
  length  = 6
  lower   = true
  upper   = false
  numeric = true
  special = false
}

locals {
  suffix = random_string.suffix.result

  resource_group_name = coalesce(var.existing_resource_group_name, "rg-${var.prefix}-${var.environment}")
  workspace_name      = coalesce(var.workspace_name, "mlw-${var.prefix}-${var.environment}-${local.suffix}")
  storage_name        = coalesce(var.storage_account_name, "st${var.prefix}${var.environment}${local.suffix}")
  key_vault_name      = coalesce(var.key_vault_name, "kv-${var.prefix}-${var.environment}-${local.suffix}")
  log_analytics_name  = "log-${var.prefix}-${var.environment}"
  app_insights_name   = "appi-${var.prefix}-${var.environment}"

  # The two containers the extension reads and writes; outputs hand them to config.json.
  datasets_container = "datasets"
  results_container  = "results"

  # The storage and Key Vault firewalls are open only in the public profile without an
  # allowlist (trusted Azure services and the workspace's managed private endpoints get through
  # either way). The same condition is written out in keyvault.tf and storage.tf rather than
  # read from a local: checkov 3.3 resolves a local built from variables in an order that
  # varies between runs, so its verdict on the firewall checks would too.
  firewalls_open = var.public_network_access_enabled && length(var.allowed_ip_ranges) == 0

  # With the firewalls closed the cluster can only reach storage through private endpoints,
  # which the workspace's managed virtual network creates for its own storage and vault.
  managed_network_isolation_mode = local.firewalls_open ? "Disabled" : "AllowInternetOutbound"

  tags = merge(var.tags, {
    project     = "azml-jupyter"
    environment = var.environment
    managed-by  = "terraform"
  })
}

resource "azurerm_resource_group" "this" {
  count = var.existing_resource_group_name == null ? 1 : 0

  name     = local.resource_group_name
  location = var.location
  tags     = local.tags
}

data "azurerm_resource_group" "existing" {
  count = var.existing_resource_group_name == null ? 0 : 1

  name = var.existing_resource_group_name
}

locals {
  resource_group_id = var.existing_resource_group_name == null ? azurerm_resource_group.this[0].id : data.azurerm_resource_group.existing[0].id
}
