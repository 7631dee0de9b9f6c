"""One configuration for every process: the Jupyter server, the kernels it starts (``%%azml_submit``,
"Submit selected cells"), the ``azml-jupyter`` CLI and the engine.

Settings are the traits of :class:`AzmlJupyter`, written as ``c.AzmlJupyter.<trait>`` in the Jupyter
config files (``jupyter_server_config.py`` / ``.json`` in any folder of ``jupyter --paths``' config
list), as JupyterLab extensions' settings are (jupyterlab-git's ``c.JupyterLabGit``). Precedence, lowest
first, as jupyter_server's own settings (``c.ServerApp.token`` over ``$JUPYTER_TOKEN``):

1. built-in defaults;
2. environment variables (``AZML_JUPYTER_BACKEND``, ``AZML_JUPYTER_HOME``, ``AZML_JUPYTER_PYTHON``,
   ``AZML_JUPYTER_LOCAL_VCPU_QUOTA``): a trait's default is read from its variable;
3. the config files;
4. in a kernel started by the Jupyter server: the server's own resolved settings, which it hands to
   its kernels in ``AZML_JUPYTER_SETTINGS`` (so ``--AzmlJupyter.local_home=...`` on the server's
   command line reaches cell jobs too);
5. the server's command line (``--AzmlJupyter.x=``) or the CLI's flags (``--backend``, ``--home``).

The Azure workspace (subscription, resource group, name) keeps its own rule, "whole from one source"
(``backends/azure_settings.py: resolve_settings``): traits, else ``AZML_JUPYTER_*`` variables, else config.json.

``AzmlJupyter.load()`` reads 1-4 without starting anything (no server, no azure.ai.ml import);
:func:`process_backend` is the one place that opens "the backend" of a process.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

from traitlets import Bool, CaselessStrEnum, Int, Unicode, default
from traitlets import Callable as CallableTrait
from traitlets.config import Config, Configurable
from traitlets.config.loader import JSONFileConfigLoader, PyFileConfigLoader

SERVER_SETTINGS_VARIABLE = "AZML_JUPYTER_SETTINGS"
# The config files the Jupyter server reads (and so the extension's settings can be in).
CONFIG_FILE_NAMES = ("jupyter_server_config", "jupyter_azml_jupyter_config")
# Settings every process shares (the server hands these to its kernels); the rest are the server's own.
SHARED = (
    "backend",
    "local_home",
    "strict_compute",
    "python",
    "local_vcpu_quota",
    "subscription_id",
    "resource_group",
    "workspace_name",
    "config_path",
    "tenant_id",
    "credential",
)
AZURE = ("subscription_id", "resource_group", "workspace_name", "config_path", "tenant_id", "credential")


class AzmlJupyter(Configurable):
    """Configured as ``c.AzmlJupyter.<trait>`` (the server extension app is a subclass)."""

    backend = CaselessStrEnum(
        ["", "local", "azure"],
        default_value="",
        help="Which workspace to use: 'local' (the embedded engine) or 'azure' (Azure ML). Default: "
        "$AZML_JUPYTER_BACKEND, else Azure ML when a workspace is configured (traits, AZML_JUPYTER_* "
        "variables or a config.json), else local.",
    ).tag(config=True)
    local_home = Unicode(
        "",
        help="Folder of the local workspace (default: $AZML_JUPYTER_HOME, else <jupyter data dir>/azml_jupyter/"
        "workspace).",
    ).tag(config=True)
    strict_compute = Bool(
        False,
        help="Local engine: refuse jobs naming a compute that does not exist locally (default: run them on 'local').",
    ).tag(config=True)
    python = Unicode(
        "", help="Local engine: the Python interpreter jobs run with (default: $AZML_JUPYTER_PYTHON, the server's)."
    ).tag(config=True)
    local_vcpu_quota = Int(
        None,
        allow_none=True,
        help="Local engine: vCPUs all local clusters may claim together (their max nodes x this machine's "
        "vCPUs), like an Azure ML quota. Default: $AZML_JUPYTER_LOCAL_VCPU_QUOTA, else no quota.",
    ).tag(config=True)
    subscription_id = Unicode("", help="Azure subscription of the Azure ML workspace.").tag(config=True)
    resource_group = Unicode("", help="Resource group of the Azure ML workspace.").tag(config=True)
    workspace_name = Unicode("", help="Name of the Azure ML workspace.").tag(config=True)
    config_path = Unicode(
        "", help="Path of an Azure ML config.json (default: searched as MLClient.from_config does)."
    ).tag(config=True)
    tenant_id = Unicode("", help="Microsoft Entra tenant to sign in to.").tag(config=True)
    credential = CaselessStrEnum(
        ["", "default", "device_code", "managed_identity", "azure_cli"],
        default_value="",
        help="How to sign in to Azure: 'default' (DefaultAzureCredential), 'device_code' (a code to enter "
        "at https://microsoft.com/devicelogin, shown in the panel), 'managed_identity', 'azure_cli'. "
        "Default: $AZML_JUPYTER_CREDENTIAL, else 'default', which tries environment credentials, "
        "managed identity (compute instances) or the Azure CLI's sign-in.",
    ).tag(config=True)
    # the server's own
    max_workers = Int(8, help="Threads for backend and disk work (the event loop never waits on them).").tag(
        config=True
    )
    max_log_streams = Int(64, help="Log streams (SSE) open at once, in all; more get 429.").tag(config=True)
    max_log_streams_per_client = Int(16, help="Log streams (SSE) open at once per client address; more get 429.").tag(
        config=True
    )
    backend_factory = CallableTrait(
        None,
        allow_none=True,
        help="Advanced: a callable taking the server extension app and returning a Backend, used instead "
        "of `backend` (custom backends; the test suite's deliberately slow backend). Called once, in a "
        "worker thread.",
    ).tag(config=True)

    @default("backend")
    def _backend_default(self) -> str:
        return os.environ.get("AZML_JUPYTER_BACKEND", "").lower()

    @default("local_home")
    def _local_home_default(self) -> str:
        return os.environ.get("AZML_JUPYTER_HOME", "")

    @default("python")
    def _python_default(self) -> str:
        return os.environ.get("AZML_JUPYTER_PYTHON", "")

    @default("local_vcpu_quota")
    def _local_vcpu_quota_default(self) -> int | None:
        from .errors import InvalidRequest
        from .sizing.local_sizes import local_vcpu_quota

        try:
            return local_vcpu_quota()  # the one reading of $AZML_JUPYTER_LOCAL_VCPU_QUOTA
        except InvalidRequest:
            return None  # the local backend reads the variable again and says what is wrong with it

    # ---- reading -------------------------------------------------------------------------------------
    @classmethod
    def load(cls, **overrides: Any) -> AzmlJupyter:
        """This process's settings: defaults < environment < config files < the settings of the server
        that started this process < ``overrides`` (values that are None are not given)."""
        config = read_config_files()
        server = os.environ.get(SERVER_SETTINGS_VARIABLE)
        if server:
            try:
                handed = json.loads(server)
            except ValueError:
                handed = {}
            if isinstance(handed, dict):
                config.merge(Config({cls.__name__: {k: v for k, v in handed.items() if k in SHARED}}))
        given = {k: v for k, v in overrides.items() if v is not None}
        if given:
            config.merge(Config({cls.__name__: given}))
        return cls(config=config)

    def shared(self) -> dict[str, Any]:
        """The settings every process must agree on (JSON-able), for the server's kernels."""
        return {name: getattr(self, name) for name in SHARED}

    def azure_settings(self) -> dict[str, Any]:
        """The Azure workspace settings given as traits (empty ones left out: see ``resolve_settings``)."""
        return {name: getattr(self, name) for name in AZURE if getattr(self, name)}

    def open_backend(self):
        """The backend these settings name (``backends.open_backend``)."""
        from .backends import open_backend

        return open_backend(
            self.backend or None,
            home=self.local_home or None,
            strict_compute=self.strict_compute,
            python=self.python or None,
            azure=self.azure_settings(),
            local_vcpu_quota=self.local_vcpu_quota,
        )


