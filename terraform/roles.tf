# Who may do what. Shared keys are off, so these role assignments are the only way in to the
# data. principal_type avoids failures while a new principal is still replicating in Entra ID.

resource "azurerm_role_assignment" "scientists_workspace" {
  scope                = azurerm_machine_learning_workspace.this.id
  role_definition_name = "AzureML Data Scientist"
  principal_id         = var.data_scientists_group_object_id
  principal_type       = "Group"
  description          = "Data scientists submit jobs, manage data assets and read results in the workspace."
}

resource "azurerm_role_assignment" "scientists_blob" {
  scope                = azurerm_storage_account.this.id
  role_definition_name = "Storage Blob Data Contributor"
  principal_id         = var.data_scientists_group_object_id
  principal_type       = "Group"
  description          = "Data scientists copy data into datasets and download results with their own identity."
}

resource "azurerm_role_assignment" "scientists_file" {
  scope                = azurerm_storage_account.this.id
  role_definition_name = "Storage File Data Privileged Contributor"
  principal_id         = var.data_scientists_group_object_id
  principal_type       = "Group"
  description          = "Azure ML keeps code snapshots and notebooks on the file share; without keys users need this role."
}

resource "azurerm_role_assignment" "cluster_blob" {
  scope                = azurerm_storage_account.this.id
  role_definition_name = "Storage Blob Data Contributor"
  principal_id         = azurerm_machine_learning_compute_cluster.jobs.identity[0].principal_id
  principal_type       = "ServicePrincipal"
  description          = "Jobs on the cluster read inputs from datasets and write outputs to results."
}
