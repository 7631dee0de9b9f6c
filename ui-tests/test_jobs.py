"""Jobs in a real JupyterLab: submit a job YAML from the file browser, follow it to Completed with
its log streamed (Server-Sent Events), get notified, cancel a long job from the panel, and see the
server's error message when a YAML file is refused."""

from __future__ import annotations

import json
import re
import urllib.error
import uuid

import pytest
from lab_ui import (
    JOB_TIMEOUT_MS,
    SIDEBAR,
    context_menu,
    dialog,
    file_item,
    go_to_folder,
    job_row,
    open_lab,
    open_sidebar,
    show_file_browser,
    show_sidebar,
    wait_for_kernel,
    write_notebook,
)
from playwright.sync_api import Locator, Page, expect

JOB_YAML = """\
$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json
command: {command}
environment: azureml:AzureML-sklearn-1.5@latest
compute: azureml:local
display_name: {display_name}
experiment_name: ui-tests
"""


def write_job(lab_server, folder: str, display_name: str, command: str) -> str:
    """A job YAML file under the root; returns its file name."""
    directory = lab_server.root_dir / folder
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{display_name}.yml"
    path.write_text(JOB_YAML.format(command=command, display_name=display_name))
    return path.name


def submit_from_file_browser(page: Page, folder: str, file_name: str) -> str:
    """Right-click the YAML file -> "Submit Azure ML job"; returns the new job's name (the row marked new)."""
    go_to_folder(page, folder)
    with page.expect_response(
        lambda r: re.search(r"/azml/jobs(\?|$)", r.url) is not None and r.request.method == "POST"
    ) as submitted:
        context_menu(page, file_item(page, file_name), "Submit Azure ML job")
    response = submitted.value
    assert response.status == 201, response.text()
    name = response.json()["name"]
    panel = show_sidebar(page)
    expect(panel.locator(f'.azml-JobRow.azml-mod-new[data-job-name="{name}"]')).to_be_visible()
    return name


def test_submit_yaml_follow_to_completed_with_streamed_log(page: Page, lab_server, screenshot) -> None:
    marker = f"log-line-{uuid.uuid4().hex[:8]}"
    folder = "yaml-jobs"
    file_name = write_job(
        lab_server, folder, "hello-ui", f"echo start && sleep 2 && echo {marker} && sleep 1 && echo finished"
    )
    open_sidebar(page, lab_server)
    log_requests: list[str] = []
    page.on("request", lambda r: log_requests.append(r.url) if "/logs" in r.url else None)

    name = submit_from_file_browser(page, folder, file_name)
    row = job_row(page, name)
    expect(row.locator(".azml-JobRow-name")).to_have_text("hello-ui")
    expect(row.locator(".azml-JobRow-compute")).to_have_text("local")

    # Open it while it runs: the log viewer streams and follows the tail.
    row.click()
    detail = page.locator(f'.azml-JobDetail-content[data-job-name="{name}"]')
    expect(detail).to_be_visible()
    log = detail.locator(".azml-LogViewer-text")
    expect(log).to_contain_text(marker, timeout=JOB_TIMEOUT_MS)
    expect(log).to_contain_text("finished", timeout=JOB_TIMEOUT_MS)
    expect(detail.locator(".azml-JobDetail-header .azml-StatusBadge")).to_have_text(
        "Completed", timeout=JOB_TIMEOUT_MS
    )
    expect(detail.locator(".azml-LogViewer-state")).to_have_text("End of log (Completed)")
    # Each line once: the stream resumes by byte offset, never repeats.
    assert log.inner_text().count(marker) == 1
    # The list row agrees, with a duration.
    expect(row).to_have_attribute("data-status", "Completed", timeout=JOB_TIMEOUT_MS)
    expect(row.locator(".azml-JobRow-duration")).to_have_text(re.compile(r"^\d+s$"))
    # Properties and outputs from the server's record.
    record = lab_server.get_json(f"azml/jobs/{name}")
    assert record["status"] == "Completed"
    expect(detail.locator(".azml-JobProperty-name")).to_have_text(name)
    expect(detail.locator(".azml-JobProperty-exit-code")).to_have_text("0")
    expect(detail.locator('.azml-JobOutputs-list [data-output="default"]')).to_be_visible()

    # "Download to folder…": the outputs land under the root like `az ml job download` lays them out.
    detail.locator(".azml-JobOutputs-download").click()
    form = dialog(page)
    expect(form.locator(".azml-Download-path")).to_be_focused()
    expect(form.locator(".azml-Download-path")).to_have_value(f"{folder}/azml-outputs/{name}")
    form.get_by_role("button", name="Download").click()
    expect(page.locator(".Toastify__toast").filter(has_text=f"of {name} into {folder}/azml-outputs/{name}")).to_be_visible()
    std_log = lab_server.root_dir / folder / "azml-outputs" / name / "artifacts" / "user_logs" / "std_log.txt"
    assert marker in std_log.read_text()

    # SSE authentication: the EventSource used the page's cookie, no token in its URL.
    assert log_requests, "the log viewer opened no stream"
    assert all("token=" not in url for url in log_requests), log_requests

    # The end was announced with an action that opens the logs.
    toast = page.locator(".Toastify__toast").filter(has_text=re.compile(r"hello-ui: Completed"))
    expect(toast).to_be_visible(timeout=JOB_TIMEOUT_MS)
    expect(toast.locator(".jp-toast-button", has_text="Open logs")).to_be_visible()
    screenshot("azml-job-logs")


