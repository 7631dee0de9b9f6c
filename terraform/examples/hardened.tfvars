# Production: no public network access to the workspace, storage or Key Vault. The workspace's
# managed virtual network reaches storage and the vault through private endpoints; scientists
# reach the workspace through a private endpoint in their own network (see README).
#   terraform -chdir=terraform apply -var-file=examples/hardened.tfvars

prefix      = "azml"
environment = "prod"
location    = "westeurope"

data_scientists_group_object_id = "00000000-0000-0000-0000-000000000000"

public_network_access_enabled = false
# Office egress range: kept in the storage and Key Vault firewalls, applied by Azure only if
# public access is ever turned on, so re-opening it never opens to the whole internet.
allowed_ip_ranges = ["203.0.113.0/24"]

storage_replication_type = "GZRS"

cluster_vm_size                        = "Standard_DS3_v2"
cluster_vm_priority                    = "Dedicated"
cluster_min_nodes                      = 0
cluster_max_nodes                      = 8
cluster_idle_seconds_before_scale_down = 600

soft_delete_retention_days = 90
log_retention_days         = 90

tags = {
  purpose     = "production"
  cost-center = "data-science"
}
