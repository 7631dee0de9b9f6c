# The workspace's Key Vault. Access is by Azure RBAC (no access policies), deleted vaults and
# secrets are recoverable and cannot be purged early, and the firewall follows the network
# profile.

resource "azurerm_key_vault" "this" {
  #checkov:skip=CKV2_AZURE_32:The workspace's managed virtual network creates its own private endpoint to this vault (a managed private endpoint, not azurerm_private_endpoint); scientists never call the vault.
  name                = local.key_vault_name
  location            = var.location
  resource_group_name = local.resource_group_name
  tenant_id           = data.azurerm_client_config.current.tenant_id
  sku_name            = "standard"

  rbac_authorization_enabled = true
  purge_protection_enabled   = true
  soft_delete_retention_days = var.soft_delete_retention_days

  public_network_access_enabled = var.public_network_access_enabled

  network_acls {
    default_action = var.public_network_access_enabled && length(var.allowed_ip_ranges) == 0 ? "Allow" : "Deny"
    bypass         = "AzureServices"
    ip_rules       = var.allowed_ip_ranges
  }

  tags = local.tags

  lifecycle {
    precondition {
      condition     = can(regex("^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$", local.key_vault_name)) && !strcontains(local.key_vault_name, "--")
      error_message = "The Key Vault name ${local.key_vault_name} breaks Azure's naming rules (3-24 characters, letters, digits and single hyphens)."
    }
  }

  depends_on = [azurerm_resource_group.this]
}
