"""The Azure ML sidebar in a real JupyterLab, in Chromium: the workspace and its computes."""

import json
import os
import re
import subprocess
import sys
import urllib.error
import uuid
from pathlib import Path

import pytest
from lab_ui import SIDEBAR, dialog, open_sidebar
from playwright.sync_api import Page, expect


def test_sidebar_shows_the_local_workspace_and_cluster(page: Page, lab_server, screenshot) -> None:
    panel = open_sidebar(page, lab_server)

    expect(panel.locator(".azml-Workspace-backend")).to_have_text("local")
    expect(panel.locator(".azml-Error")).to_have_count(0)
    # The page shows what the server says, and the server uses the workspace it was given.
    facts = lab_server.get_json("azml/workspace")
    expect(panel.locator(".azml-Workspace-name")).to_have_text(facts["name"])
    expect(panel.locator(".azml-Workspace-location")).to_have_text(facts["location"])
    expect(panel.locator(".azml-Workspace-home")).to_contain_text(str(lab_server.azml_home))
    # Local engine: no studio link.
    expect(panel.locator(".azml-Workspace .azml-StudioLink")).to_have_count(0)

    # The `local` cluster with its size, nodes (current / max) and state, as the server lists it.
    computes = {c["name"]: c for c in lab_server.get_json("azml/computes")["computes"]}
    local = computes["local"]
    row = panel.locator('.azml-ComputeRow[data-compute="local"]')
    expect(row.locator(".azml-ComputeRow-name")).to_have_text("local")
    expect(row.locator(".azml-ComputeRow-size")).to_have_text(local["size"])
    expect(row.locator(".azml-ComputeRow-nodes")).to_have_text(re.compile(rf"^\d+ / {local['max_nodes']}$"))
    expect(row.locator(".azml-ComputeRow-state")).to_have_text(local["state"])
    screenshot("sidebar-workspace")


def test_sidebar_shows_the_server_error_message(page: Page, lab_server) -> None:
    # The server's JSON error body reaches the user as is.
    page.route(
        re.compile(r"/azml/workspace(\?|$)"),
        lambda route: route.fulfill(
            status=503,
            json={
                "error": "backend_unavailable",
                "message": "Azure ML workspace 'ml-prod' is not reachable: token expired",
                "details": None,
            },
        ),
    )
    open_sidebar(page, lab_server)
    error = page.locator(SIDEBAR).locator(".azml-Workspace .azml-Error")
    expect(error).to_have_text("Azure ML workspace 'ml-prod' is not reachable: token expired")
    expect(page.locator(SIDEBAR).locator(".azml-Workspace-backend")).to_have_count(0)


def test_status_filter_lists_the_servers_statuses(page: Page, lab_server) -> None:
    # One source for status names: the filter offers exactly the server's list, in its order.
    panel = open_sidebar(page, lab_server)
    names = [s["name"] for s in lab_server.get_json("azml/statuses")["statuses"]]
    options = panel.locator(".azml-JobList-filter option")
    expect(options).to_have_count(len(names) + 2)  # All, Active, then each status
    assert options.all_inner_texts()[2:] == names


def test_resize_the_local_cluster_with_size_advice(page: Page, lab_server) -> None:
    before = {c["name"]: c for c in lab_server.get_json("azml/computes")["computes"]}["local"]
    panel = open_sidebar(page, lab_server)
    row = panel.locator('.azml-ComputeRow[data-compute="local"]')
    try:
        row.locator(".azml-IconButton").click()
        form = dialog(page)
        expect(form.locator(".jp-Dialog-header")).to_contain_text("Resize cluster local")
        expect(form.locator(".azml-Compute-size")).to_be_focused()
        # "Size for me…": the server's sizing advice picks a size (the local engine has one: local).
        form.locator(".azml-SizeForMe summary").click()
        form.locator(".azml-Compute-sizingMemory").fill("1")
        form.locator(".azml-Compute-sizeForMe").click()
        expect(form.locator(".azml-Compute-advice")).to_contain_text("local")
        expect(form.locator(".azml-Compute-size")).to_have_value("local")

        new_max = before["max_nodes"] + 1
        form.locator(".azml-Compute-max").fill(str(new_max))
        with page.expect_request(lambda r: r.method == "PUT" and "/azml/computes/local" in r.url) as sent:
            form.get_by_role("button", name="Apply").click()
        assert sent.value.post_data_json == {"max_nodes": new_max}  # only what changed
        expect(row.locator(".azml-ComputeRow-nodes")).to_have_text(re.compile(rf"^\d+ / {new_max}$"))
        assert {c["name"]: c for c in lab_server.get_json("azml/computes")["computes"]}["local"]["max_nodes"] == new_max
    finally:
        lab_server.request_json("PUT", "azml/computes/local", {"max_nodes": before["max_nodes"]})


