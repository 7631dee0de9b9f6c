# The workspace's default storage account, which also holds the two containers the extension
# uses: `datasets` (data copied in from JupyterLab) and `results` (job outputs brought back).
# Entra ID only: shared keys, SAS and local users are off, so the workspace, the cluster and the
# scientists all authenticate with their identities.

resource "azurerm_storage_account" "this" {
  #checkov:skip=CKV_AZURE_33:No queues are used. Classic queue logging is configured through the queue data plane, and blob access is logged to Log Analytics by azurerm_monitor_diagnostic_setting.blob instead.
  #checkov:skip=CKV2_AZURE_33:The workspace's managed virtual network creates its own private endpoints to this account (managed private endpoints, not azurerm_private_endpoint); endpoints for the scientists' network belong to that network's owners.
  #checkov:skip=CKV2_AZURE_1:Microsoft-managed keys by decision: customer-managed keys need a key, its rotation and the vault's availability on the data path, which this module does not own.
  name                = local.storage_name
  location            = var.location
  resource_group_name = local.resource_group_name

  # Azure ML's default storage must be general-purpose v2, Standard tier, without
  # hierarchical namespace.
  account_kind             = "StorageV2"
  account_tier             = "Standard"
  account_replication_type = var.storage_replication_type
  is_hns_enabled           = false

  min_tls_version                  = "TLS1_2"
  https_traffic_only_enabled       = true
  shared_access_key_enabled        = false
  default_to_oauth_authentication  = true
  allow_nested_items_to_be_public  = false
  local_user_enabled               = false
  sftp_enabled                     = false
  cross_tenant_replication_enabled = false

  public_network_access_enabled = var.public_network_access_enabled

  network_rules {
    default_action = var.public_network_access_enabled && length(var.allowed_ip_ranges) == 0 ? "Allow" : "Deny"
    bypass         = ["AzureServices"]
    ip_rules       = var.allowed_ip_ranges
  }

  blob_properties {
    versioning_enabled = true

    delete_retention_policy {
      days = var.soft_delete_retention_days
    }

    container_delete_retention_policy {
      days = var.soft_delete_retention_days
    }

    # Lets Azure ML studio in the browser list and preview the data.
    cors_rule {
      allowed_origins    = ["https://ml.azure.com", "https://*.ml.azure.com"]
      allowed_methods    = ["GET", "HEAD", "OPTIONS", "PUT"]
      allowed_headers    = ["*"]
      exposed_headers    = ["*"]
      max_age_in_seconds = 1800
    }
  }

  tags = local.tags

  lifecycle {
    precondition {
      condition     = can(regex("^[a-z0-9]{3,24}$", local.storage_name))
      error_message = "The storage account name ${local.storage_name} breaks Azure's naming rules (3-24 lowercase letters and digits)."
    }
  }

  depends_on = [azurerm_resource_group.this]
}

resource "azurerm_storage_container" "datasets" {
  name                  = local.datasets_container
  storage_account_id    = azurerm_storage_account.this.id
  container_access_type = "private"
}

resource "azurerm_storage_container" "results" {
  name                  = local.results_container
  storage_account_id    = azurerm_storage_account.this.id
  container_access_type = "private"
}
