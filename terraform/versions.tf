terraform {
  # 1.9 is the first release whose variable validations may refer to other variables
  # (used for min/max nodes).
  required_version = ">= 1.9, < 2.0"

  required_providers {
    azurerm = {
      source = "hashicorp/azurerm"
      # 4.42 brought `rbac_authorization_enabled` on Key Vault; 5.x renames and removes
      # arguments used here, so stay on 4.x. See README "Decisions" about
      # `storage_account_access_type`, which needs a newer 4.x than the floor.
      version = ">= 4.42, < 5.0"
    }
    random = {
      source  = "hashicorp/random"
      version = ">= 3.6, < 4.0"
    }
  }
}

provider "azurerm" {
  # null falls back to ARM_SUBSCRIPTION_ID / the Azure CLI's current subscription.
  subscription_id = var.subscription_id

  # Shared keys are disabled on the storage account, so any data-plane call the provider
  # makes must use Entra ID.
  storage_use_azuread = true

  features {
    key_vault {
      # Purge protection is on: a destroyed vault stays soft-deleted for its retention
      # period and cannot be purged, so do not try.
      purge_soft_delete_on_destroy = false
    }
    machine_learning {
      # Keep a destroyed workspace recoverable for its soft-delete period (14 days).
      purge_soft_deleted_workspace_on_destroy = false
    }
  }
}