def test_a_refused_cluster_shows_the_servers_message(page: Page, lab_server) -> None:
    name = "a-name-far-too-long-for-azure-ml"
    with pytest.raises(urllib.error.HTTPError) as refused:
        lab_server.request_json("PUT", f"azml/computes/{name}", {"size": "local", "max_nodes": 1})
    message = json.loads(refused.value.read())["message"]

    panel = open_sidebar(page, lab_server)
    panel.locator('.azml-Computes .azml-Section-actions .azml-IconButton[title="New cluster…"]').click()
    form = dialog(page)
    expect(form.locator(".azml-Compute-name")).to_be_focused()
    form.locator(".azml-Compute-name").fill(name)
    form.locator(".azml-Compute-max").fill("3")
    form.get_by_role("button", name="Create").click()
    # Issue 21, item 11: the dialog stays with what was typed, says "create" (not "update") and shows
    # the server's message beside the field it is about; the focus is back in that field.
    expect(form.locator(".jp-Dialog-header")).to_have_text("New compute cluster")
    expect(form.locator(".azml-Form > .azml-Error")).to_have_text(f"Could not create compute {name}")
    expect(form.locator('.azml-Field[data-field="name"] .azml-Field-error')).to_have_text(message)
    expect(form.locator(".azml-Compute-name")).to_have_value(name)
    expect(form.locator(".azml-Compute-max")).to_have_value("3")
    expect(form.locator(".azml-Compute-name")).to_be_focused()
    form.get_by_role("button", name="Cancel").click()
    expect(dialog(page)).to_have_count(0)
    expect(panel.locator(f'.azml-ComputeRow[data-compute="{name}"]')).to_have_count(0)


def test_an_empty_cluster_name_is_required(page: Page, lab_server) -> None:
    panel = open_sidebar(page, lab_server)
    panel.locator('.azml-Computes .azml-Section-actions .azml-IconButton[title="New cluster…"]').click()
    form = dialog(page)
    form.get_by_role("button", name="Create").click()
    expect(form.locator('.azml-Field[data-field="name"] .azml-Field-error')).to_have_text("A name is required.")
    form.get_by_role("button", name="Cancel").click()


def test_computes_table_fits_the_default_sidebar_width(page: Page, lab_server) -> None:
    # Issue 21, item 5: with a second cluster with an Azure-length name and VM size, the table used to
    # overflow the default sidebar width ("Succeeded" clipped, the pencil off-screen, a scrollbar).
    name = f"gpu-cluster-{uuid.uuid4().hex[:4]}"
    lab_server.request_json("PUT", f"azml/computes/{name}", {"size": "Standard_NC24ads_A100_v4", "max_nodes": 4})
    panel = open_sidebar(page, lab_server)
    row = panel.locator(f'.azml-ComputeRow[data-compute="{name}"]')
    expect(row.locator(".azml-ComputeRow-state")).to_have_text("Succeeded")

    # Nothing scrolls sideways: neither the panel nor the Computes section.
    for target in (panel, panel.locator(".azml-Computes .azml-Section-body")):
        width = target.evaluate("node => ({scroll: node.scrollWidth, client: node.clientWidth})")
        assert width["scroll"] <= width["client"], width
    # Every cell shows its whole text (no ellipsis, no clipping), and each edit button is inside the panel.
    clipped = panel.locator(".azml-ComputeRow > *").evaluate_all(
        "cells => cells.filter(c => c.scrollWidth > c.clientWidth).map(c => c.className + ': ' + c.textContent)"
    )
    assert clipped == [], clipped
    box = panel.bounding_box()
    for button in panel.locator(".azml-ComputeRow .azml-IconButton").all():
        edit = button.bounding_box()
        assert box["x"] <= edit["x"] and edit["x"] + edit["width"] <= box["x"] + box["width"], (edit, box)
    expect(row.locator(".azml-ComputeRow-size")).to_have_text("Standard_NC24ads_A100_v4")


def test_a_cluster_created_by_the_cli_appears_in_the_open_panel(page: Page, lab_server) -> None:
    # Issue 21, item 4: the panel used to refresh computes only when the job list changed, so a cluster
    # made by `azml-jupyter compute create` (or the sizing widget in a kernel) stayed invisible.
    panel = open_sidebar(page, lab_server)
    expect(panel.locator('.azml-ComputeRow[data-compute="local"]')).to_be_visible()
    name = f"cli-cluster-{uuid.uuid4().hex[:4]}"
    cli = Path(sys.executable).with_name("azml-jupyter")
    subprocess.run(
        [str(cli), "compute", "create", "-n", name, "--size", "local", "--max-instances", "3"],
        env={**os.environ, "AZML_JUPYTER_HOME": str(lab_server.azml_home)},
        check=True,
        capture_output=True,
        timeout=120,
    )
    # Visible and idle, the panel polls every 10 s (a 304 while nothing changed).
    row = panel.locator(f'.azml-ComputeRow[data-compute="{name}"]')
    expect(row.locator(".azml-ComputeRow-nodes")).to_have_text("0 / 3", timeout=25_000)
