# What the extension needs to find the workspace. `azureml_config` is the exact content of the
# config.json that `azml-jupyter workspace configure --from-terraform` writes (and that
# azure.ai.ml.MLClient.from_config reads); the other outputs are the same values one by one.

output "subscription_id" {
  description = "Subscription that holds the workspace."
  value       = data.azurerm_client_config.current.subscription_id
}

output "tenant_id" {
  description = "Entra ID tenant of the subscription (scientists sign in to this tenant)."
  value       = data.azurerm_client_config.current.tenant_id
}

output "resource_group_name" {
  description = "Resource group of the workspace."
  value       = local.resource_group_name
}

output "workspace_name" {
  description = "Azure ML workspace name."
  value       = azurerm_machine_learning_workspace.this.name
}

output "location" {
  description = "Azure region of the workspace."
  value       = azurerm_machine_learning_workspace.this.location
}

output "storage_account_name" {
  description = "Storage account holding the datasets and results containers (Entra ID access only)."
  value       = azurerm_storage_account.this.name
}

output "datasets_container_name" {
  description = "Blob container the extension copies data sets into."
  value       = azurerm_storage_container.datasets.name
}

output "results_container_name" {
  description = "Blob container job results are written to."
  value       = azurerm_storage_container.results.name
}

output "compute_cluster_name" {
  description = "Compute cluster jobs are submitted to by default."
  value       = azurerm_machine_learning_compute_cluster.jobs.name
}

output "studio_url" {
  description = "Azure ML studio page of the workspace."
  value       = "https://ml.azure.com/?wsid=${azurerm_machine_learning_workspace.this.id}&tid=${data.azurerm_client_config.current.tenant_id}"
}

output "azureml_config" {
  description = "config.json for the extension: the MLClient.from_config keys at the top level, the extension's own settings under \"azml_jupyter\"."
  value = {
    subscription_id = data.azurerm_client_config.current.subscription_id
    resource_group  = local.resource_group_name
    workspace_name  = azurerm_machine_learning_workspace.this.name
    azml_jupyter = {
      tenant_id          = data.azurerm_client_config.current.tenant_id
      location           = azurerm_machine_learning_workspace.this.location
      storage_account    = azurerm_storage_account.this.name
      datasets_container = azurerm_storage_container.datasets.name
      results_container  = azurerm_storage_container.results.name
      default_compute    = azurerm_machine_learning_compute_cluster.jobs.name
      studio_url         = "https://ml.azure.com/?wsid=${azurerm_machine_learning_workspace.this.id}&tid=${data.azurerm_client_config.current.tenant_id}"
    }
  }
}
