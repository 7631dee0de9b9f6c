"""Cluster sizing: recommend a VM size and node count from what a job needs, the sizes a backend
offers, the quota left and a dated price table. Pure functions; the widget, the REST route and
``ensure_cluster`` (``provision.py``: create or update a cluster through a backend) sit on top of them.
"""

from .local_sizes import (
    LOCAL_FAMILY,
    LOCAL_VCPU_QUOTA_ENV,
    KernelMemory,
    count_nvidia_gpus,
    data_size_bytes,
    local_kernel_memory,
    local_usage,
    local_vcpu_quota,
    local_vm_size,
)
from .prices import PRICES_ENV, SHIPPED_PRICES, PriceTable
from .provision import EnsureResult, ProvisioningFailed, ProvisioningTimeout, QuotaExceeded, ensure_cluster
from .quota import Quota, QuotaCheck, classify, family_key, release
from .recommend import (
    MemoryNeed,
    Recommendation,
    SizingRequest,
    SizingResult,
    memory_need,
    recommend,
)

__all__ = [
    "LOCAL_FAMILY",
    "LOCAL_VCPU_QUOTA_ENV",
    "EnsureResult",
    "ProvisioningFailed",
    "ProvisioningTimeout",
    "QuotaExceeded",
    "PRICES_ENV",
    "SHIPPED_PRICES",
    "KernelMemory",
    "MemoryNeed",
    "PriceTable",
    "Quota",
    "QuotaCheck",
    "Recommendation",
    "SizingRequest",
    "SizingResult",
    "classify",
    "count_nvidia_gpus",
    "data_size_bytes",
    "ensure_cluster",
    "family_key",
    "local_kernel_memory",
    "local_usage",
    "local_vcpu_quota",
    "local_vm_size",
    "memory_need",
    "recommend",
    "release",
]
