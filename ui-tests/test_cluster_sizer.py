"""The ClusterSizer widget in a real JupyterLab notebook, in Chromium: it renders the ranked table with
the local size, Create makes the cluster through the kernel's backend, and the result and the compute
list show it (the server's GET /azml/computes, which the panel and `azml-jupyter compute list` read,
has it too). Screenshot: docs/screenshots/cluster-sizer.png (AZML_UPDATE_SCREENSHOTS=1)."""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

TIMEOUT_MS = 60_000  # a kernel start and the first import of the package fit well inside this
WAIT = {"timeout": TIMEOUT_MS}  # for expect(), whose own default is 5 s
CLUSTER = "cpu-cluster"
WORKSPACE = "cluster-sizer-test"  # JupyterLab layout workspace (tabs, sidebars), not the Azure ML one
CELL = "from azml_jupyter.widgets import ClusterSizer\nClusterSizer()"


def _call(lab_server, method: str, path: str) -> None:
    request = urllib.request.Request(
        f"{lab_server.base_url}{path}", method=method, headers={"Authorization": f"token {lab_server.token}"}
    )
    with urllib.request.urlopen(request, timeout=30):
        pass


def _computes(lab_server) -> dict[str, dict]:
    return {c["name"]: c for c in lab_server.get_json("azml/computes")["computes"]}


@pytest.fixture
def sizer_notebook(lab_server) -> Iterator[str]:
    """A notebook with the one cell, in the lab's root; afterwards its kernel is shut down and the
    cluster the test made is deleted, so the shared workspace is as other tests expect it."""
    assert CLUSTER not in _computes(lab_server), "the shared lab workspace already has the cluster"
    name = "cluster-sizer.ipynb"
    notebook = {
        "cells": [
            {"id": "sizer", "cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": CELL}
        ],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path = lab_server.root_dir / name
    path.write_text(json.dumps(notebook))
    yield name
    for session in lab_server.get_json("api/sessions"):
        if session.get("path") == name:
            _call(lab_server, "DELETE", f"api/sessions/{session['id']}")
    if WORKSPACE in json.dumps(lab_server.get_json("lab/api/workspaces")):
        _call(lab_server, "DELETE", f"lab/api/workspaces/{WORKSPACE}")
    from azml_jupyter.backends.local import LocalBackend

    backend = LocalBackend(lab_server.azml_home)
    try:
        if CLUSTER in {c.name for c in backend.list_computes()}:
            backend.delete_compute(CLUSTER)
    finally:
        backend.close()
    path.unlink(missing_ok=True)


def test_cluster_sizer_renders_and_creates_the_cluster(page: Page, lab_server, sizer_notebook, screenshot) -> None:
    page.set_default_timeout(TIMEOUT_MS)
    # A workspace of its own: the open notebook and the collapsed sidebar are not restored in other tests.
    page.goto(lab_server.url(f"lab/workspaces/{WORKSPACE}/tree/{sizer_notebook}"))
    editor = page.locator(".jp-NotebookPanel .jp-Cell .jp-InputArea-editor").first
    expect(editor).to_contain_text("ClusterSizer()", **WAIT)
    # Keys typed before the notebook is wired to its kernel can be lost: wait for the idle kernel first.
    expect(page.get_by_text("Python 3 (ipykernel) | Idle")).to_be_visible(**WAIT)
    editor.click()
    page.keyboard.press("Shift+Enter")
    expect(page.locator(".jp-NotebookPanel .jp-Cell .jp-InputPrompt").first).to_have_text(
        re.compile(r"\[(\*|\d+)\]"), **WAIT
    )

    sizer = page.locator(".azml-cluster-sizer")
    expect(sizer).to_be_visible(**WAIT)
    row = sizer.locator(".azml-sizer-ranking tr.azml-sizer-row")
    expect(row).to_have_count(1, **WAIT)
    expect(row.first).to_have_attribute("data-size", "local")
    expect(row.first).to_contain_text("price: no charge, runs on this machine")
    expect(sizer.locator(".azml-sizer-cost")).to_contain_text("idle: $0/h")
    expect(sizer.locator(".azml-error")).to_have_count(0)

    sizer.get_by_role("button", name=f"Create {CLUSTER}").click()
    expect(sizer.locator(".azml-sizer-result")).to_contain_text(
        f"Created cluster {CLUSTER}: local, 0-1 node, scales down after 120 s idle, dedicated.", **WAIT
    )
    listed = sizer.locator(".azml-sizer-computes")
    expect(listed).to_contain_text(CLUSTER, **WAIT)
    expect(sizer.get_by_role("button", name=f"Update {CLUSTER}")).to_be_enabled(**WAIT)

    compute = _computes(lab_server)[CLUSTER]  # what the panel and the CLI read
    assert (compute["size"], compute["min_nodes"], compute["max_nodes"], compute["idle_seconds"]) == (
        "local",
        0,
        1,
        120,
    )
    page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current").click()  # more room for the widget
    sizer.scroll_into_view_if_needed()
    screenshot("cluster-sizer")
