# Inputs. Every variable has a type and a description; names that end up in Azure resource
# names are validated here so a bad value fails at `terraform plan`, not halfway through an
# apply. tests/terraform/ checks these regular expressions against sample names.

variable "subscription_id" {
  type        = string
  description = "Azure subscription id to deploy into. null uses ARM_SUBSCRIPTION_ID or the Azure CLI's current subscription."
  default     = null

  validation {
    condition     = var.subscription_id == null || can(regex("^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", var.subscription_id))
    error_message = "subscription_id must be a GUID such as 00000000-0000-0000-0000-000000000000, or null."
  }
}

variable "prefix" {
  type        = string
  description = "Short project prefix used in every resource name: 2-8 characters, lowercase letters and digits, starting with a letter (it has to fit the 24-character storage account and Key Vault names)."
  default     = "azml"

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,7}$", var.prefix))
    error_message = "prefix must be 2-8 characters, lowercase letters and digits, starting with a letter."
  }
}

variable "environment" {
  type        = string
  description = "Environment name used in resource names and tags, such as dev, test or prod: 1-5 characters, lowercase letters and digits, starting with a letter."
  default     = "dev"

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{0,4}$", var.environment))
    error_message = "environment must be 1-5 characters, lowercase letters and digits, starting with a letter."
  }
}

variable "location" {
  type        = string
  description = "Azure region short name, such as westeurope or eastus2 (lowercase, no spaces). Used for new resources and written into the extension's config.json."

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{2,30}$", var.location))
    error_message = "location must be a region short name such as westeurope or eastus2: lowercase letters and digits, no spaces."
  }
}

variable "existing_resource_group_name" {
  type        = string
  description = "Name of an existing resource group to deploy into. null creates a new one named rg-<prefix>-<environment>."
  default     = null

  validation {
    condition     = var.existing_resource_group_name == null || can(regex("^[-\\w._()]{0,89}[-\\w_()]$", var.existing_resource_group_name))
    error_message = "existing_resource_group_name must be 1-90 characters of letters, digits, '-', '_', '.', '(' or ')', and must not end with a period."
  }
}

variable "workspace_name" {
  type        = string
  description = "Azure ML workspace name. null derives mlw-<prefix>-<environment>-<random suffix>. 3-33 characters, letters, digits, '-' and '_', starting with a letter or digit."
  default     = null

  validation {
    condition     = var.workspace_name == null || can(regex("^[a-zA-Z0-9][a-zA-Z0-9_-]{2,32}$", var.workspace_name))
    error_message = "workspace_name must be 3-33 characters of letters, digits, '-' or '_', starting with a letter or digit."
  }
}

variable "storage_account_name" {
  type        = string
  description = "Storage account name (globally unique). null derives st<prefix><environment><random suffix>. 3-24 characters, lowercase letters and digits only."
  default     = null

  validation {
    condition     = var.storage_account_name == null || can(regex("^[a-z0-9]{3,24}$", var.storage_account_name))
    error_message = "storage_account_name must be 3-24 characters, lowercase letters and digits only."
  }
}

variable "key_vault_name" {
  type        = string
  description = "Key Vault name (globally unique, and reserved while a deleted vault is soft-deleted). null derives kv-<prefix>-<environment>-<random suffix>. 3-24 characters, letters, digits and single hyphens, starting with a letter and ending with a letter or digit."
  default     = null

  validation {
    condition     = var.key_vault_name == null || (can(regex("^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$", var.key_vault_name)) && !strcontains(coalesce(var.key_vault_name, "-"), "--"))
    error_message = "key_vault_name must be 3-24 characters of letters, digits and hyphens, start with a letter, end with a letter or digit, and contain no consecutive hyphens."
  }
}

variable "cluster_name" {
  type        = string
  description = "Name of the job-submission compute cluster; also the extension's default compute. 3-16 characters, letters, digits and '-', starting with a letter and ending with a letter or digit."
  default     = "cpu-cluster"

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9-]{1,14}[a-zA-Z0-9]$", var.cluster_name))
    error_message = "cluster_name must be 3-16 characters of letters, digits and '-', starting with a letter and ending with a letter or digit."
  }
}

variable "cluster_vm_size" {
  type        = string
  description = "VM size of the cluster's nodes, such as Standard_DS3_v2 (4 vCPU, 14 GiB). Check quota in the region first."
  default     = "Standard_DS3_v2"

  validation {
    condition     = can(regex("^Standard_[A-Za-z0-9_]+$", var.cluster_vm_size))
    error_message = "cluster_vm_size must be an Azure VM size name such as Standard_DS3_v2."
  }
}