def test_a_job_ending_while_the_panel_is_hidden_is_notified(page: Page, lab_server) -> None:
    folder = "yaml-jobs"
    file_name = write_job(lab_server, folder, "notify-ui", "echo notified-line && sleep 2")
    open_sidebar(page, lab_server)
    name = submit_from_file_browser(page, folder, file_name)
    # Hide the panel and do not open the job: the page keeps watching it (slower) and announces its end.
    show_file_browser(page)
    expect(page.locator(SIDEBAR)).to_be_hidden()
    toast = page.locator(".Toastify__toast").filter(has_text="notify-ui: Completed")
    expect(toast).to_be_visible(timeout=JOB_TIMEOUT_MS)
    toast.locator(".jp-toast-button", has_text="Open logs").click()
    detail = page.locator(f'.azml-JobDetail-content[data-job-name="{name}"]')
    expect(detail.locator(".azml-LogViewer-text")).to_contain_text("notified-line")


def test_cancel_a_long_job_from_the_panel(page: Page, lab_server) -> None:
    folder = "yaml-jobs"
    file_name = write_job(lab_server, folder, "long-ui", "echo long-job-started && sleep 600")
    open_sidebar(page, lab_server)
    name = submit_from_file_browser(page, folder, file_name)
    try:
        row = job_row(page, name)
        expect(row).to_have_attribute("data-status", "Running", timeout=JOB_TIMEOUT_MS)
        row.click()
        detail = page.locator(f'.azml-JobDetail-content[data-job-name="{name}"]')
        expect(detail.locator(".azml-LogViewer-text")).to_contain_text("long-job-started", timeout=JOB_TIMEOUT_MS)

        # Cancel asks first; "Keep running" changes nothing.
        detail.locator(".azml-JobDetail-cancel").click()
        expect(dialog(page)).to_contain_text(name)
        dialog(page).get_by_role("button", name="Keep running").click()
        expect(dialog(page)).to_have_count(0)
        assert lab_server.get_json(f"azml/jobs/{name}")["status"] == "Running"

        detail.locator(".azml-JobDetail-cancel").click()
        dialog(page).get_by_role("button", name="Cancel job").click()
        expect(detail.locator(".azml-JobDetail-header .azml-StatusBadge")).to_have_text(
            "Canceled", timeout=JOB_TIMEOUT_MS
        )
        expect(row).to_have_attribute("data-status", "Canceled", timeout=JOB_TIMEOUT_MS)
        expect(detail.locator(".azml-JobDetail-cancel")).to_have_count(0)
        assert lab_server.get_json(f"azml/jobs/{name}")["status"] == "Canceled"
    finally:
        record = lab_server.get_json(f"azml/jobs/{name}")
        if record["status"] not in ("Canceled", "Completed", "Failed"):
            lab_server.request_json("POST", f"azml/jobs/{name}/cancel", {})


