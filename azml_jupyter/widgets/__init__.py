"""ipywidgets for notebooks: ``JobMonitor`` (a live job view) and ``ClusterSizer`` (cluster sizing).

Imported lazily (module ``__getattr__``): importing ``azml_jupyter.widgets`` does not import ipywidgets
until a widget is used, so ``%load_ext azml_jupyter`` stays cheap.
"""

from __future__ import annotations

from typing import Any

_LAZY = {
    "JobMonitor": "azml_jupyter.widgets.job_monitor",
    "ClusterSizer": "azml_jupyter.widgets.cluster_sizer",
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'azml_jupyter.widgets' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
