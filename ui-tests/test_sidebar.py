"""The Azure ML sidebar in a real JupyterLab, in Chromium."""

import re

from playwright.sync_api import Page, expect

SIDEBAR_TAB = '.jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id="azml-jupyter-sidebar"]'
SIDEBAR = "#azml-jupyter-sidebar"
TIMEOUT_MS = 30_000


def open_sidebar(page: Page, lab_server) -> None:
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(lab_server.url("lab"))
    page.locator(SIDEBAR_TAB).click()
    expect(page.locator(SIDEBAR)).to_be_visible()


def test_sidebar_shows_the_local_workspace(page: Page, lab_server, screenshot) -> None:
    open_sidebar(page, lab_server)
    panel = page.locator(SIDEBAR)

    expect(panel.locator(".azml-Workspace-backend")).to_have_text("local", timeout=TIMEOUT_MS)
    expect(panel.locator(".azml-Error")).to_have_count(0)
    # The page shows what the server says, and the server uses the workspace it was given.
    facts = lab_server.get_json("azml/workspace")
    expect(panel.locator(".azml-Workspace-name")).to_have_text(facts["name"])
    expect(panel.locator(".azml-Workspace-home")).to_contain_text(str(lab_server.azml_home))
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
    error = page.locator(SIDEBAR).locator(".azml-Error")
    expect(error).to_have_text("Azure ML workspace 'ml-prod' is not reachable: token expired")
    expect(page.locator(SIDEBAR).locator(".azml-Workspace-backend")).to_have_count(0)