def read_config_files(paths: list[str] | None = None) -> Config:
    """The ``AzmlJupyter`` settings in the Jupyter config files, merged as jupyter_server merges them
    (the folders of ``jupyter_config_path()``, the most general first; in each, ``.json`` then ``.py``)."""
    if paths is None:
        from jupyter_core.paths import jupyter_config_path

        paths = jupyter_config_path()
    merged = Config()
    for folder in reversed(paths):  # jupyter_config_path() lists the most specific folder first
        for name in CONFIG_FILE_NAMES:
            for loader in (
                JSONFileConfigLoader(f"{name}.json", path=folder),
                PyFileConfigLoader(f"{name}.py", path=folder),
            ):
                if not Path(folder, loader.filename).is_file():
                    continue
                try:
                    loaded = loader.load_config()
                except Exception:  # a broken file is the server's to report; we read what we can
                    continue
                if AzmlJupyter.__name__ in loaded:
                    merged.merge(Config({AzmlJupyter.__name__: loaded[AzmlJupyter.__name__]}))
    return merged


_process_backend = None
_process_lock = threading.Lock()


def process_backend():
    """The backend of this process (kernel, CLI, widget), opened once from :meth:`AzmlJupyter.load` and
    shared (backends are thread-safe)."""
    global _process_backend
    with _process_lock:
        if _process_backend is None:
            _process_backend = AzmlJupyter.load().open_backend()
        return _process_backend
