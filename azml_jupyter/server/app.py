"""The Jupyter server extension: configuration (traitlets) and the REST routes under ``/azml/``.

Loading it must cost almost nothing: no backend is opened and azure.ai.ml is not imported until the
first request that needs them, and then only inside the worker thread pool.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from jupyter_server.extension.application import ExtensionApp
from traitlets import Bool, CaselessStrEnum, Int, Unicode
from traitlets import Callable as CallableTrait

from ..backends.base import Backend

T = TypeVar("T")


class AzmlJupyter(ExtensionApp):
    """Configured as ``c.AzmlJupyter.<trait>`` in jupyter_server_config.py."""

    name = "azml_jupyter"
    load_other_extensions = True

    backend = CaselessStrEnum(
        ["", "local", "azure"],
        default_value="",
        help="Which workspace to use: 'local' (the embedded engine) or 'azure' (Azure ML). Default: Azure ML "
        "when a workspace is configured (here, by environment variables or a config.json), else local.",
    ).tag(config=True)
    local_home = Unicode(
        "", help="Folder of the local workspace (default: $AZML_JUPYTER_HOME or <jupyter data dir>/azml_jupyter/workspace)."
    ).tag(config=True)
    strict_compute = Bool(
        False, help="Local engine: refuse jobs naming a compute that does not exist locally (default: run them on 'local')."
    ).tag(config=True)
    python = Unicode("", help="Local engine: the Python interpreter jobs run with (default: the server's).").tag(config=True)
    local_vcpu_quota = Int(
        None,
        allow_none=True,
        help="Local engine: vCPUs all local clusters may claim together (max nodes x this machine's vCPUs each); "
        "cluster creates and resizes beyond it are refused. Default: $AZML_JUPYTER_LOCAL_VCPU_QUOTA, else no quota.",
    ).tag(config=True)
    subscription_id = Unicode("", help="Azure subscription id of the Azure ML workspace.").tag(config=True)
    resource_group = Unicode("", help="Resource group of the Azure ML workspace.").tag(config=True)
    workspace_name = Unicode("", help="Name of the Azure ML workspace.").tag(config=True)
    config_path = Unicode("", help="Path of an Azure ML config.json (default: searched as MLClient.from_config does).").tag(
        config=True
    )
    tenant_id = Unicode("", help="Microsoft Entra tenant to sign in to.").tag(config=True)
    credential = CaselessStrEnum(
        ["default", "device_code", "managed_identity", "azure_cli"],
        default_value="default",
        help="How to sign in to Azure: DefaultAzureCredential, device code (JupyterHub, remote servers), "
        "managed identity (compute instances) or the Azure CLI's sign-in.",
    ).tag(config=True)
    max_log_streams = Int(64, help="Log streams (SSE) open at once, in all; more get 429.").tag(config=True)
    max_log_streams_per_client = Int(16, help="Log streams (SSE) open at once per client address; more get 429.").tag(
        config=True
    )
    max_workers = Int(8, help="Threads for backend and disk work (the event loop never waits on them).").tag(config=True)
    backend_factory = CallableTrait(
        None,
        allow_none=True,
        help="Advanced: a callable taking this app and returning a Backend, used instead of `backend` "
        "(custom backends; the test suite's deliberately slow backend). Called once, in a worker thread.",
    ).tag(config=True)

    def initialize_settings(self) -> None:
        self._pool = concurrent.futures.ThreadPoolExecutor(self.max_workers, thread_name_prefix="azml-worker")
        self._backend: Backend | None = None
        self._backend_lock = threading.Lock()
        self.settings["azml"] = self
        from .stream_slots import StreamSlots

        self.log_streams = StreamSlots(self.max_log_streams, self.max_log_streams_per_client)
        # the server's access log scrubs ?token=; it must scrub SAS signatures and the like too
        from .redaction import access_log_scrub_keys

        self.settings["extra_log_scrub_param_keys"] = access_log_scrub_keys(self.serverapp.extra_log_scrub_param_keys)

    def initialize_handlers(self) -> None:
        from .handlers import route_table

        self.handlers.extend(route_table())

    # ---- used by the handlers ---------------------------------------------------------------------
    def get_backend(self) -> Backend:
        """Open the backend on first use (inside a worker thread: it may import azure.ai.ml)."""
        with self._backend_lock:
            if self._backend is None and self.backend_factory is not None:
                self._backend = self.backend_factory(self)
            if self._backend is None:
                from ..backends import open_backend

                self._backend = open_backend(
                    self.backend or None,
                    home=self.local_home or None,
                    strict_compute=self.strict_compute,
                    python=self.python or None,
                    azure=self.azure_settings(),
                    local_vcpu_quota=self.local_vcpu_quota,
                )
            return self._backend

    def azure_settings(self) -> dict[str, Any]:
        names = ("subscription_id", "resource_group", "workspace_name", "config_path", "tenant_id", "credential")
        return {name: getattr(self, name) for name in names if getattr(self, name)}

    async def run(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run blocking work in the bounded pool; the event loop stays free."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, lambda: function(*args, **kwargs))

    async def stop_extension(self) -> None:
        if self._backend is not None:
            self._backend.close()
        self._pool.shutdown(wait=False, cancel_futures=True)


AzmlJupyterApp = AzmlJupyter
