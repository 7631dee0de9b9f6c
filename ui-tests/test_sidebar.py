"""The Azure ML sidebar in a real JupyterLab, in Chromium: the workspace and its computes."""

import json
import re
import urllib.error

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
    form.get_by_role("button", name="Create").click()
    error = dialog(page)
    expect(error.locator(".jp-Dialog-header")).to_contain_text(f"Could not update compute {name}")
    expect(error.locator(".jp-Dialog-body")).to_contain_text(message)
    error.get_by_role("button").last.click()
    expect(panel.locator(f'.azml-ComputeRow[data-compute="{name}"]')).to_have_count(0)