variable "cluster_vm_priority" {
  type        = string
  description = "Dedicated, or LowPriority (cheaper, nodes can be pre-empted and jobs re-queued)."
  default     = "Dedicated"

  validation {
    condition     = contains(["Dedicated", "LowPriority"], var.cluster_vm_priority)
    error_message = "cluster_vm_priority must be Dedicated or LowPriority."
  }
}

variable "cluster_min_nodes" {
  type        = number
  description = "Nodes kept running when no job is queued. Keep 0: the cluster then costs nothing at idle."
  default     = 0

  validation {
    condition     = var.cluster_min_nodes == floor(var.cluster_min_nodes) && var.cluster_min_nodes >= 0 && var.cluster_min_nodes <= var.cluster_max_nodes
    error_message = "cluster_min_nodes must be a whole number between 0 and cluster_max_nodes."
  }
}

variable "cluster_max_nodes" {
  type        = number
  description = "Most nodes the cluster scales out to (bounded by your vCPU quota for the VM family)."
  default     = 4

  validation {
    condition     = var.cluster_max_nodes == floor(var.cluster_max_nodes) && var.cluster_max_nodes >= 1 && var.cluster_max_nodes <= 100
    error_message = "cluster_max_nodes must be a whole number between 1 and 100."
  }
}

variable "cluster_idle_seconds_before_scale_down" {
  type        = number
  description = "Seconds a node may sit idle before the cluster releases it. Short saves money; long saves the node start-up time of back-to-back jobs."
  default     = 300

  validation {
    condition     = var.cluster_idle_seconds_before_scale_down == floor(var.cluster_idle_seconds_before_scale_down) && var.cluster_idle_seconds_before_scale_down >= 60 && var.cluster_idle_seconds_before_scale_down <= 86400
    error_message = "cluster_idle_seconds_before_scale_down must be a whole number of seconds between 60 and 86400."
  }
}

variable "data_scientists_group_object_id" {
  type        = string
  description = "Object id of the Microsoft Entra ID group of data scientists. It gets AzureML Data Scientist on the workspace and data roles on the storage account."

  validation {
    condition     = can(regex("^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", var.data_scientists_group_object_id))
    error_message = "data_scientists_group_object_id must be a GUID (the group's Object ID in Entra ID)."
  }
}

variable "public_network_access_enabled" {
  type        = bool
  description = "Reach the workspace, storage account and Key Vault over the public internet (Entra ID sign-in is still required). false (default): private endpoints only; the workspace uses a managed virtual network to reach its storage and vault."
  default     = false
}

variable "allowed_ip_ranges" {
  type        = list(string)
  description = "Public IPv4 addresses or CIDR ranges (at most /30) let through the storage account and Key Vault firewalls, such as the office's egress range. With public access on and this list non-empty, only these addresses (plus trusted Azure services) get through; with public access off the rules are kept but Azure applies them only if public access is turned on."
  default     = []

  validation {
    condition     = alltrue([for r in var.allowed_ip_ranges : can(regex("^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(/([0-9]|[12][0-9]|30))?$", r))])
    error_message = "allowed_ip_ranges entries must be IPv4 addresses or CIDR ranges no narrower than /30 (Azure Storage rejects /31 and /32: give a single address without a prefix)."
  }
}

variable "storage_replication_type" {
  type        = string
  description = "Replication of the storage account: LRS, ZRS, GRS, RAGRS, GZRS or RAGZRS. Geo-redundant types keep a copy of datasets and results in the paired region."
  default     = "GRS"

  validation {
    condition     = contains(["LRS", "ZRS", "GRS", "RAGRS", "GZRS", "RAGZRS"], var.storage_replication_type)
    error_message = "storage_replication_type must be one of LRS, ZRS, GRS, RAGRS, GZRS, RAGZRS."
  }
}

variable "soft_delete_retention_days" {
  type        = number
  description = "Days a deleted blob, container (storage) or secret (Key Vault) can be recovered. Also how long a destroyed Key Vault's name stays reserved."
  default     = 30

  validation {
    condition     = var.soft_delete_retention_days == floor(var.soft_delete_retention_days) && var.soft_delete_retention_days >= 7 && var.soft_delete_retention_days <= 90
    error_message = "soft_delete_retention_days must be a whole number between 7 and 90."
  }
}

variable "log_retention_days" {
  type        = number
  description = "Days the Log Analytics workspace keeps logs (30 are included in the ingestion price)."
  default     = 30

  validation {
    condition     = var.log_retention_days == floor(var.log_retention_days) && var.log_retention_days >= 30 && var.log_retention_days <= 730
    error_message = "log_retention_days must be a whole number between 30 and 730."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource, on top of project, environment and managed-by."
  default     = {}
}
