# First try: everything reachable over the internet (Entra ID sign-in still required),
# cheapest settings. Apply with:
#   terraform -chdir=terraform apply -var-file=examples/quickstart.tfvars
# Replace the group id with your data scientists' Entra ID group (az ad group show -g NAME --query id).

prefix      = "azml"
environment = "try"
location    = "westeurope"

data_scientists_group_object_id = "00000000-0000-0000-0000-000000000000"

public_network_access_enabled = true
allowed_ip_ranges             = []

cluster_vm_size                        = "Standard_DS3_v2"
cluster_vm_priority                    = "LowPriority"
cluster_min_nodes                      = 0
cluster_max_nodes                      = 2
cluster_idle_seconds_before_scale_down = 120

# Shortest recovery window: a destroyed try-out frees its names sooner.
soft_delete_retention_days = 7

tags = {
  purpose = "quickstart"
}
