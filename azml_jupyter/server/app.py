"""The Jupyter server extension: configuration (traitlets) and the REST routes under ``/azml/``.

Loading it must cost almost nothing: no backend is opened and azure.ai.ml is not imported until the
first request that needs them, and then only inside the worker thread pool.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from jupyter_server.extension.application import ExtensionApp

from ..backends.base import Backend
from ..settings import SERVER_SETTINGS_VARIABLE, AzmlJupyter

T = TypeVar("T")


class AzmlJupyterApp(ExtensionApp, AzmlJupyter):
    """The server extension. Its settings are ``AzmlJupyter``'s (``azml_jupyter/settings.py``), read
    from ``c.AzmlJupyter.<trait>`` like every other process's; it hands its resolved shared settings to
    the kernels it starts (``AZML_JUPYTER_SETTINGS``), so cell jobs go to the workspace the panel shows."""

    name = "azml_jupyter"
    load_other_extensions = True

    def initialize_settings(self) -> None:
        self._pool = concurrent.futures.ThreadPoolExecutor(self.max_workers, thread_name_prefix="azml-worker")
        self._backend: Backend | None = None
        self._backend_lock = threading.Lock()
        self.settings["azml"] = self
        # Kernels (and terminals) inherit the server's environment: hand them the resolved settings.
        self._handed_settings = os.environ.get(SERVER_SETTINGS_VARIABLE)
        os.environ[SERVER_SETTINGS_VARIABLE] = json.dumps(self.shared())
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
                self._backend = self.open_backend()
            return self._backend

    async def run(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run blocking work in the bounded pool; the event loop stays free."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, lambda: function(*args, **kwargs))

    async def stop_extension(self) -> None:
        if self._handed_settings is None:
            os.environ.pop(SERVER_SETTINGS_VARIABLE, None)
        else:
            os.environ[SERVER_SETTINGS_VARIABLE] = self._handed_settings
        if self._backend is not None:
            self._backend.close()
        self._pool.shutdown(wait=False, cancel_futures=True)


