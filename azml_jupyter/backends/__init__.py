"""Backends: the local engine (default) and Azure ML, behind one protocol (``base.Backend``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import InvalidRequest
from .base import Backend, ComputeRequest, LogChunk, OutputFile

BACKENDS = ("local", "azure")


def open_backend(
    kind: str | None = None,
    *,
    home: str | Path | None = None,
    strict_compute: bool = False,
    python: str | None = None,
    azure: dict[str, Any] | None = None,
    local_vcpu_quota: int | None = None,
) -> Backend:
    """Open the configured backend. Without an explicit choice (argument or ``AZML_JUPYTER_BACKEND``)
    Azure ML is used when a workspace is configured, the local engine otherwise."""
    kind = kind or os.environ.get("AZML_JUPYTER_BACKEND") or ("azure" if azure_configured(azure) else "local")
    if kind == "local":
        from .local import LocalBackend

        return LocalBackend(home, strict_compute=strict_compute, python=python, local_vcpu_quota=local_vcpu_quota)
    if kind == "azure":
        from .azure import AzureBackend

        return AzureBackend.from_settings(azure or {})
    raise InvalidRequest(f"Unknown backend {kind!r}; use one of {', '.join(BACKENDS)}.")


def azure_configured(settings: dict[str, Any] | None = None) -> bool:
    """Is an Azure ML workspace configured (settings, environment variables or a config.json)?"""
    settings = settings or {}
    if settings.get("subscription_id") and settings.get("workspace_name"):
        return True
    if os.environ.get("AZML_JUPYTER_SUBSCRIPTION_ID") and os.environ.get("AZML_JUPYTER_WORKSPACE"):
        return True
    try:
        from ..workspace_config import find_config
    except ImportError:
        return False
    return find_config(Path(settings["config_path"]) if settings.get("config_path") else None) is not None


__all__ = ["Backend", "ComputeRequest", "LogChunk", "OutputFile", "open_backend", "azure_configured", "BACKENDS"]