def test_a_refused_yaml_shows_the_servers_message(page: Page, lab_server) -> None:
    folder = "yaml-jobs"
    broken = lab_server.root_dir / folder / "broken.yml"
    broken.parent.mkdir(parents=True, exist_ok=True)
    broken.write_text("$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json\ncommand: [unclosed\n")
    # What the server answers for this file, to compare with what the user sees.
    with pytest.raises(urllib.error.HTTPError) as refused:
        lab_server.request_json("POST", "azml/jobs", {"path": f"{folder}/broken.yml"})
    assert refused.value.code == 400
    message = json.loads(refused.value.read())["message"]

    open_sidebar(page, lab_server)
    go_to_folder(page, folder)
    context_menu(page, file_item(page, "broken.yml"), "Submit Azure ML job")
    expect(dialog(page)).to_be_visible()
    expect(dialog(page).locator(".jp-Dialog-header")).to_contain_text("Could not submit yaml-jobs/broken.yml")
    expect(dialog(page).locator(".jp-Dialog-body")).to_contain_text(message.splitlines()[0])
    dialog(page).get_by_role("button").last.click()
    expect(page.locator(SIDEBAR).locator(".azml-JobRow.azml-mod-new")).to_have_count(0)


def submit_yaml_text(lab_server, display_name: str, command: str) -> str:
    """POST /azml/jobs {"yaml"} (the REST API, not the page): set-up for tests about what the panel shows."""
    record = lab_server.request_json(
        "POST", "azml/jobs", {"yaml": JOB_YAML.format(command=command, display_name=display_name)}
    )
    return record["name"]


def test_panel_shows_each_status_in_the_servers_colour(page: Page, lab_server, screenshot) -> None:
    suffix = uuid.uuid4().hex[:4]
    done = submit_yaml_text(lab_server, f"prepare-data-{suffix}", "echo prepared")
    failed = submit_yaml_text(lab_server, f"train-bad-lr-{suffix}", "echo diverged >&2 && exit 3")
    running = submit_yaml_text(lab_server, f"train-long-{suffix}", "echo epoch 1 && sleep 600")
    try:
        panel = open_sidebar(page, lab_server)
        expect(job_row(page, done)).to_have_attribute("data-status", "Completed", timeout=JOB_TIMEOUT_MS)
        expect(job_row(page, failed)).to_have_attribute("data-status", "Failed", timeout=JOB_TIMEOUT_MS)
        expect(job_row(page, running)).to_have_attribute("data-status", "Running", timeout=JOB_TIMEOUT_MS)

        # Each badge carries the colour the server gave for its status: one source, no copy here.
        colours = {s["name"]: s["color"] for s in lab_server.get_json("azml/statuses")["statuses"]}
        for name, status in ((done, "Completed"), (failed, "Failed"), (running, "Running")):
            badge = job_row(page, name).locator(".azml-StatusBadge")
            expect(badge).to_have_text(status)
            shown = badge.evaluate("node => node.style.getPropertyValue('--azml-status-color')")
            assert shown == colours[status], (status, shown)
        # ...and the theme resolves them to different colours.
        resolved = {
            status: job_row(page, name)
            .locator(".azml-StatusBadge")
            .evaluate("node => getComputedStyle(node).borderTopColor")
            for name, status in ((done, "Completed"), (failed, "Failed"), (running, "Running"))
        }
        assert len(set(resolved.values())) == 3, resolved
        expect(panel.locator(".azml-Error")).to_have_count(0)
        screenshot("azml-panel")

        # The same panel in JupyterLab's dark theme (its CSS variables, nothing of ours changes).
        page.locator(".lm-MenuBar-itemLabel", has_text="Settings").click()
        page.locator(".lm-Menu-itemLabel", has_text="Theme").first.hover()
        page.locator(".lm-Menu-itemLabel").get_by_text("JupyterLab Dark", exact=True).click()
        expect(page.locator("body")).to_have_attribute("data-jp-theme-light", "false")
        expect(page.locator("#jupyterlab-splash")).to_have_count(0)  # the theme switch's splash is gone
        expect(job_row(page, running).locator(".azml-StatusBadge")).to_be_visible()
        screenshot("azml-panel-dark")
        page.locator(".lm-MenuBar-itemLabel", has_text="Settings").click()
        page.locator(".lm-Menu-itemLabel", has_text="Theme").first.hover()
        page.locator(".lm-Menu-itemLabel").get_by_text("JupyterLab Light", exact=True).click()
        expect(page.locator("body")).to_have_attribute("data-jp-theme-light", "true")
        expect(page.locator("#jupyterlab-splash")).to_have_count(0)
    finally:
        if lab_server.get_json(f"azml/jobs/{running}")["status"] not in ("Canceled", "Completed", "Failed"):
            lab_server.request_json("POST", f"azml/jobs/{running}/cancel", {})


