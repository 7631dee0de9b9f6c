"""Data in a real JupyterLab: copy a folder into workspace data from the file browser and see the new
asset version in the panel, with its size; the copy-in dialog screenshot comes from here."""

from __future__ import annotations

import json
import urllib.error
import uuid

import pytest
from lab_ui import context_menu, dialog, file_item, go_to_folder, open_sidebar, show_file_browser, show_sidebar
from playwright.sync_api import Page, expect


def test_copy_a_folder_into_workspace_data(page: Page, lab_server, screenshot) -> None:
    folder = f"trips-{uuid.uuid4().hex[:6]}"
    source = lab_server.root_dir / "data" / folder
    source.mkdir(parents=True)
    for month in range(1, 4):
        (source / f"2024-{month:02d}.csv").write_text("pickup,fare\n" + "08:00,12.5\n" * 200 * month)
    expected_bytes = sum(p.stat().st_size for p in source.iterdir())

    open_sidebar(page, lab_server)
    go_to_folder(page, "data")
    context_menu(page, file_item(page, folder), "Copy into workspace data")

    form = dialog(page)
    # Keyboard first: the dialog focuses the name (the path came from the file browser).
    expect(form.locator(".azml-CopyIn-name")).to_be_focused()
    expect(form.locator(".azml-CopyIn-path")).to_have_value(f"data/{folder}")
    expect(form.locator(".azml-CopyIn-name")).to_have_value(folder)
    expect(form.locator(".azml-CopyIn-type")).to_have_value("uri_folder")
    form.locator(".azml-CopyIn-description").fill("Three months of trips")
    screenshot("azml-copy-in-dialog")
    form.get_by_role("button", name="Copy in").click()
    expect(form).to_have_count(0)

    # The panel shows the operation's outcome and the new asset version, as the server registered it.
    panel = show_sidebar(page)
    operation = panel.locator('.azml-Operation[data-kind="copy_in"]').filter(has_text=folder)
    expect(operation).to_have_attribute("data-state", "Succeeded")
    expect(operation.locator(".azml-Operation-result")).to_have_text(f"Created azureml:{folder}:1")
    asset = panel.locator(f'.azml-Asset[data-asset="{folder}"]')
    expect(asset.locator(".azml-Asset-latest")).to_have_text("v1")
    expect(asset.locator(".azml-Asset-size")).to_contain_text("3 files")
    registered = [a for a in lab_server.get_json("azml/data")["data"] if a["name"] == folder]
    assert [(a["version"], a["size_bytes"], a["file_count"]) for a in registered] == [("1", expected_bytes, 3)]

    # A changed folder copied again: a second version, newest first.
    (source / "2024-04.csv").write_text("pickup,fare\n09:00,7.0\n")
    show_file_browser(page)
    context_menu(page, file_item(page, folder), "Copy into workspace data")
    dialog(page).get_by_role("button", name="Copy in").click()
    show_sidebar(page)
    expect(asset.locator(".azml-Asset-latest")).to_have_text("v2")
    asset.locator(".azml-Asset-header").click()
    expect(asset.locator(".azml-AssetVersion")).to_have_count(2)
    expect(asset.locator(".azml-AssetVersion").first).to_have_attribute("data-version", "2")


def test_copy_in_refused_path_shows_the_servers_message(page: Page, lab_server) -> None:
    with pytest.raises(urllib.error.HTTPError) as refused:
        lab_server.request_json("POST", "azml/data", {"path": "../outside-the-root", "name": "outside"})
    message = json.loads(refused.value.read())["message"]

    open_sidebar(page, lab_server)
    page.locator(".azml-Data-copyIn").click()
    form = dialog(page)
    expect(form.locator(".azml-CopyIn-path")).to_be_focused()  # nothing chosen yet: the path first
    form.locator(".azml-CopyIn-path").fill("../outside-the-root")
    form.locator(".azml-CopyIn-name").fill("outside")
    form.locator(".azml-CopyIn-description").fill("typed by hand")
    form.get_by_role("button", name="Copy in").click()
    # Issue 21, item 11: the dialog stays with the user's input and the server's message beside the path.
    expect(form.locator(".jp-Dialog-header")).to_have_text("Copy into workspace data")
    expect(form.locator(".azml-Form > .azml-Error")).to_have_text("Could not copy ../outside-the-root")
    expect(form.locator('.azml-Field[data-field="path"] .azml-Field-error')).to_have_text(message)
    expect(form.locator(".azml-CopyIn-path")).to_be_focused()
    for field, value in ((".azml-CopyIn-name", "outside"), (".azml-CopyIn-description", "typed by hand")):
        expect(form.locator(field)).to_have_value(value)
    # Corrected, it goes through.
    (lab_server.root_dir / "inside.txt").write_text("inside the root")
    form.locator(".azml-CopyIn-path").fill("inside.txt")
    form.locator(".azml-CopyIn-name").fill(f"inside-{uuid.uuid4().hex[:6]}")
    form.get_by_role("button", name="Copy in").click()
    expect(dialog(page)).to_have_count(0)


def test_copy_in_an_empty_name_is_required(page: Page, lab_server) -> None:
    open_sidebar(page, lab_server)
    page.locator(".azml-Data-copyIn").click()
    form = dialog(page)
    form.locator(".azml-CopyIn-path").fill("somewhere.csv")
    form.locator(".azml-CopyIn-name").fill("")
    form.get_by_role("button", name="Copy in").click()
    expect(form.locator('.azml-Field[data-field="name"] .azml-Field-error')).to_have_text(
        "The data asset name is required."
    )
    expect(form.locator(".azml-CopyIn-name")).to_be_focused()
    form.get_by_role("button", name="Cancel").click()
