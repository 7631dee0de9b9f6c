"""Shared fixtures. Every test gets its own local workspace folder; the engine daemon a test starts is
stopped (and any job it left running is canceled) when the test ends."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Daemons started by tests go away soon after their last job, and cancel quickly.
os.environ.setdefault("AZML_ENGINE_IDLE_EXIT", "5")
os.environ.setdefault("AZML_ENGINE_CANCEL_GRACE", "2")

pytest_plugins = ["pytest_jupyter.jupyter_server"]


@pytest.fixture
def azml_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A fresh local workspace folder, also exported as AZML_JUPYTER_HOME for subprocesses."""
    home = tmp_path / "azml-home"
    monkeypatch.setenv("AZML_JUPYTER_HOME", str(home))
    monkeypatch.delenv("AZML_JUPYTER_BACKEND", raising=False)
    yield home
    _shut_down(home)


def _shut_down(home: Path) -> None:
    from azml_jupyter.engine import daemon
    from azml_jupyter.engine.layout import Layout
    from azml_jupyter.engine.workspace import LocalWorkspace

    if not (home / "workspace.db").exists():
        return
    workspace = LocalWorkspace(home, start_engine=False)
    active = workspace.store.jobs_in_status(daemon.ACTIVE)
    for row in active:
        if row["parent_name"] is None:
            try:
                workspace.cancel_job(row["name"])
            except Exception:
                pass
    for row in active:
        if row["parent_name"] is None:
            workspace.wait(row["name"], timeout=15)
    workspace.close()
    daemon.stop(Layout(home))


@pytest.fixture
def workspace(azml_home: Path):
    from azml_jupyter.engine.workspace import LocalWorkspace

    ws = LocalWorkspace(azml_home)
    yield ws
    ws.close()


@pytest.fixture
def local_backend(azml_home: Path):
    from azml_jupyter.backends.local import LocalBackend

    backend = LocalBackend(azml_home)
    yield backend
    backend.close()


@pytest.fixture
def jp_server_config(azml_home: Path):
    """The Jupyter server under test loads our extension on a fresh local workspace."""
    return {
        "ServerApp": {"jpserver_extensions": {"azml_jupyter": True}},
        "AzmlJupyter": {"local_home": str(azml_home), "backend": "local"},
    }