# ---- submitting a whole notebook (issue 21, items 3, 9 and 12) --------------------------------------


def open_notebook_with_kernel(page: Page, lab_server, name: str) -> Locator:
    """Open a notebook and run its first cell (the kernel starts; outputs and kernel metadata change)."""
    open_lab(page, lab_server, f"lab/tree/{name}")
    notebook = page.locator(".jp-NotebookPanel").filter(has=page.locator(".jp-Notebook"))
    output = notebook.locator(".jp-OutputArea-output").first
    wait_for_kernel(page)  # a run asked for before the kernel is connected is dropped
    notebook.locator(".jp-Cell").first.click()
    page.keyboard.press("Control+Enter")  # runs the cell in place
    expect(output).to_be_visible(timeout=60_000)
    return notebook


def submit_notebook_dialog(page: Page, notebook: Locator, display_name: str) -> dict:
    """Fill the submit dialog and submit; returns the POST body."""
    form = dialog(page)
    expect(form.locator(".azml-SubmitForm[data-kind='notebook']")).to_be_visible()
    form.locator(".azml-Submit-displayName").fill(display_name)
    def posted(response) -> bool:
        return response.url.split("?")[0].endswith("/azml/jobs") and response.request.method == "POST"

    with page.expect_response(posted) as sent:
        form.get_by_role("button", name="Submit").click()
    assert sent.value.status == 201, sent.value.text()
    return sent.value.request.post_data_json


def test_submitting_a_notebook_never_rewrites_it_silently(page: Page, lab_server) -> None:
    word = f"ondisk-{uuid.uuid4().hex[:6]}"
    path = lab_server.root_dir / f"{word}.ipynb"
    write_notebook(path, ["print('first version')"])
    on_disk = path.read_bytes()
    notebook = open_notebook_with_kernel(page, lab_server, path.name)

    # Only outputs and kernel metadata differ from the file: the saved file is submitted, nothing asked.
    page.locator(".azml-SubmitNotebookButton").click()
    body = submit_notebook_dialog(page, notebook, f"{word}-1")
    assert body["notebook"] == path.name
    assert path.read_bytes() == on_disk

    # Code edited and not saved: asked; "Submit the saved version" leaves the file as it is.
    editor = notebook.locator(".jp-Cell").first.locator(".cm-content")
    editor.click()
    page.keyboard.press("End")
    page.keyboard.type("  # edited")
    page.locator(".azml-SubmitNotebookButton").click()
    question = dialog(page)
    expect(question.locator(".jp-Dialog-header")).to_contain_text("unsaved changes")
    buttons = question.locator(".jp-Dialog-footer button")
    assert buttons.all_inner_texts() == ["Cancel", "Submit the saved version", "Save and submit"]
    question.get_by_role("button", name="Submit the saved version").click()
    submit_notebook_dialog(page, notebook, f"{word}-2")
    assert path.read_bytes() == on_disk

    # "Save and submit": saved (the user chose it), then submitted.
    page.locator(".azml-SubmitNotebookButton").click()
    dialog(page).get_by_role("button", name="Save and submit").click()
    submit_notebook_dialog(page, notebook, f"{word}-3")
    assert "# edited" in path.read_text()


def test_submit_dialog_warns_when_no_cell_is_tagged_parameters(page: Page, lab_server) -> None:
    word = f"params-{uuid.uuid4().hex[:6]}"
    untagged = lab_server.root_dir / f"{word}.ipynb"
    write_notebook(untagged, ["rows = 3", "print(rows)"])
    open_lab(page, lab_server, f"lab/tree/{untagged.name}")
    page.locator(".azml-SubmitNotebookButton").click()
    form = dialog(page)
    warning = form.locator(".azml-Submit-parametersWarning")
    expect(warning).to_contain_text("no cell tagged 'parameters'")
    expect(warning).to_contain_text("Passed unknown parameter")
    form.get_by_role("button", name="Cancel").click()

    # A notebook with a tagged cell: no warning.
    tagged = lab_server.root_dir / f"{word}-tagged.ipynb"
    write_notebook(tagged, ["rows = 3", "print(rows)"])
    content = json.loads(tagged.read_text())
    content["cells"][0]["metadata"]["tags"] = ["parameters"]
    tagged.write_text(json.dumps(content))
    open_lab(page, lab_server, f"lab/tree/{tagged.name}")
    page.locator(".azml-SubmitNotebookButton").click()
    form = dialog(page)
    expect(form.locator(".azml-Submit-parameters")).to_be_visible()
    expect(form.locator(".azml-Submit-parametersWarning")).to_have_count(0)
    form.get_by_role("button", name="Cancel").click()


