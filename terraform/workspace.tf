# The Azure ML workspace and the compute cluster the extension submits jobs to.

resource "azurerm_machine_learning_workspace" "this" {
  name                    = local.workspace_name
  location                = var.location
  resource_group_name     = local.resource_group_name
  application_insights_id = azurerm_application_insights.this.id
  key_vault_id            = azurerm_key_vault.this.id
  storage_account_id      = azurerm_storage_account.this.id

  # Shared keys are off on the storage account: the workspace's own datastores must use its
  # managed identity, and users reach data with their own Entra ID identity.
  storage_account_access_type = "Identity"

  public_network_access_enabled = var.public_network_access_enabled

  # Explicit rather than left to the default: HBI mode cuts the diagnostics Microsoft collects
  # and is fixed at creation. Set to true by editing here if the data requires it.
  high_business_impact = false

  v1_legacy_mode_enabled = false

  identity {
    type = "SystemAssigned"
  }

  managed_network {
    isolation_mode = local.managed_network_isolation_mode
  }

  tags = local.tags

  lifecycle {
    # Azure ML creates a container registry on the first custom environment build and links
    # it here; container_registry_id forces replacement, so ignore that drift.
    ignore_changes = [container_registry_id]

    precondition {
      condition     = can(regex("^[a-zA-Z0-9][a-zA-Z0-9_-]{2,32}$", local.workspace_name))
      error_message = "The workspace name ${local.workspace_name} breaks Azure ML's naming rules (3-33 characters, letters, digits, '-' and '_')."
    }
  }
}

resource "azurerm_machine_learning_compute_cluster" "jobs" {
  name                          = var.cluster_name
  location                      = var.location
  machine_learning_workspace_id = azurerm_machine_learning_workspace.this.id
  vm_size                       = var.cluster_vm_size
  vm_priority                   = var.cluster_vm_priority
  description                   = "Job submission cluster for azml-jupyter; scales to zero when idle."

  # Jobs authenticate to storage as this identity; no SSH, no keys.
  local_auth_enabled        = false
  ssh_public_access_enabled = false

  identity {
    type = "SystemAssigned"
  }

  scale_settings {
    min_node_count                       = var.cluster_min_nodes
    max_node_count                       = var.cluster_max_nodes
    scale_down_nodes_after_idle_duration = "PT${var.cluster_idle_seconds_before_scale_down}S"
  }

  tags = local.tags
}
