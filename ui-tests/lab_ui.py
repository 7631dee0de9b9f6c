"""Page helpers shared by the real-browser tests: open JupyterLab, the Azure ML panel, the file
browser, context menus. Selectors are JupyterLab's own (4.x) or the panel's `azml-*` classes."""

from __future__ import annotations

import json
import re
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

SIDEBAR_TAB = '.jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id="azml-jupyter-sidebar"]'
FILE_BROWSER_TAB = '.jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id="filebrowser"]'
SIDEBAR = "#azml-jupyter-sidebar"
TIMEOUT_MS = 30_000
# A job on the local engine: Queued -> Running -> Completed within seconds; a first submission also
# starts the engine's daemon and imports azure.ai.ml in the server.
JOB_TIMEOUT_MS = 90_000


def open_lab(page: Page, lab_server, path: str = "lab") -> None:
    """Open JupyterLab with a fresh layout (`reset`: the tests share one server-side workspace)."""
    page.set_default_timeout(TIMEOUT_MS)
    separator = "&" if "?" in lab_server.url(path) else "?"
    page.goto(lab_server.url(path) + separator + "reset")
    expect(page.locator(SIDEBAR_TAB)).to_be_visible()


def _show_left_panel(page: Page, tab_selector: str, panel_selector: str) -> Locator:
    """Show a left-area panel. Its tab toggles, and a command may show the panel at the same moment
    (the Azure ML panel after a submit): click only while it is hidden, and check again after."""
    panel = page.locator(panel_selector)
    for _ in range(5):
        if panel.is_visible():
            break
        page.locator(tab_selector).click()
        try:
            expect(panel).to_be_visible(timeout=1_000)
            break
        except AssertionError:
            continue
    expect(panel).to_be_visible()
    return panel


def open_sidebar(page: Page, lab_server=None) -> Locator:
    """Open JupyterLab (when given the server) and show the Azure ML panel."""
    if lab_server is not None:
        open_lab(page, lab_server)
    return _show_left_panel(page, SIDEBAR_TAB, SIDEBAR)


def show_sidebar(page: Page) -> Locator:
    return _show_left_panel(page, SIDEBAR_TAB, SIDEBAR)


def show_file_browser(page: Page) -> Locator:
    return _show_left_panel(page, FILE_BROWSER_TAB, "#filebrowser")


def file_item(page: Page, name: str) -> Locator:
    """A file browser row by its exact name."""
    return page.locator("#filebrowser .jp-DirListing-item").filter(
        has=page.locator(".jp-DirListing-itemText", has_text=name)
    ).filter(has_text=name)


def go_to_folder(page: Page, folder: str) -> None:
    """Show `folder` (relative to the root) in the file browser, by clicks from the root."""
    show_file_browser(page)
    page.locator("#filebrowser .jp-BreadCrumbs-home").click()
    for part in [p for p in folder.split("/") if p]:
        file_item(page, part).dblclick()
        expect(page.locator("#filebrowser .jp-BreadCrumbs")).to_contain_text(part)


def context_menu(page: Page, target: Locator, item: str) -> None:
    """Right-click `target` and choose the menu entry labelled `item`."""
    target.click(button="right")
    entry = page.locator(".lm-Menu-content .lm-Menu-item").filter(
        has=page.locator(".lm-Menu-itemLabel", has_text=item)
    )
    expect(entry.first).to_be_visible()
    entry.first.click()


def job_row(page: Page, name: str) -> Locator:
    return page.locator(f'{SIDEBAR} .azml-JobRow[data-job-name="{name}"]')


def dialog(page: Page) -> Locator:
    return page.locator(".jp-Dialog")


def write_notebook(path: Path, cells: list[str]) -> None:
    """A minimal nbformat 4 notebook with these code cells."""
    notebook = {
        "cells": [
            {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": source}
            for source in cells
        ],
        "metadata": {
            "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(notebook, indent=1))


def wait_for_kernel(page: Page, timeout_ms: int = 90_000) -> None:
    """Wait until the notebook is connected to an idle kernel (the status bar reads "<kernel> | Idle").
    A cell run asked for before that is dropped by JupyterLab (a cell executes only on a connected
    kernel), which made tests that typed Shift+Enter at once fail on a cold or loaded machine."""
    expect(page.get_by_text(re.compile(r"\| Idle$")).first).to_be_visible(timeout=timeout_ms)
