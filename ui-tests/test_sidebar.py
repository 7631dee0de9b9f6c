"""The Azure ML sidebar in a real JupyterLab, in Chromium: the workspace and its computes."""

import re

from lab_ui import SIDEBAR, open_sidebar
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
