"""Where the Azure ML workspace and the sign-in come from: traits, ``AZML_JUPYTER_*`` variables or a
config.json, each source whole (``docs/azure-backend.md``)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

from ..errors import InvalidRequest, NotFound
from ..workspace_config import AzureWorkspaceConfig, find_config, load_config
from .azure_auth import CREDENTIAL_KINDS

ENV_SUBSCRIPTION = "AZML_JUPYTER_SUBSCRIPTION_ID"
ENV_RESOURCE_GROUP = "AZML_JUPYTER_RESOURCE_GROUP"
ENV_WORKSPACE = "AZML_JUPYTER_WORKSPACE"
ENV_TENANT = "AZML_JUPYTER_TENANT_ID"
ENV_CREDENTIAL = "AZML_JUPYTER_CREDENTIAL"
ENV_CONFIG = "AZML_JUPYTER_CONFIG"


def resolve_settings(settings: dict[str, Any]) -> tuple[AzureWorkspaceConfig, str, str]:
    """(workspace config, credential kind, where the workspace came from).

    The workspace (subscription, resource group, name) comes whole from the first of: the server's
    settings (traitlets), the ``AZML_JUPYTER_*`` environment variables, a config.json (``config_path``
    or ``AZML_JUPYTER_CONFIG``, else searched as ``MLClient.from_config`` does). A source that names only
    part of it is an error, not silently completed from the next one. ``tenant_id`` and ``credential``
    follow the same order; the extension's extras (default compute, studio URL...) come from config.json
    when it describes the same workspace."""
    settings = {k: v for k, v in (settings or {}).items() if v not in (None, "")}
    env = {
        "subscription_id": os.environ.get(ENV_SUBSCRIPTION),
        "resource_group": os.environ.get(ENV_RESOURCE_GROUP),
        "workspace_name": os.environ.get(ENV_WORKSPACE),
        "tenant_id": os.environ.get(ENV_TENANT),
        "credential": os.environ.get(ENV_CREDENTIAL),
        "config_path": os.environ.get(ENV_CONFIG),
    }
    env = {k: v for k, v in env.items() if v}
    config_path = settings.get("config_path") or env.get("config_path")
    found = find_config(Path(config_path).expanduser() if config_path else None)
    if config_path and found is None:
        raise NotFound(f"No Azure ML config.json at {config_path}.", details={"path": str(config_path)})
    file_config = load_config(found) if found is not None else None

    identity_fields = ("subscription_id", "resource_group", "workspace_name")
    chosen: tuple[dict[str, Any], str] | None = None
    for values, label in ((settings, "server settings (c.AzmlJupyter)"), (env, "environment variables")):
        present = [f for f in identity_fields if values.get(f)]
        if present:
            missing = [f for f in identity_fields if not values.get(f)]
            if missing:
                names = {
                    "subscription_id": ENV_SUBSCRIPTION,
                    "resource_group": ENV_RESOURCE_GROUP,
                    "workspace_name": ENV_WORKSPACE,
                }
                spelled = [names[m] if label.startswith("environment") else m for m in missing]
                raise InvalidRequest(
                    f"The Azure ML workspace in the {label} is incomplete: {', '.join(spelled)} missing.",
                    details={"source": label, "missing": missing},
                )
            chosen = (values, label)
            break
    if chosen is None:
        if file_config is None:
            raise NotFound(
                "No Azure ML workspace is configured: set c.AzmlJupyter.subscription_id/resource_group/"
                f"workspace_name, or {ENV_SUBSCRIPTION}/{ENV_RESOURCE_GROUP}/{ENV_WORKSPACE}, or write a "
                "config.json (azml-jupyter workspace configure --from-terraform).",
                code="workspace_not_configured",
            )
        config, source = file_config, str(found)
    else:
        values, source = chosen
        config = AzureWorkspaceConfig(**{f: values[f] for f in identity_fields})
        if file_config is not None and all(
            getattr(file_config, f).lower() == getattr(config, f).lower() for f in identity_fields
        ):
            config = file_config  # same workspace: keep the file's extras
    tenant = settings.get("tenant_id") or env.get("tenant_id") or config.tenant_id
    if tenant != config.tenant_id:
        config = dataclasses.replace(config, tenant_id=tenant)
    kind = str(settings.get("credential") or env.get("credential") or "default").lower()
    if kind not in CREDENTIAL_KINDS:
        raise InvalidRequest(
            f"Unknown credential {kind!r}; use one of {', '.join(CREDENTIAL_KINDS)}.", details={"credential": kind}
        )
    return config, kind, source