def test_submit_dialogs_fit_a_950px_window(page: Page, lab_server) -> None:
    page.set_viewport_size({"width": 1280, "height": 950})
    word = f"fit-{uuid.uuid4().hex[:6]}"
    write_notebook(lab_server.root_dir / f"{word}.ipynb", ["print('fits')"])
    notebook = open_notebook_with_kernel(page, lab_server, f"{word}.ipynb")
    for button in (".azml-SubmitCellsButton", ".azml-SubmitNotebookButton"):
        notebook.locator(".jp-Cell").first.locator(".jp-InputPrompt").click()
        page.locator(button).click()
        form = dialog(page)
        expect(form.locator(".azml-SubmitForm")).to_be_visible()
        for part in (".jp-Dialog-content", ".jp-Dialog-body"):
            size = form.locator(part).evaluate("n => ({scroll: n.scrollHeight, client: n.clientHeight})")
            assert size["scroll"] <= size["client"], (button, part, size)
        form.get_by_role("button", name="Cancel").click()
        expect(dialog(page)).to_have_count(0)


def test_the_two_toolbar_buttons_look_and_read_differently(page: Page, lab_server) -> None:
    word = f"toolbar-{uuid.uuid4().hex[:6]}"
    write_notebook(lab_server.root_dir / f"{word}.ipynb", ["x = 1"])
    open_lab(page, lab_server, f"lab/tree/{word}.ipynb")
    cells = page.locator(".azml-SubmitCellsButton")
    whole = page.locator(".azml-SubmitNotebookButton")
    expect(cells).to_be_visible()
    # A visible word on each, different tooltips and different pictures.
    expect(cells).to_contain_text("Submit cells")
    expect(whole).to_contain_text("Submit notebook")
    tips = [b.locator("button, jp-button").first.get_attribute("title") for b in (cells, whole)]
    assert tips[0] and tips[1] and tips[0] != tips[1], tips
    pictures = [b.locator("svg").first.inner_html() for b in (cells, whole)]
    assert pictures[0] != pictures[1]


def test_the_submitting_toast_becomes_the_submitted_one(page: Page, lab_server) -> None:
    # Issue 21, item 10: "Submitting cell 2 …" kept spinning next to "Submitted job …".
    word = f"toast-{uuid.uuid4().hex[:6]}"
    write_notebook(lab_server.root_dir / f"{word}.ipynb", ["print('first')", "print('second')"])
    notebook = open_notebook_with_kernel(page, lab_server, f"{word}.ipynb")
    notebook.locator(".jp-Cell").nth(1).locator(".jp-InputPrompt").click()
    page.locator(".azml-SubmitCellsButton").click()
    dialog(page).locator(".azml-Submit-displayName").fill(word)
    # Sample the toasts every 50 ms from inside the page while the submission runs.
    page.evaluate(
        """() => {
            window.__azmlToasts = [];
            window.__azmlToastTimer = setInterval(() => window.__azmlToasts.push(
                [...document.querySelectorAll('.Toastify__toast')].map(t => t.textContent)), 50);
        }"""
    )
    dialog(page).get_by_role("button", name="Submit").click()
    submitted = page.locator(".Toastify__toast").filter(has_text=f"Submitted job {word}")
    expect(submitted).to_be_visible(timeout=JOB_TIMEOUT_MS)
    expect(submitted.locator(".jp-toast-button", has_text="Open logs")).to_be_visible()
    page.wait_for_timeout(1500)
    samples = page.evaluate("() => { clearInterval(window.__azmlToastTimer); return window.__azmlToasts; }")
    assert any(any("Submitting" in text for text in sample) for sample in samples), "no progress toast seen"
    both = [s for s in samples if any("Submitting" in t for t in s) and any("Submitted job" in t for t in s)]
    assert both == [], both[:3]
