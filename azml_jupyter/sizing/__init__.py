"""Cluster sizing: recommend a VM size and node count from what a job needs, the sizes a backend
offers, the quota left and a dated price table. Pure functions; the widget, the REST route and
``ensure_cluster`` sit on top of them.
"""

from .local_sizes import (
    LOCAL_FAMILY,
    KernelMemory,
    count_nvidia_gpus,
    data_size_bytes,
    local_kernel_memory,
    local_usage,
    local_vm_size,
)
from .prices import PRICES_ENV, SHIPPED_PRICES, PriceTable
from .quota import Quota, QuotaCheck, classify, family_key
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
    "family_key",
    "local_kernel_memory",
    "local_usage",
    "local_vm_size",
    "memory_need",
    "recommend",
]
