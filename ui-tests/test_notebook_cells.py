"""Notebook cells as a job in a real JupyterLab: run a notebook, select a cell, "Submit selected cells
as Azure ML job" from the cell context menu; the kernel submits it (azml_jupyter.submit_cells) and the
panel shows the job, whose log has the cell's output."""

from __future__ import annotations

import uuid

from lab_ui import JOB_TIMEOUT_MS, context_menu, dialog, open_lab, show_sidebar, wait_for_kernel, write_notebook
from playwright.sync_api import Page, expect


def test_submit_selected_cells_and_see_the_job(page: Page, lab_server) -> None:
    word = f"cells-{uuid.uuid4().hex[:6]}"
    name = f"{word}.ipynb"
    write_notebook(
        lab_server.root_dir / name,
        [
            f"greeting = 'hello from {word}'",
            "print(greeting.upper())",
        ],
    )
    open_lab(page, lab_server, f"lab/tree/{name}")
    notebook = page.locator(".jp-NotebookPanel").filter(has=page.locator(".jp-Notebook"))
    expect(notebook.locator(".jp-Cell")).to_have_count(2)
    # Run both cells (the job ships `greeting` from the kernel's namespace). Keys typed before the
    # notebook is wired to its kernel are lost (on a cold server the kernel starts after the page is
    # shown; this test failed when it ran first in its file): wait for the idle kernel first.
    wait_for_kernel(page)
    page.locator(".jp-Notebook .jp-Cell").first.click()
    page.keyboard.press("Shift+Enter")
    page.keyboard.press("Shift+Enter")
    expect(notebook.locator(".jp-OutputArea-output").first).to_contain_text(
        f"HELLO FROM {word.upper()}", timeout=60_000
    )

    # Select the second cell and submit it from its context menu.
    second = notebook.locator(".jp-Cell").nth(1)
    second.locator(".jp-InputPrompt").click()
    context_menu(page, second.locator(".jp-InputArea-editor"), "Submit selected cells as Azure ML job")
    form = dialog(page)
    expect(form.locator(".azml-SubmitForm[data-kind='cells']")).to_be_visible()
    expect(form.locator(".azml-Submit-compute")).to_be_focused()
    form.locator(".azml-Submit-compute").select_option("local")
    form.locator(".azml-Submit-displayName").fill(word)
    form.get_by_role("button", name="Submit").click()

    # The panel opens with the new job marked; it completes and its log has the cell's output.
    panel = show_sidebar(page)
    row = panel.locator(".azml-JobRow.azml-mod-new")
    expect(row.locator(".azml-JobRow-name")).to_have_text(word, timeout=JOB_TIMEOUT_MS)
    job_name = row.get_attribute("data-job-name")
    expect(row).to_have_attribute("data-status", "Completed", timeout=JOB_TIMEOUT_MS)
    record = lab_server.get_json(f"azml/jobs/{job_name}")
    assert record["display_name"] == word and record["compute"] == "local"
    row.click()
    log = page.locator(f'.azml-JobDetail-content[data-job-name="{job_name}"] .azml-LogViewer-text')
    expect(log).to_contain_text(f"HELLO FROM {word.upper()}", timeout=JOB_TIMEOUT_MS)


def test_submit_notebook_from_the_notebook_toolbar(page: Page, lab_server) -> None:
    word = f"whole-{uuid.uuid4().hex[:6]}"
    name = f"{word}.ipynb"
    write_notebook(lab_server.root_dir / name, ["rows = 3", "print('rows', rows * 2)"])
    open_lab(page, lab_server, f"lab/tree/{name}")
    page.locator(".azml-SubmitNotebookButton").click()
    form = dialog(page)
    expect(form.locator(".azml-SubmitForm[data-kind='notebook']")).to_be_visible()
    expect(form.locator(".azml-Submit-compute")).to_be_focused()
    form.locator(".azml-Submit-displayName").fill(word)
    with page.expect_response(lambda r: r.url.split("?")[0].endswith("/azml/jobs") and r.request.method == "POST") as sent:
        form.get_by_role("button", name="Submit").click()
    assert sent.value.status == 201, sent.value.text()
    assert sent.value.request.post_data_json["notebook"] == name
    panel = show_sidebar(page)
    row = panel.locator(".azml-JobRow.azml-mod-new")
    expect(row.locator(".azml-JobRow-name")).to_have_text(word)
